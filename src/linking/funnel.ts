import type { Logger } from '../http/logger.js';
import type { Metrics } from '../http/metrics.js';
import { keyOf, prefixOf } from '../store/keys.js';
import type { Store } from '../store/store.js';
import { mayHaveApplied } from '../store/unavailable.js';

/**
 * The linking funnel (issue 16 item 5): per extension and UTC day, how far users get through
 * account linking, and where they fall out. Counted in memory and added to the store once a second
 * (like usage), so a counted step costs a map update, never a store round trip: the login prompt is
 * on the voice path. Also counted in Prometheus at once.
 *
 * Some steps happen before anything names the extension: the code page (`/link`) is the same for
 * every extension, a wrong code or a locked-out client matches none, and an expired `state` is gone
 * with the extension it named. Those are counted gateway-wide, under GATEWAY_WIDE.
 */
export const FUNNEL_STEPS = ['prompted', 'page_opened', 'code_accepted', 'consent_returned', 'token_stored', 'first_action'] as const;
export type FunnelStep = (typeof FUNNEL_STEPS)[number];
export const FUNNEL_FAILURES = ['wrong_code', 'lockout', 'consent_denied', 'token_endpoint_error', 'expired_state'] as const;
export type FunnelFailure = (typeof FUNNEL_FAILURES)[number];

/** The bucket of steps no extension can be named for (no extension id has a `*`). */
export const GATEWAY_WIDE = '*';
export const FUNNEL_MAX_DAYS = 90;
const DAY_MS = 86_400_000;
const TTL_MS = 100 * DAY_MS;
const FLUSH_MS = 1_000;

export interface FunnelDay {
  /** `YYYY-MM-DD` (UTC). */
  date: string;
  steps: Record<FunnelStep, number>;
  failures: Record<FunnelFailure, number>;
}

export interface FunnelReport {
  extensionId: string;
  days: FunnelDay[];
  totals: { steps: Record<FunnelStep, number>; failures: Record<FunnelFailure, number> };
  /** The same for the steps counted gateway-wide (the code page, wrong codes, lockouts, expired states). */
  gatewayWide: { days: FunnelDay[]; totals: { steps: Record<FunnelStep, number>; failures: Record<FunnelFailure, number> } };
}

const dayOf = (now: number): string => new Date(now).toISOString().slice(0, 10);
const funnelKey = (ext: string, day: string, field: string): string => keyOf('linkingFunnel', ext, day, field);

const zeros = <K extends string>(names: readonly K[]): Record<K, number> => Object.fromEntries(names.map((n) => [n, 0])) as Record<K, number>;

export class LinkingFunnel {
  readonly #store: Store;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  // `ext \n day \n field` → count
  #pending = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #lastWarning = 0;

  constructor(o: { store: Store; log: Logger; metrics: Metrics }) {
    this.#store = o.store;
    this.#log = o.log;
    this.#metrics = o.metrics;
    this.#timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.#timer.unref();
  }

  step(extensionId: string, step: FunnelStep, now = Date.now()): void {
    this.#metrics.linkingFunnel.inc({ extension: extensionId, step });
    this.#add(extensionId, dayOf(now), step);
  }

  failed(extensionId: string, reason: FunnelFailure, now = Date.now()): void {
    this.#metrics.linkingFailures.inc({ extension: extensionId, reason });
    this.#add(extensionId, dayOf(now), reason);
  }

  #add(ext: string, day: string, field: string): void {
    const id = `${ext}\n${day}\n${field}`;
    this.#pending.set(id, (this.#pending.get(id) ?? 0) + 1);
  }

  /** Adds what was counted here to the store; counts that fail to land are kept for the next flush. */
  async flush(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    this.#flushing = this.#write(batch).finally(() => {
      this.#flushing = undefined;
    });
    await this.#flushing;
  }

  async #write(batch: Map<string, number>): Promise<void> {
    let lastErr: unknown;
    await Promise.all(
      [...batch].map(async ([id, n]) => {
        const [ext = '', day = '', field = ''] = id.split('\n');
        try {
          await this.#store.increment(funnelKey(ext, day, field), n, TTL_MS);
        } catch (err) {
          lastErr = err;
          // Sent but unanswered: it may land when the store resumes; sent again it could count twice.
          if (mayHaveApplied(err)) return;
          this.#pending.set(id, (this.#pending.get(id) ?? 0) + n);
        }
      }),
    );
    if (lastErr !== undefined && Date.now() - this.#lastWarning >= 60_000) {
      this.#lastWarning = Date.now();
      this.#log.warn({ error: lastErr instanceof Error ? lastErr.message : String(lastErr) }, 'linking funnel counters could not be flushed; kept, retrying with the next flush');
    }
  }

  /** A deleted extension's counts go with it (after what is pending here was written). */
  async extensionDeleted(extensionId: string): Promise<void> {
    await this.flush();
    for (const { key } of await this.#store.list(prefixOf('linkingFunnel', extensionId))) await this.#store.delete(key);
  }

  /** Stops the timer after a last flush. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  /** The last `days` days (oldest first, today last) of an extension and of the gateway-wide bucket. */
  async report(extensionId: string, days: number, now = Date.now()): Promise<FunnelReport> {
    const dates: string[] = [];
    for (let i = days - 1; i >= 0; i--) dates.push(dayOf(now - i * DAY_MS));
    const fields = [...FUNNEL_STEPS, ...FUNNEL_FAILURES];
    const read = async (ext: string): Promise<{ days: FunnelDay[]; totals: FunnelReport['totals'] }> => {
      const keys = dates.flatMap((d) => fields.map((f) => funnelKey(ext, d, f)));
      const values = await this.#store.getMany(keys);
      const totals = { steps: zeros(FUNNEL_STEPS), failures: zeros(FUNNEL_FAILURES) };
      const rows = dates.map((date, di): FunnelDay => {
        const steps = zeros(FUNNEL_STEPS);
        const failures = zeros(FUNNEL_FAILURES);
        fields.forEach((f, fi) => {
          const n = Number(values[di * fields.length + fi] ?? 0) || 0;
          if ((FUNNEL_STEPS as readonly string[]).includes(f)) {
            steps[f as FunnelStep] = n;
            totals.steps[f as FunnelStep] += n;
          } else {
            failures[f as FunnelFailure] = n;
            totals.failures[f as FunnelFailure] += n;
          }
        });
        return { date, steps, failures };
      });
      return { days: rows, totals };
    };
    const [own, wide] = await Promise.all([read(extensionId), read(GATEWAY_WIDE)]);
    return { extensionId, days: own.days, totals: own.totals, gatewayWide: wide };
  }
}
