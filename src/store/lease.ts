import { randomToken } from '../security/random.js';
import type { Store } from './store.js';

/**
 * A lease on one store key: at most one holder across the instances that share the store, taken
 * over by another once the holder stops renewing it (it died) for `ttlMs`. The store's own TTL
 * measures that, so the instances' clocks do not matter.
 *
 * Renewal confirms ownership by compare-and-set, then extends the TTL. Renewing well before the
 * TTL ends (the caller renews every third of it) keeps the gap between the two (where an expired
 * lease could be taken and then overwritten) out of practice; should it happen, the other holder's
 * next renewal fails and it steps down.
 */
export class Lease {
  readonly #store: Store;
  readonly #key: string;
  readonly #ttlMs: number;
  readonly #owner = randomToken(12);

  constructor(store: Store, key: string, ttlMs: number) {
    this.#store = store;
    this.#key = key;
    this.#ttlMs = ttlMs;
  }

  /** Takes the lease when it is free, renews it when it is ours; true while this instance holds it. */
  async hold(): Promise<boolean> {
    if (await this.#store.setIfAbsent(this.#key, this.#owner, this.#ttlMs)) return true;
    if (!(await this.#store.compareAndSet(this.#key, this.#owner, this.#owner))) return false;
    await this.#store.set(this.#key, this.#owner, this.#ttlMs);
    return true;
  }

  /** Gives the lease up if it is ours (compare-and-delete: never someone else's). */
  release(): Promise<boolean> {
    return this.#store.deleteIfEquals(this.#key, this.#owner);
  }
}
