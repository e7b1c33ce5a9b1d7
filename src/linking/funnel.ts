import type { Logger } from '../http/logger.js';
import type { Metrics } from '../http/metrics.js';
import { keyOf, prefixOf } from '../store/keys.js';
import type { Store } from '../store/store.js';
import { CountFlusher } from '../store/countFlusher.js';

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
function funnelKeysOf(id: string): Iterable<readonly [string, number]> {
  const [ext = '', day = '', field = ''] = id.split('\n');
  return [[funnelKey(ext, day, field), TTL_MS]];
}

const zeros = <K extends string>(names: readonly K[]): Record<K, number> => Object.fromEntries(names.map((n) => [n, 0])) as Record<K, number>;

export class LinkingFunnel {
  readonly #store: Store;
  readonly #metrics: Metrics;
  // `ext \n day \n field` → count, added to the store once a second.
  readonly #counts: CountFlusher;

  constructor(o: { store: Store; log: Logger; metrics: Metrics }) {
    this.#store = o.store;
    this.#metrics = o.metrics;
    this.#counts = new CountFlusher({ store: o.store, log: o.log, what: 'linking funnel counters', keysOf: funnelKeysOf });
    this.#counts.start();
  }

  step(extensionId: string, step: FunnelStep, now = Date.now()): void {
    this.#metrics.linkingFunnel.inc({ extension: extensionId, step });
    this.#counts.add(`${extensionId}\n${dayOf(now)}\n${step}`);
  }

  failed(extensionId: string, reason: FunnelFailure, now = Date.now()): void {
    this.#metrics.linkingFailures.inc({ extension: extensionId, reason });
    this.#counts.add(`${extensionId}\n${dayOf(now)}\n${reason}`);
  }

  /** Adds what was counted here to the store; counts that surely failed to land are kept for the next flush. */
  flush(): Promise<void> {
    return this.#counts.flush();
  }

  /** A deleted extension's counts go with it (after what is pending here was written). */
  async extensionDeleted(extensionId: string): Promise<void> {
    await this.flush();
    for (const { key } of await this.#store.list(prefixOf('linkingFunnel', extensionId))) await this.#store.delete(key);
  }

  /** Stops the timer after a last flush. */
  async stop(): Promise<void> {
    await this.#counts.stop();
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
