import { sha256Hex } from './hash.js';
import type { Store } from '../store/store.js';

export interface FailureLimiterOptions {
  /** Key family, e.g. `adminlogin:fail` (one limiter per family; keys are `<family>:<hash of client>`). */
  family: string;
  /** Tries a client may fail within the window before it is refused. */
  maxFailures: number;
  windowMs: number;
}

/** A try that was let through: settle it once its outcome is known. */
export interface Attempt {
  /** The try succeeded: it no longer counts against the client. */
  succeeded(): Promise<void>;
  /** The try failed: it keeps counting. True when the client is now locked out. */
  readonly lockedNow: boolean;
}

export type AttemptResult = { allowed: true; attempt: Attempt } | { allowed: false; retryAfterMs: number };

/**
 * Failure lockout per client, atomic on every store. A try is counted *before* the secret is
 * compared (one atomic `increment`) and taken back when it succeeds: a check-then-record limiter
 * lets every parallel request read "0 failures" and compare (200 parallel guesses got 12–66
 * compares instead of 10). With the count taken first, exactly `maxFailures` tries of a client are
 * ever compared per window, however many arrive at once.
 *
 * Clients are stored by hash: the store never holds an address.
 */
export class FailureLimiter {
  readonly #store: Store;
  readonly #o: FailureLimiterOptions;

  constructor(store: Store, options: FailureLimiterOptions) {
    if (!Number.isInteger(options.maxFailures) || options.maxFailures < 1) throw new RangeError('maxFailures must be a positive integer');
    this.#store = store;
    this.#o = options;
  }

  get maxFailures(): number {
    return this.#o.maxFailures;
  }

  get windowMs(): number {
    return this.#o.windowMs;
  }

  #key(client: string): string {
    return `${this.#o.family}:${sha256Hex(client)}`;
  }

  /**
   * Reserves one try for `client`. Refused (with the time left in the window) once the client has
   * used its tries; otherwise the try counts as failed until `succeeded()` is called.
   */
  async attempt(client: string): Promise<AttemptResult> {
    const key = this.#key(client);
    // The TTL is set only when this increment creates the key, so a window is never pushed back.
    const count = await this.#store.increment(key, 1, this.#o.windowMs);
    if (count > this.#o.maxFailures) {
      // A refused try is not a try: without this, a locked client's hammering would keep the count climbing.
      await this.#store.increment(key, -1, this.#o.windowMs);
      return { allowed: false, retryAfterMs: (await this.#store.ttl(key)) ?? this.#o.windowMs };
    }
    return {
      allowed: true,
      attempt: {
        lockedNow: count >= this.#o.maxFailures,
        succeeded: async () => {
          await this.#store.increment(key, -1, this.#o.windowMs);
        },
      },
    };
  }

  /** Milliseconds until the client may try again, or 0 (read only, for pages that show the state). */
  async lockedFor(client: string): Promise<number> {
    const key = this.#key(client);
    const count = Number((await this.#store.get(key)) ?? 0);
    if (count < this.#o.maxFailures) return 0;
    return (await this.#store.ttl(key)) ?? this.#o.windowMs;
  }

  /** Forgets a client's failures (after a successful sign-in). */
  async reset(client: string): Promise<void> {
    await this.#store.delete(this.#key(client));
  }

  /** Forgets every client's failures (the operator's "unlock"); the number of clients unlocked. */
  async resetAll(): Promise<number> {
    let n = 0;
    for (const { key } of await this.#store.list(`${this.#o.family}:`)) if (await this.#store.delete(key)) n++;
    return n;
  }
}
