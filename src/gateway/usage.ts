import type { Logger } from '../http/logger.js';
import type { Store } from '../store/store.js';
import { mayHaveApplied } from '../store/unavailable.js';
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

const FLUSH_MS = 1_000;
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

/**
 * Usage counters (calls by day and month, by outcome and by key). Nothing here decides admission,
 * so counts are summed in memory and added to the store once a second (and on stop) with atomic
 * increments: a request costs a map update, not a round trip, and instances sharing a store add
 * up exactly. A crash loses at most the last second of counts.
 */
export class UsageRecorder {
  readonly #store: Store;
  readonly #log: Logger;
  // `ext \n day \n month \n keyId \n field` → count; one map update per call.
  #pending = new Map<string, number>();
  /** Store counters whose last flush failed: added again with the next one. */
  #retry = new Map<string, { n: number; ttl: number }>();
  #lastWarning = 0;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;

  constructor(store: Store, log: Logger) {
    this.#store = store;
    this.#log = log;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.flush(), FLUSH_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  /** An admitted call and how its response went. */
  call(ext: string, keyId: string | undefined, outcome: Outcome, now = Date.now()): void {
    const di = dayInfo(now);
    this.#add(`${ext}\n${di.day}\n${di.month}\n${keyId ?? ''}\n${outcome}`);
  }

  /** A call the gateway refused. */
  refused(ext: string, code: RefusalCode, now = Date.now()): void {
    const di = dayInfo(now);
    this.#add(`${ext}\n${di.day}\n${di.month}\n\n${code}`);
  }

  #add(id: string): void {
    this.#pending.set(id, (this.#pending.get(id) ?? 0) + 1);
  }

  /** Adds what was counted here to the store (one increment per counter). */
  async flush(): Promise<void> {
    // One flush at a time: a slow store must not get overlapping flushes of the same counts.
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
    const add = (key: string, n: number, ttl: number): void => {
      const s = sums.get(key);
      if (s === undefined) sums.set(key, { n, ttl });
      else s.n += n;
    };
    for (const [id, n] of batch) {
      const [ext = '', day = '', month = '', keyId = '', field = ''] = id.split('\n');
      const refusal = (REFUSAL_CODES as readonly string[]).includes(field);
      for (const [w, name, ttl] of [
        ['d', day, DAY_TTL_MS],
        ['m', month, MONTH_TTL_MS],
      ] as const) {
        if (refusal) {
          add(usageKey(ext, w, name, `refused:${field}`), n, ttl);
          continue;
        }
        add(usageKey(ext, w, name, 'calls'), n, ttl);
        add(usageKey(ext, w, name, field), n, ttl);
        if (keyId !== '') add(usageKey(ext, w, name, `key:${keyId}`), n, ttl);
      }
    }
    let failures = 0;
    let uncertain = 0;
    let lastErr: unknown;
    await Promise.all(
      [...sums].map(async ([key, { n, ttl }]) => {
        try {
          await this.#store.increment(key, n, ttl);
        } catch (err) {
          failures++;
          lastErr = err;
          // Sent but unanswered: it may land when the store resumes; sent again it could count twice.
          if (mayHaveApplied(err)) {
            uncertain += n;
            return;
          }
          const again = this.#retry.get(key);
          if (again === undefined) this.#retry.set(key, { n, ttl });
          else again.n += n;
        }
      }),
    );
    if (uncertain > 0) {
      this.#log.warn(
        { error: lastErr instanceof Error ? lastErr.message : String(lastErr), counts: uncertain },
        'usage counts sent to a store that did not answer: not sent again (they land if the store ran them; never counted twice)',
      );
    }
    if (failures > 0) {
      // Once a second while the store is down: one short line a minute, without the stack.
      const now = Date.now();
      if (now - this.#lastWarning >= 60_000) {
        this.#lastWarning = now;
        this.#log.warn({ error: lastErr instanceof Error ? lastErr.message : String(lastErr), failures }, 'usage counters could not be flushed; kept, retrying with the next flush');
      }
    }
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
