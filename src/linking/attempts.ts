import { sha256Hex } from '../security/hash.js';
import type { Store } from '../store/store.js';

export const MAX_WRONG_PER_CLIENT = 5;
const CLIENT_WINDOW_MS = 15 * 60_000;
/**
 * Wrong codes from all clients together, per minute. Per-client locks do not stop a guesser who
 * spreads tries over many addresses; this bounds them: at 30 a minute, a code's 10-minute life
 * allows 300 guesses in a million codes.
 */
export const MAX_WRONG_GLOBAL_PER_MINUTE = 30;

/** Guessing protection for pairing codes: a lock after 5 wrong tries from one client, and a global budget. */
export class AttemptLimiter {
  readonly #store: Store;
  constructor(store: Store) {
    this.#store = store;
  }

  #clientKey(client: string): string {
    return `pair:fail:client:${sha256Hex(client)}`;
  }

  #globalKey(): string {
    return `pair:fail:global:${Math.floor(Date.now() / 60_000)}`;
  }

  async isLocked(client: string): Promise<boolean> {
    const [mine, all] = await this.#store.getMany([this.#clientKey(client), this.#globalKey()]);
    return Number(mine ?? 0) >= MAX_WRONG_PER_CLIENT || Number(all ?? 0) >= MAX_WRONG_GLOBAL_PER_MINUTE;
  }

  /** Counts a wrong try; true when the client is now locked. */
  async recordFailure(client: string): Promise<boolean> {
    const mine = await this.#store.increment(this.#clientKey(client), 1, CLIENT_WINDOW_MS);
    await this.#store.increment(this.#globalKey(), 1, 120_000);
    return mine >= MAX_WRONG_PER_CLIENT;
  }
}
