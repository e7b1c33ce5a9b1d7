import { FailureLimiter } from '../security/failureLimiter.js';
import type { Store } from '../store/store.js';

export const MAX_WRONG_PER_CLIENT = 5;
const CLIENT_WINDOW_MS = 15 * 60_000;

/**
 * Guessing protection for pairing codes: a client is locked after 5 wrong codes in 15 minutes.
 * There is no global cap: it let a guesser on rotating addresses lock out every genuine user, and
 * a client that has not failed is never refused. The code length bounds guessing from many
 * addresses instead (pairing.ts, `takeoverChance`).
 */
export class AttemptLimiter extends FailureLimiter {
  constructor(store: Store) {
    super(store, { family: 'pairingFailures', scope: 'client', maxFailures: MAX_WRONG_PER_CLIENT, windowMs: CLIENT_WINDOW_MS });
  }
}
