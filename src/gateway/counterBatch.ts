import type { Store } from '../store/store.js';

interface Waiter {
  resolve(value: number): void;
  reject(err: unknown): void;
}

interface Slot {
  ttlMs: number;
  waiters: Waiter[];
  /** Units handed back (refused or refunded) since the last send. */
  returned: number;
  inFlight: boolean;
  scheduled: boolean;
}

/**
 * Exact shared counters at a fraction of the store round trips. Each caller takes one unit of a
 * counter and learns its position, exactly as if it had called `store.increment(key, 1)` itself;
 * admission is decided on that position (admit while ≤ limit), never by reading then writing.
 *
 * The takes of one counter that arrive while its previous increment is in flight, or within one
 * turn of the event loop, go to the store as a single `increment(key, n)`: the new value `v` gives
 * the n callers the positions `v-n+1 … v`, in arrival order. Serially that is the same sequence of
 * increments, so the count stays exact across instances; under load one round trip serves many
 * requests (the CPU of an ioredis command, 45–60 µs, is most of what a quota check costs,
 * PERFORMANCE.md section 1), and when idle a take goes out on the next loop turn.
 *
 * Units handed back (`giveBack`) are subtracted in the same increment, before the new takes, so a
 * refused or refunded unit is free again for the callers that follow it.
 */
export class CounterBatch {
  readonly #store: Store;
  readonly #slots = new Map<string, Slot>();

  constructor(store: Store) {
    this.#store = store;
  }

  /** Takes one unit of `key` and resolves with its position (the counter's value right after it). */
  take(key: string, ttlMs: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const slot = this.#slot(key, ttlMs);
      slot.waiters.push({ resolve, reject });
      this.#schedule(key, slot);
    });
  }

  /** Hands `n` units of `key` back (a refused call, a response that does not count). */
  giveBack(key: string, n = 1, ttlMs = 0): void {
    const slot = this.#slot(key, ttlMs);
    slot.returned += n;
    this.#schedule(key, slot);
  }

  /** Resolves when nothing is pending, or after `timeoutMs` (shutdown must not hang on a dead store). */
  async drain(timeoutMs = 2_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.#slots.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  }

  #slot(key: string, ttlMs: number): Slot {
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      slot = { ttlMs, waiters: [], returned: 0, inFlight: false, scheduled: false };
      this.#slots.set(key, slot);
    } else if (slot.ttlMs === 0) {
      slot.ttlMs = ttlMs;
    }
    return slot;
  }

  #schedule(key: string, slot: Slot): void {
    if (slot.inFlight || slot.scheduled) return;
    slot.scheduled = true;
    // setImmediate runs after the I/O callbacks of this loop turn: the takes of every request
    // read in this turn go out together.
    setImmediate(() => this.#send(key, slot));
  }

  #send(key: string, slot: Slot): void {
    slot.scheduled = false;
    const waiters = slot.waiters;
    const returned = slot.returned;
    if (waiters.length === 0 && returned === 0) {
      if (this.#slots.get(key) === slot) this.#slots.delete(key);
      return;
    }
    slot.waiters = [];
    slot.returned = 0;
    slot.inFlight = true;
    const n = waiters.length;
    this.#store.increment(key, n - returned, slot.ttlMs > 0 ? slot.ttlMs : undefined).then(
      (value) => {
        const first = value - n + 1;
        for (let i = 0; i < n; i++) (waiters[i] as Waiter).resolve(first + i);
        this.#done(key, slot);
      },
      (err: unknown) => {
        // Returned units are lost with the failed call: the counter stays higher, never lower.
        for (const w of waiters) w.reject(err);
        this.#done(key, slot);
      },
    );
  }

  #done(key: string, slot: Slot): void {
    slot.inFlight = false;
    if (slot.waiters.length > 0 || slot.returned > 0) this.#send(key, slot);
    else if (this.#slots.get(key) === slot) this.#slots.delete(key);
  }
}
