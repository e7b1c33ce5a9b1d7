import { createHmac } from 'node:crypto';
import { constantTimeEqual } from './constantTime.js';
import { randomToken } from './random.js';

/**
 * CSRF protection for every form, in one place.
 *
 * - Forms behind a session (the admin pages): the session keeps a random secret, the form echoes it,
 *   and `sessionTokenMatches` compares the two in constant time (oidc-provider's `xsrf`).
 * - Forms before a session exists (the admin sign-in, the pairing-code and unlink pages):
 *   `PreSessionCsrf`, a signed double-submit token. The browser keeps a random nonce in a cookie;
 *   the form carries `<issued>.<HMAC(key, form, nonce, issued)>`. An attacker who can plant a cookie
 *   (a sibling subdomain) still cannot make a token for its nonce without the key, a token for
 *   one form does not pass another, and tokens expire.
 */

/** True when the posted `given` equals the session's CSRF secret (constant time; an empty secret never matches). */
export function sessionTokenMatches(given: unknown, secret: string): boolean {
  return typeof given === 'string' && given !== '' && secret !== '' && constantTimeEqual(given, secret);
}

const NONCE_SHAPE = /^[A-Za-z0-9_-]{32}$/;

export interface PreSessionCsrfOptions {
  /** Names the form: a token made for one form does not pass another. */
  form: string;
  /** How long a token stays valid (the form's cookie should live as long). */
  maxAgeMs: number;
}

export class PreSessionCsrf {
  readonly #key: Buffer;
  readonly #o: PreSessionCsrfOptions;

  /** `key`: a key for this use only (`Keyring.deriveKey('csrf pre-session forms')`). */
  constructor(key: Buffer, options: PreSessionCsrfOptions) {
    this.#key = key;
    this.#o = options;
  }

  /** The browser's nonce (its well-formed cookie value kept, or a new one) and a token for the form. */
  issue(cookieNonce: string | undefined, now = Date.now()): { nonce: string; token: string } {
    const nonce = cookieNonce !== undefined && NONCE_SHAPE.test(cookieNonce) ? cookieNonce : randomToken();
    const issued = now.toString(36);
    return { nonce, token: `${issued}.${this.#mac(nonce, issued)}` };
  }

  /** True when `token` was issued for this form and this nonce, and has not expired. */
  verify(cookieNonce: string | undefined, token: unknown, now = Date.now()): boolean {
    if (cookieNonce === undefined || !NONCE_SHAPE.test(cookieNonce) || typeof token !== 'string') return false;
    const [issued, mac, extra] = token.split('.');
    if (issued === undefined || mac === undefined || extra !== undefined || !/^[0-9a-z]{1,12}$/.test(issued)) return false;
    const age = now - parseInt(issued, 36);
    if (!(age >= 0 && age <= this.#o.maxAgeMs)) return false;
    return constantTimeEqual(mac, this.#mac(cookieNonce, issued));
  }

  #mac(nonce: string, issued: string): string {
    return createHmac('sha256', this.#key).update(`${this.#o.form}\n${nonce}\n${issued}`).digest('base64url');
  }
}
