import * as oidc from 'openid-client';
import { causeOf, codeOf, messageOf, nameOf } from '../http/errorInfo.js';

/**
 * What a failed call to the provider's token endpoint means for a link:
 * - `grant_revoked`: `invalid_grant`, the user's grant is gone; only this breaks a link;
 * - `client_rejected`: `invalid_client` / `unauthorized_client`, the extension's client settings are
 *   wrong (a mistyped or rotated secret): every user is affected, no link is at fault;
 * - `provider_error`: anything else (5xx, HTML, timeouts, refused connections): try again later.
 *
 * `reason` says why in a few words for the log (`invalid_grant (HTTP 400)`, `not JSON (HTTP 200,
 * text/html)`, `timeout`, `ECONNREFUSED`); it never holds a token or a response body.
 */
export interface ProviderFailure {
  kind: 'grant_revoked' | 'client_rejected' | 'provider_error';
  reason: string;
  /** Set when the provider did not answer in time (our timeout or deadline ended the call). */
  timedOut?: true;
}

const CLIENT_ERRORS = new Set(['invalid_client', 'unauthorized_client']);
const NETWORK_CODES = /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|UND_ERR[A-Z_]*)$/;

export function classifyProviderFailure(err: unknown): ProviderFailure {
  if (err instanceof oidc.ResponseBodyError) return byOAuthError(err.error, err.status);
  if (err instanceof oidc.WWWAuthenticateChallengeError) {
    // A 401 with a challenge: the OAuth error (if any) is a parameter of the challenge.
    const error = err.cause.map((c) => c.parameters.error).find((e): e is string => typeof e === 'string');
    return byOAuthError(error ?? 'invalid_client', err.status);
  }
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 6; e = causeOf(e), depth++) {
    const name = nameOf(e);
    const code = codeOf(e);
    const message = messageOf(e);
    if (name === 'TimeoutError' || name === 'AbortError' || code === 'OAUTH_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') {
      return { kind: 'provider_error', reason: 'timeout', timedOut: true };
    }
    if (typeof code === 'string' && NETWORK_CODES.test(code)) return provider(code);
    if (code === 'OAUTH_RESPONSE_IS_NOT_JSON') return provider(`not JSON (${responseSummary(causeOf(e))})`);
    if (code === 'OAUTH_RESPONSE_IS_NOT_CONFORM') return provider(`unexpected reply (${responseSummary(causeOf(e))})`);
    if (typeof code === 'string' && code.startsWith('OAUTH_')) return provider(code.slice('OAUTH_'.length).toLowerCase());
    if (name === 'TypeError' && message === 'fetch failed' && causeOf(e) === undefined) return provider('unreachable');
  }
  const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
  return provider(`unusable reply (${typeof name === 'string' ? name.slice(0, 64) : typeof err})`);
}

function byOAuthError(error: string, status: number): ProviderFailure {
  const reason = `${error.slice(0, 64)} (HTTP ${status})`;
  if (error === 'invalid_grant') return { kind: 'grant_revoked', reason };
  if (CLIENT_ERRORS.has(error)) return { kind: 'client_rejected', reason };
  return provider(reason);
}

const provider = (reason: string): ProviderFailure => ({ kind: 'provider_error', reason });

/** `HTTP 502, text/html` from a fetch Response (duck-typed: it may come from undici's realm). */
function responseSummary(r: unknown): string {
  if (typeof r !== 'object' || r === null) return 'no response';
  const { status, headers } = r as { status?: unknown; headers?: { get?: unknown } };
  const type = headers !== undefined && typeof headers.get === 'function' ? (headers.get as (n: string) => unknown).call(headers, 'content-type') : undefined;
  const media = typeof type === 'string' ? type.split(';')[0]?.trim().slice(0, 64) : undefined;
  return [typeof status === 'number' ? `HTTP ${status}` : undefined, media].filter((s) => s !== undefined && s !== '').join(', ') || 'no response';
}
