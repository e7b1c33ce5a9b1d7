import type { Request } from 'express';
import { AppError, ERROR_CODES, type ErrorCode, type ErrorDetail } from '../../http/errors.js';

/**
 * This instance as seen from itself: the address and port the page request came in on. That is
 * where this process listens (behind a proxy too: the proxy connects to us), so the test console and
 * the admin API calls below reach this very instance, never a neighbour behind the load balancer.
 */
export function selfBaseUrl(req: Request): string {
  const port = req.socket.localPort ?? 0;
  let host = req.socket.localAddress ?? '127.0.0.1';
  if (host.startsWith('::ffff:')) host = host.slice('::ffff:'.length);
  if (host === '' || host === '::' || host === '0.0.0.0') host = '127.0.0.1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

const API_TIMEOUT_MS = 10_000;

/**
 * Calls the admin API of this instance with the admin token.
 *
 * Used for the writes whose rules live inside the API handlers and are not exported as functions
 * (the merge of the account-linking settings, and the checks of an action method: target policy,
 * trigger conflicts, the per-extension limit). Going through the API keeps one implementation of
 * those rules; the page shows the API's own error messages next to the fields.
 *
 * A failure is thrown as the API's AppError (code, message, details), so the pages handle it like
 * the errors of the functions they call directly.
 */
export async function callAdminApi(req: Request, adminToken: string, method: 'PUT' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${selfBaseUrl(req)}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${adminToken}`,
      'x-request-id': req.requestId,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    redirect: 'manual',
    signal: AbortSignal.timeout(API_TIMEOUT_MS),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (res.ok) return parsed;
  const error = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  const code = typeof error?.code === 'string' && error.code in ERROR_CODES ? (error.code as ErrorCode) : 'internal_error';
  if (code === 'internal_error') throw new Error(`admin API ${method} ${path} answered ${res.status}`);
  const details = Array.isArray(error?.details) ? (error.details as ErrorDetail[]) : undefined;
  throw new AppError(code, typeof error?.message === 'string' ? error.message : `The request failed (${res.status}).`, details === undefined ? {} : { details });
}
