import type { Logger } from '../http/logger.js';
import { messageOf } from '../http/errorInfo.js';
import type { Store } from './store.js';
import { mayHaveApplied } from './unavailable.js';

const FLUSH_MS = 1_000;
const WARN_EVERY_MS = 60_000;

export interface CountFlusherOptions {
  store: Store;
  log: Logger;
  /** What is counted, for log lines ("usage counters"). */
  what: string;
  /** The store counters (key, TTL) an event id adds its count to. */
  keysOf(id: string): Iterable<readonly [key: string, ttlMs: number]>;
}

/**
 * Counts that decide nothing (usage, the linking funnel), summed in memory by event id and added to
 * the store once a second (and on `flush`/`stop`) with atomic increments: a counted event costs a
 * map update, not a round trip, and instances sharing a store add up exactly. A crash loses at most
 * the last second.
 *
 * One flush at a time (a slow store must not get overlapping flushes of the same counts). An
 * increment that surely did not land (refused before it was sent) is kept and added to the next
 * flush; one that may have landed (sent, then no answer: a stalled Redis runs it when it resumes)
 * is not sent again, so nothing is counted twice.
 */
export class CountFlusher {
  readonly #o: CountFlusherOptions;
  #pending = new Map<string, number>();
  /** Store counters whose last increment surely failed: added again with the next flush. */
  #retry = new Map<string, { n: number; ttl: number }>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #lastWarning = 0;

  constructor(o: CountFlusherOptions) {
    this.#o = o;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.flush(), FLUSH_MS);
    this.#timer.unref();
  }

  /** Stops the timer after a last flush. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  add(id: string): void {
    this.#pending.set(id, (this.#pending.get(id) ?? 0) + 1);
  }

  async flush(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
    if (this.#pending.size === 0 && this.#retry.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    this.#flushing = this.#write(batch).finally(() => {
      this.#flushing = undefined;
    });
    await this.#flushing;
  }

  async #write(batch: Map<string, number>): Promise<void> {
    const sums = this.#retry;
    this.#retry = new Map();
    for (const [id, n] of batch) {
      for (const [key, ttl] of this.#o.keysOf(id)) {
        const s = sums.get(key);
        if (s === undefined) sums.set(key, { n, ttl });
        else s.n += n;
      }
    }
    let kept = 0;
    let uncertain = 0;
    let lastErr: unknown;
    await Promise.all(
      [...sums].map(async ([key, { n, ttl }]) => {
        try {
          await this.#o.store.increment(key, n, ttl);
        } catch (err) {
          lastErr = err;
          if (mayHaveApplied(err)) {
            uncertain += n;
            return;
          }
          kept++;
          const again = this.#retry.get(key);
          if (again === undefined) this.#retry.set(key, { n, ttl });
          else again.n += n;
        }
      }),
    );
    if (uncertain > 0) {
      this.#o.log.warn({ error: messageOf(lastErr), counts: uncertain }, `${this.#o.what} sent to a store that did not answer: not sent again (they land if the store ran them; never counted twice)`);
    }
    // Once a second while the store is down: one short line a minute, without the stack.
    if (kept > 0 && Date.now() - this.#lastWarning >= WARN_EVERY_MS) {
      this.#lastWarning = Date.now();
      this.#o.log.warn({ error: messageOf(lastErr), failures: kept }, `${this.#o.what} could not be flushed; kept, retrying with the next flush`);
    }
  }
}
