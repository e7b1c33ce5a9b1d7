import type { Logger } from '../http/logger.js';
import type { Metrics } from '../http/metrics.js';
import { describeError } from '../http/errorInfo.js';
import { randomToken } from '../security/random.js';
import type { Store } from '../store/store.js';
import type { Delivery, DeliveryQueue, DueEntry, TryResult } from './queue.js';

/** While tries are due or in flight, the index is read this often. */
export const POLL_MS = 1_000;
/** With nothing due, the index is read again after this (a wake-up from any instance comes sooner). */
const IDLE_MS = 60_000;
/** Tries taken at once (one page of the index). */
const BATCH = 16;
/** Pages read per pass: at most this many times BATCH tries before the next pass. */
const MAX_PAGES = 8;
/** Every instance's enqueue wakes every instance's worker through this channel. */
export const WAKE_CHANNEL = 'webhooks:due';

/** Makes one try of a claimed delivery and returns its outcome (signing and sending: `install.ts`). */
export type TryDelivery = (delivery: Delivery) => Promise<TryResult>;

/**
 * The background loop that works the delivery queue on this instance. Cheap when idle: it reads
 * the due index once a second only while there is work (a try due, or one claimed elsewhere and
 * not finished); otherwise it sleeps until the next try is due, a wake-up on WAKE_CHANNEL, or a
 * minute (a missed wake-up costs at most that).
 */
export class DeliveryWorker {
  readonly #queue: DeliveryQueue;
  readonly #store: Store;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  readonly #try: TryDelivery;
  readonly #owner = randomToken(12);
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  /** A wake-up came while a pass ran (it may have read the index before the new entry): look again at once. */
  #wokenWhileRunning = false;
  #unsubscribe: (() => Promise<void>) | undefined;

  constructor(o: { queue: DeliveryQueue; store: Store; log: Logger; metrics: Metrics; tryDelivery: TryDelivery }) {
    this.#queue = o.queue;
    this.#store = o.store;
    this.#log = o.log;
    this.#metrics = o.metrics;
    this.#try = o.tryDelivery;
  }

  async start(): Promise<void> {
    this.#unsubscribe = await this.#store.subscribe(WAKE_CHANNEL, () => this.wake());
    this.#schedule(0);
  }

  /** Something was queued: look at once (unless a pass is running; it reschedules itself). */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running !== undefined) this.#wokenWhileRunning = true;
    else this.#schedule(0);
  }

  /** Tells every instance's worker (this one included) that a try is due. */
  async announce(): Promise<void> {
    this.wake();
    await this.#store.publish(WAKE_CHANNEL, '').catch(() => undefined);
  }

  /** Stops the loop and waits for the pass in flight (each try is bounded by the sender's timeout). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    await this.#unsubscribe?.().catch(() => undefined);
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#wokenWhileRunning = false;
      this.#running = this.#pass()
        .then(
          (delay) => delay,
          (err: unknown) => {
            // The store is down, most likely: try again in a while, the queue is still there.
            this.#log.warn({ err: describeError(err) }, 'webhook delivery pass failed');
            return IDLE_MS / 6;
          },
        )
        .then((delay) => {
          this.#running = undefined;
          this.#schedule(this.#wokenWhileRunning ? 0 : delay);
        });
    }, ms);
    this.#timer.unref();
  }

  /**
   * One pass over what is due, page by page (entries another instance holds are passed over, so a
   * crashed instance's claims block nothing else); returns when to look next.
   */
  async #pass(): Promise<number> {
    const now = Date.now();
    let after: string | undefined;
    for (let page = 0; page < MAX_PAGES && !this.#stopped; page++) {
      const { entries, nextAt, next } = await this.#queue.due(now, BATCH, after);
      await Promise.all(entries.map((e) => this.#take(e)));
      if (next === undefined) {
        // Work was there: tries of other instances in flight, or retries soon after.
        if (page > 0 || entries.length > 0) return POLL_MS;
        return nextAt === undefined ? IDLE_MS : Math.min(IDLE_MS, Math.max(POLL_MS, nextAt - Date.now()));
      }
      after = next;
    }
    return POLL_MS;
  }

  async #take(entry: DueEntry): Promise<void> {
    if (this.#stopped || !(await this.#queue.claim(entry, this.#owner))) return;
    const opened = await this.#queue.open(entry);
    if (opened === undefined) return;
    const result = await this.#try(opened.delivery);
    const after = await this.#queue.finish(entry, opened, result);
    this.#metrics.webhookTries.inc({ outcome: after.status === 'pending' ? 'retry' : after.status });
    if (after.status === 'failed')
      this.#log.warn({ extensionId: after.extensionId, webhookId: after.webhookId, deliveryId: after.id, tries: after.tries }, 'webhook delivery given up after 24 hours of retries');
  }
}
