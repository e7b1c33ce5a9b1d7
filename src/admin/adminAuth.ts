import type { RequestHandler } from 'express';
import { AppError } from '../http/errors.js';
import { constantTimeEqual } from '../security/constantTime.js';
import { FailureLimiter } from '../security/failureLimiter.js';
import type { Store } from '../store/store.js';

/**
 * Admin API guard: `Authorization: Bearer $ADMIN_TOKEN`, compared in constant time. Wrong bearer
 * tokens count in the same limiter as the admin pages' sign-in, so neither door can be used to guess
 * around the other's lockout; a locked-out client is refused (429) before its token is compared.
 */
export function requireAdminToken(adminToken: string, limiter: LoginLimiter): RequestHandler {
  return async (req, res, next) => {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    const presented = match?.[1];
    // No header (or another scheme) is not a guess and costs no try, but a locked client is still refused.
    if (presented === undefined) {
      await refuseIfLocked(limiter, req.ip ?? 'unknown');
      res.setHeader('www-authenticate', 'Bearer realm="cek-gateway admin"');
      throw new AppError('unauthorized', 'A valid admin token is required: send "Authorization: Bearer <ADMIN_TOKEN>".');
    }
    const tried = await limiter.attempt(req.ip ?? 'unknown');
    if (!tried.allowed) throw lockedOut(tried.retryAfterMs);
    if (!constantTimeEqual(presented, adminToken)) {
      await tried.attempt.failed();
      res.setHeader('www-authenticate', 'Bearer realm="cek-gateway admin"');
      throw new AppError('unauthorized', 'A valid admin token is required: send "Authorization: Bearer <ADMIN_TOKEN>".');
    }
    await tried.attempt.succeeded();
    next();
  };
}

async function refuseIfLocked(limiter: LoginLimiter, client: string): Promise<void> {
  const lockedMs = await limiter.lockedFor(client);
  if (lockedMs > 0) throw lockedOut(lockedMs);
}

function lockedOut(ms: number): AppError {
  return new AppError('rate_limited', `Too many wrong admin tokens from this address: try again in ${Math.ceil(ms / 60_000)} minutes.`, { headers: { 'retry-after': String(Math.ceil(ms / 1000)) } });
}

/**
 * Ends the sign-in lockout of one address, or of every address (`cek-gateway unlock-admin`).
 * Returns how many addresses had failures recorded. Works on the store directly, so it helps
 * even when every door to the admin API is locked.
 */
export async function clearAdminLockouts(store: Store, address?: string): Promise<number> {
  const limiter = new LoginLimiter(store);
  if (address === undefined) return limiter.resetAll();
  return (await limiter.reset(address)) ? 1 : 0;
}

/** Wrong admin tokens from one client before it is locked out for the window. */
export const MAX_LOGIN_FAILURES = 10;
const LOGIN_WINDOW_MS = 15 * 60_000;

/**
 * Admin-token tries per client address, shared by the API and the sign-in page. ADMIN_TOKEN is
 * long and random in production, so this is not what keeps it safe; it keeps a script from
 * hammering the form and the logs. `resetAll()` is the operator's unlock.
 */
export class LoginLimiter extends FailureLimiter {
  constructor(store: Store) {
    super(store, { family: 'adminLoginFailures', maxFailures: MAX_LOGIN_FAILURES, windowMs: LOGIN_WINDOW_MS });
  }
}
