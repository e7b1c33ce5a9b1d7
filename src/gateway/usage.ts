import type { Logger } from '../http/logger.js';
import type { Store } from '../store/store.js';
import { CountFlusher } from '../store/countFlusher.js';
import { keyOf } from '../store/keys.js';
import { RESPONSE_CLASSES, type ResponseClass } from './model.js';
import { DAY_MS, dayInfo, lastDays, lastMonths } from './windows.js';

/** What a counted call's response was: a class, or `unclassified` when the gateway did not see its status. */
export type Outcome = ResponseClass | 'unclassified';
export const OUTCOMES: readonly Outcome[] = [...RESPONSE_CLASSES, 'unclassified'];

/** Refusals after admission that mean the caller was not CLOVA (or the chatbot) at all. */
export const AUTH_REFUSALS = ['missing_signature', 'invalid_signature', 'application_id_mismatch'] as const;
/** Calls the gateway refused, by code: its own refusals, then the failed authentications. */
export const REFUSAL_CODES = ['missing_api_key', 'invalid_api_key', 'rate_limited', 'quota_exceeded', ...AUTH_REFUSALS] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

const DAY_TTL_MS = 100 * DAY_MS;
const MONTH_TTL_MS = 400 * DAY_MS;
export const USAGE_DAYS = 31;
export const USAGE_MONTHS = 12;

const usageKey = (ext: string, window: 'd' | 'm', name: string, field: string): string => keyOf('usage', ext, window, name, field);

export interface UsageRow {
  calls: number;
  byOutcome: Record<Outcome, number>;
  refused: Record<RefusalCode, number>;
  byKey: Record<string, number>;
}

/** The store counters an event id (`ext \n day \n month \n keyId \n field`) adds to: day and month, calls, outcome and key, or the refusal. */
function* usageKeysOf(id: string): Iterable<readonly [string, number]> {
  const [ext = '', day = '', month = '', keyId = '', field = ''] = id.split('\n');
  const refusal = (REFUSAL_CODES as readonly string[]).includes(field);
  for (const [w, name, ttl] of [
    ['d', day, DAY_TTL_MS],
    ['m', month, MONTH_TTL_MS],
  ] as const) {
    if (refusal) {
      yield [usageKey(ext, w, name, `refused:${field}`), ttl];
      continue;
    }
    yield [usageKey(ext, w, name, 'calls'), ttl];
    yield [usageKey(ext, w, name, field), ttl];
    if (keyId !== '') yield [usageKey(ext, w, name, `key:${keyId}`), ttl];
  }
}

/**
 * Usage counters (calls by day and month, by outcome and by key). Nothing here decides admission,
 * so counts are summed in memory and added to the store once a second (`CountFlusher`): a request
 * costs a map update, not a round trip, and instances sharing a store add up exactly.
 */
export class UsageRecorder {
  readonly #store: Store;
  readonly #counts: CountFlusher;

  constructor(store: Store, log: Logger) {
    this.#store = store;
    this.#counts = new CountFlusher({ store, log, what: 'usage counters', keysOf: usageKeysOf });
  }

  start(): void {
    this.#counts.start();
  }

  stop(): Promise<void> {
    return this.#counts.stop();
  }

  /** An admitted call and how its response went. */
  call(ext: string, keyId: string | undefined, outcome: Outcome, now = Date.now()): void {
    const di = dayInfo(now);
    this.#counts.add(`${ext}\n${di.day}\n${di.month}\n${keyId ?? ''}\n${outcome}`);
  }

  /** A call the gateway refused. */
  refused(ext: string, code: RefusalCode, now = Date.now()): void {
    const di = dayInfo(now);
    this.#counts.add(`${ext}\n${di.day}\n${di.month}\n\n${code}`);
  }

  /** Adds what was counted here to the store (one increment per counter). */
  flush(): Promise<void> {
    return this.#counts.flush();
  }

  /** The usage report of an extension: the last 31 days and 12 months, oldest first. */
  async report(ext: string, keyIds: readonly string[], now = Date.now()): Promise<{ days: Array<UsageRow & { date: string }>; months: Array<UsageRow & { month: string }> }> {
    const fields = ['calls', ...OUTCOMES, ...REFUSAL_CODES.map((c) => `refused:${c}`), ...keyIds.map((k) => `key:${k}`)];
    const days = lastDays(now, USAGE_DAYS);
    const months = lastMonths(now, USAGE_MONTHS);
    const keys: string[] = [];
    for (const d of days) for (const f of fields) keys.push(usageKey(ext, 'd', d, f));
    for (const m of months) for (const f of fields) keys.push(usageKey(ext, 'm', m, f));
    const values = await this.#store.getMany(keys);
    let i = 0;
    const row = (): UsageRow => {
      const got = new Map<string, number>();
      for (const f of fields) {
        const v = values[i++];
        got.set(f, v === null || v === undefined ? 0 : Number(v) || 0);
      }
      const n = (f: string): number => got.get(f) ?? 0;
      const byKey: Record<string, number> = {};
      for (const k of keyIds) if (n(`key:${k}`) > 0) byKey[k] = n(`key:${k}`);
      return {
        calls: n('calls'),
        byOutcome: Object.fromEntries(OUTCOMES.map((o) => [o, n(o)])) as Record<Outcome, number>,
        refused: Object.fromEntries(REFUSAL_CODES.map((c) => [c, n(`refused:${c}`)])) as Record<RefusalCode, number>,
        byKey,
      };
    };
    return {
      days: days.map((date) => ({ date, ...row() })),
      months: months.map((month) => ({ month, ...row() })),
    };
  }
}
