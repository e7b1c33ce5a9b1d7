import type { RequestHandler } from 'express';
import { AppError } from '../http/errors.js';
import { constantTimeEqual } from '../security/constantTime.js';
import { sha256Hex } from '../security/hash.js';
import type { Store } from '../store/store.js';

/**
 * Admin API guard: `Authorization: Bearer $ADMIN_TOKEN`, compared in constant time. Wrong bearer
 * tokens count in the same limiter as the admin pages' sign-in, so neither door can be used to guess
 * around the other's lockout; a locked-out client is refused (429) before its token is compared.
 */
export function requireAdminToken(adminToken: string, limiter: LoginLimiter): RequestHandler {
  return async (req, res, next) => {
    const client = req.ip ?? 'unknown';
    const lockedMs = await limiter.lockedFor(client);
    if (lockedMs > 0) {
      const retry = String(Math.ceil(lockedMs / 1000));
      throw new AppError('rate_limited', `Too many wrong admin tokens from this address: try again in ${Math.ceil(lockedMs / 60_000)} minutes.`, { headers: { 'retry-after': retry } });
    }
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (match?.[1] === undefined || !constantTimeEqual(match[1], adminToken)) {
      // A presented bearer token that is wrong is a guess; no header (or another scheme) is not.
      if (match?.[1] !== undefined) await limiter.recordFailure(client);
      res.setHeader('www-authenticate', 'Bearer realm="cek-gateway admin"');
      throw new AppError('unauthorized', 'A valid admin token is required: send "Authorization: Bearer <ADMIN_TOKEN>".');
    }
    next();
  };
}

const LOCKOUT_PREFIX = 'adminlogin:fail:';
const lockoutKey = (client: string): string => `${LOCKOUT_PREFIX}${sha256Hex(client)}`;

/**
 * Ends the sign-in lockout of one address, or of every address (`cek-gateway unlock-admin`).
 * Returns how many addresses had failures recorded. Works on the store directly, so it helps
 * even when every door to the admin API is locked.
 */
export async function clearAdminLockouts(store: Store, address?: string): Promise<number> {
  if (address !== undefined) return (await store.delete(lockoutKey(address))) ? 1 : 0;
  let cleared = 0;
  for (const { key } of await store.list(LOCKOUT_PREFIX)) if (await store.delete(key)) cleared += 1;
  return cleared;
}

/** Wrong admin tokens from one client before it is locked out for the window. */
export const MAX_LOGIN_FAILURES = 10;
const LOGIN_WINDOW_MS = 15 * 60_000;

/**
 * Sign-in attempts per client address. ADMIN_TOKEN is long and random in production, so this is not
 * what keeps it safe; it keeps a script from hammering the form and the logs.
 */
export class LoginLimiter {
  readonly #store: Store;
  constructor(store: Store) {
    this.#store = store;
  }

  #key(client: string): string {
    return lockoutKey(client);
  }

  /** Milliseconds until the client may try again, or 0. */
  async lockedFor(client: string): Promise<number> {
    const key = this.#key(client);
    const count = Number((await this.#store.get(key)) ?? 0);
    if (count < MAX_LOGIN_FAILURES) return 0;
    return (await this.#store.ttl(key)) ?? LOGIN_WINDOW_MS;
  }

  async recordFailure(client: string): Promise<void> {
    await this.#store.increment(this.#key(client), 1, LOGIN_WINDOW_MS);
  }

  async reset(client: string): Promise<void> {
    await this.#store.delete(this.#key(client));
  }
}
