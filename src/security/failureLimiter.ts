import { sha256Hex } from './hash.js';
import type { Store } from '../store/store.js';
import { isStoreUnavailable } from '../store/unavailable.js';
import { prefixOf, type KeyFamilyName } from '../store/keys.js';

export interface FailureLimiterOptions {
  /** Key family (store/keys.ts) and, when the family holds several limiters, this one's scope: keys are `<prefix>[<scope>:]<hash of client>`. */
  family: KeyFamilyName;
  scope?: string;
  /** Tries a client may fail within the window before it is refused. */
  maxFailures: number;
  windowMs: number;
}

/** A try that was let through: settle it once its outcome is known. */
export interface Attempt {
  /** The try succeeded: it does not count against the client. */
  succeeded(): Promise<void>;
  /** The try failed: it counts for the window. True when the client is now locked out. */
  failed(): Promise<boolean>;
}

export type AttemptResult = { allowed: true; attempt: Attempt } | { allowed: false; retryAfterMs: number };

/**
 * One counter holds both parts of a client's state: failures × FAILURE_UNIT + tries in flight. Every
 * change is one atomic `increment` of one key, so it is exact on every store and across instances.
 */
const FAILURE_UNIT = 1_000_000;
/** How long a try waits for other tries of the same client in flight before it is refused. */
const WAIT_FOR_IN_FLIGHT_MS = 3_000;

/**
 * Failure lockout per client, atomic on every store. A try takes a slot *before* the secret is
 * compared, and only while failures plus tries in flight stay within `maxFailures`: a
 * check-then-record limiter lets every parallel request read "0 failures" and compare (200 parallel
 * guesses got 12–66 compares instead of 10). Here exactly `maxFailures` wrong tries of a client are
 * ever compared per window, however many arrive at once, while right ones that arrive together
 * (a script's parallel admin calls) wait a moment for a slot instead of being refused.
 *
 * Clients are stored by hash: the store never holds an address.
 */
export class FailureLimiter {
  readonly #store: Store;
  readonly #o: FailureLimiterOptions;

  constructor(store: Store, options: FailureLimiterOptions) {
    if (!Number.isInteger(options.maxFailures) || options.maxFailures < 1 || options.maxFailures >= FAILURE_UNIT) throw new RangeError('maxFailures must be a positive integer');
    this.#store = store;
    this.#o = options;
  }

  get maxFailures(): number {
    return this.#o.maxFailures;
  }

  get windowMs(): number {
    return this.#o.windowMs;
  }

  #prefix(): string {
    return this.#o.scope === undefined ? prefixOf(this.#o.family) : prefixOf(this.#o.family, this.#o.scope);
  }

  #key(client: string): string {
    return `${this.#prefix()}${sha256Hex(client)}`;
  }

  /**
   * Reserves one try for `client`: refused (with the time left in the window) once the client has
   * failed `maxFailures` times; otherwise settle it with `succeeded()` or `failed()`.
   */
  async attempt(client: string): Promise<AttemptResult> {
    const key = this.#key(client);
    const max = this.#o.maxFailures;
    const give = (by: number): Promise<number> => this.#store.increment(key, by, this.#o.windowMs);
    const waitUntil = Date.now() + WAIT_FOR_IN_FLIGHT_MS;
    for (;;) {
      let value: number;
      try {
        // The TTL is set only when this increment creates the key, so a window is never pushed back.
        value = await give(1);
      } catch (err) {
        if (!isStoreUnavailable(err)) throw err;
        return this.#unrecorded(client);
      }
      const failures = Math.floor(value / FAILURE_UNIT);
      const inFlight = value % FAILURE_UNIT;
      if (failures < max && failures + inFlight <= max) {
        return {
          allowed: true,
          attempt: {
            succeeded: async () => {
              await give(-1);
            },
            failed: async () => Math.floor((await give(FAILURE_UNIT - 1)) / FAILURE_UNIT) >= max,
          },
        };
      }
      // A refused or postponed try is not a try: without this, hammering would keep the count climbing.
      await give(-1);
      if (failures >= max || Date.now() >= waitUntil) return { allowed: false, retryAfterMs: (await this.#store.ttl(key)) ?? this.#o.windowMs };
      // Other tries of this client are being compared and could still use up its budget.
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 20));
    }
  }

  /**
   * The store takes no writes (a locked SQLite file, a read-only replica): a client that is not locked
   * out may still try, unrecorded, so the admin can read and fix things during the outage. Guessing
   * is then bounded by the outage's length and by the secret's entropy (checked at start).
   */
  async #unrecorded(client: string): Promise<AttemptResult> {
    const lockedMs = await this.lockedFor(client);
    if (lockedMs > 0) return { allowed: false, retryAfterMs: lockedMs };
    return { allowed: true, attempt: { succeeded: () => Promise.resolve(), failed: () => Promise.resolve(false) } };
  }

  /** Milliseconds until the client may try again, or 0 (read only, for pages that show the state). */
  async lockedFor(client: string): Promise<number> {
    const key = this.#key(client);
    const failures = Math.floor(Number((await this.#store.get(key)) ?? 0) / FAILURE_UNIT);
    if (failures < this.#o.maxFailures) return 0;
    return (await this.#store.ttl(key)) ?? this.#o.windowMs;
  }

  /** Forgets a client's failures (after a successful sign-in); true when it had any. */
  async reset(client: string): Promise<boolean> {
    return this.#store.delete(this.#key(client));
  }

  /** Forgets every client's failures (the operator's "unlock"); the number of clients unlocked. */
  async resetAll(): Promise<number> {
    let n = 0;
    for (const { key } of await this.#store.list(this.#prefix())) if (await this.#store.delete(key)) n++;
    return n;
  }
}
