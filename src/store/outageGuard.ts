import { StoreUnavailableError } from './unavailable.js';

export interface OutageGuardOptions {
  /** Resolves when the store answers again (e.g. a PING); rejects while it does not. */
  probe: () => Promise<void>;
  /** Pause between two probes while the store is down. */
  probeIntervalMs: number;
}

/**
 * Remembers that the store is down, so that callers fail at once instead of each waiting for a
 * command timeout (a stalled Redis answers nothing: every command would wait the full timeout, and a
 * voice request makes several). Once down, a background probe checks the store; the first probe
 * that succeeds lets commands through again, so recovery needs no restart.
 */
export class OutageGuard {
  readonly #probe: () => Promise<void>;
  readonly #intervalMs: number;
  #downSince: number | undefined;
  #reason = '';
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #confirming = false;

  constructor(o: OutageGuardOptions) {
    this.#probe = o.probe;
    this.#intervalMs = o.probeIntervalMs;
  }

  get down(): boolean {
    return this.#downSince !== undefined;
  }

  /** Throws `StoreUnavailableError` while the store is known to be down. */
  check(): void {
    if (this.#downSince !== undefined) {
      throw new StoreUnavailableError(`the store does not answer (down for ${Math.round((Date.now() - this.#downSince) / 1000)} s: ${this.#reason})`);
    }
  }

  /** The store failed to answer: fail fast from now on, until a probe succeeds. */
  markDown(reason: string): void {
    if (this.#stopped || this.#downSince !== undefined) return;
    this.#downSince = Date.now();
    this.#reason = reason;
    this.#schedule();
  }

  /**
   * A command went unanswered in time: the store is marked down only if a probe, sent now, fails
   * too. A busy process or a briefly busy server is not an outage, and marking it one would fail
   * every command until the next probe.
   */
  suspect(reason: string): void {
    if (this.#stopped || this.#downSince !== undefined || this.#confirming) return;
    this.#confirming = true;
    this.#probe().then(
      () => {
        this.#confirming = false;
      },
      () => {
        this.#confirming = false;
        this.markDown(reason);
      },
    );
  }

  /** Stops probing (store closed). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#probe().then(
        () => {
          if (!this.#stopped) this.#downSince = undefined;
        },
        () => {
          if (!this.#stopped) this.#schedule();
        },
      );
    }, this.#intervalMs);
    // A probe must not keep the process alive.
    this.#timer.unref();
  }
}
