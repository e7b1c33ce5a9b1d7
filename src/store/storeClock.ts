import type { Store } from './store.js';

export interface StoreClockOptions {
  /** This process's clock (tests inject a skewed one). */
  local?: () => number;
  /** How often the offset is sampled again (default a minute): clocks drift apart slowly. */
  resampleMs?: number;
}

const DEFAULT_RESAMPLE_MS = 60_000;
/** Round trips per sample; the fastest one is kept (its midpoint is the closest to the store's reading). */
const TRIES = 3;

/**
 * The store's clock, read without a round trip. Counting windows (a rate limit's second, a quota's
 * UTC day) must be the same for every instance sharing the store: from each instance's own clock,
 * two instances whose clocks are seconds apart count in different windows and together admit up
 * to twice the limit. So the offset of the store's clock (`Store.time()`: Redis TIME, PostgreSQL
 * now()) from this process's is sampled at start and every minute, and `now()` is the local clock
 * plus that offset: no extra round trip on the request path, and instances agree to within half
 * a round trip. Until the first sample answers (or while the store is away), the last offset holds
 * (0 at first: the local clock).
 */
export class StoreClock {
  readonly #store: Pick<Store, 'time'>;
  readonly #local: () => number;
  readonly #resampleMs: number;
  #offset = 0;
  #timer: NodeJS.Timeout | undefined;
  #sampling: Promise<void> | undefined;

  constructor(store: Pick<Store, 'time'>, opts: StoreClockOptions = {}) {
    this.#store = store;
    this.#local = opts.local ?? Date.now;
    this.#resampleMs = opts.resampleMs ?? DEFAULT_RESAMPLE_MS;
  }

  /** The store's time now, epoch ms. */
  now(): number {
    return this.#local() + this.#offset;
  }

  /** The store's clock minus this process's, in ms, as last sampled. */
  get offsetMs(): number {
    return this.#offset;
  }

  /** Samples now and then every `resampleMs`; resolves after the first sample (which may fail: the local clock then holds). */
  async start(): Promise<void> {
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => void this.sample().catch(() => undefined), this.#resampleMs);
      this.#timer.unref();
    }
    await this.sample().catch(() => undefined);
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Measures the offset again (throws when the store does not answer; the old offset then holds). */
  sample(): Promise<void> {
    this.#sampling ??= this.#measure().finally(() => {
      this.#sampling = undefined;
    });
    return this.#sampling;
  }

  async #measure(): Promise<void> {
    let best: { rtt: number; offset: number } | undefined;
    for (let i = 0; i < TRIES; i++) {
      const before = this.#local();
      const storeTime = await this.#store.time();
      const after = this.#local();
      const rtt = after - before;
      if (best === undefined || rtt < best.rtt) best = { rtt, offset: storeTime - (before + after) / 2 };
    }
    if (best !== undefined) this.#offset = Math.round(best.offset);
  }
}
