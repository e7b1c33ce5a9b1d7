import type { ServerResponse } from 'node:http';
import { errorBody, type AppError } from './errors.js';

/**
 * Plain node:http writers shared by the CEK fast path and the Express app, so both doors answer
 * with the same headers and the same error envelope.
 */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
  });
  res.end(payload);
}

export function sendError(res: ServerResponse, err: AppError, requestId: string | undefined): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.status, errorBody(err, requestId), err.headers ?? {});
}
