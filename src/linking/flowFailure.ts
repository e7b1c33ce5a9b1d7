import * as oidc from 'openid-client';
import { causeOf, codeOf, messageOf, nameOf } from '../http/errorInfo.js';
import { LinkFailure, linkFailureOf } from './failures.js';
import { classifyProviderFailure } from './providerFailure.js';

/** Maps openid-client failures during the authorization-code flow to what the user is told; the cause stays in the log. */
export function flowFailureOf(err: unknown): LinkFailure {
  const known = linkFailureOf(err);
  if (known !== undefined) return known;
  if (err instanceof oidc.AuthorizationResponseError) {
    return new LinkFailure(err.error === 'access_denied' ? 'denied' : 'provider_error', `authorization error ${err.error}`, err);
  }
  if (err instanceof oidc.ResponseBodyError) return new LinkFailure('provider_error', `token endpoint error ${err.error} (${err.status})`, err);
  // openid-client wraps transport failures (ClientError → TypeError "fetch failed" → the socket error).
  // Checked by name and code, not `instanceof`: fetch's errors may come from another realm.
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = causeOf(e), depth++) {
    const name = nameOf(e);
    const code = codeOf(e);
    const message = messageOf(e);
    if (name === 'TimeoutError' || name === 'AbortError' || code === 'OAUTH_TIMEOUT' || (name === 'TypeError' && message === 'fetch failed')) {
      return new LinkFailure('provider_down', 'provider unreachable', err);
    }
    if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|UND_ERR)/.test(code)) {
      return new LinkFailure('provider_down', 'provider unreachable', err);
    }
  }
  // Everything else is a response we could not use: HTML instead of JSON, a 5xx, a missing field.
  return new LinkFailure('provider_error', `provider response rejected: ${classifyProviderFailure(err).reason}`, err);
}
