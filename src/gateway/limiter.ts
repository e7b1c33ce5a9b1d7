import { AppError } from '../http/errors.js';
import type { Store } from '../store/store.js';
import { keyOf } from '../store/keys.js';
import type { CounterBatch } from './counterBatch.js';
import { responseClassOf, RESPONSE_CLASSES, type UsagePlan } from './model.js';
import { DAY_MS, dayInfo, secondsUntil } from './windows.js';

/** A plan ready for the request path. */
export interface CompiledPlan {
  readonly rateRps: number | undefined;
  readonly dayQuota: number | undefined;
  readonly monthQuota: number | undefined;
  readonly hasQuota: boolean;
  /** True when every response counts against the quotas (no `quotaCondition`, or all classes). */
  readonly countsEverything: boolean;
  counts(status: number): boolean;
}

export function compilePlan(plan: UsagePlan | null | undefined): CompiledPlan | undefined {
  if (plan === null || plan === undefined) return undefined;
  if (plan.rateRps === undefined && plan.dayQuota === undefined && plan.monthQuota === undefined) return undefined;
  const classes = new Set(plan.quotaCondition ?? RESPONSE_CLASSES);
  const countsEverything = RESPONSE_CLASSES.every((c) => classes.has(c));
  return {
    rateRps: plan.rateRps,
    dayQuota: plan.dayQuota,
    monthQuota: plan.monthQuota,
    hasQuota: plan.dayQuota !== undefined || plan.monthQuota !== undefined,
    countsEverything,
    counts: (status) => {
      const c = responseClassOf(status);
      return c !== undefined && classes.has(c);
    },
  };
}

/** What an admitted call holds: the quota unit it took, to hand back if its response does not count. */
export interface Reservation {
  readonly quotaKey: string | undefined;
}

export const NO_RESERVATION: Reservation = Object.freeze({ quotaKey: undefined });

// Rate windows live a few seconds; day counters long enough to sum a month from them.
const RATE_TTL_MS = 5_000;
const QUOTA_DAY_TTL_MS = 35 * DAY_MS;
/** The sum of the earlier days of the month is re-read this often (late refunds may still change it). */
const PAST_SUM_TTL_MS = 60_000;

export const rateKey = (ext: string, scope: string, second: number): string => keyOf('rateWindow', ext, scope, second);
export const quotaKey = (ext: string, scope: string, day: string): string => keyOf('quotaDay', ext, scope, day);

interface PastSum {
  value: number;
  at: number;
}

/**
 * Admission by usage plan (DESIGN.md section 8), exact across instances sharing the store:
 * - rate: a counter per one-second UTC window; a call is admitted while its position in the
 *   window is ≤ `rateRps`. Calls past the limit are not handed back: they come after every
 *   admitted one of their window, so they cannot take a slot from anyone.
 * - quotas: a counter per UTC day; the month's count is that day's position plus the sum of the
 *   month's earlier days (read once a minute per instance, cached), so a call needs one counter,
 *   not two. A refused call hands its unit back, so the day counters hold exactly the counted calls
 *   and a later month sum is right.
 * Counters are keyed by extension and scope (`x` for the extension's plan, `k:<keyId>` for a
 * key's own plan).
 */
export class Limiter {
  readonly #store: Store;
  readonly #batch: CounterBatch;
  readonly #pastSums = new Map<string, PastSum>();
  readonly #loading = new Map<string, Promise<number>>();

  constructor(store: Store, batch: CounterBatch) {
    this.#store = store;
    this.#batch = batch;
  }

  /** Takes the call's units; throws 429 `rate_limited` / `quota_exceeded` when over a limit. */
  async acquire(ext: string, scope: string, plan: CompiledPlan, now = Date.now()): Promise<Reservation> {
    const di = dayInfo(now);
    const second = Math.floor(now / 1000);
    const rKey = plan.rateRps === undefined ? undefined : rateKey(ext, scope, second);
    const qKey = plan.hasQuota ? quotaKey(ext, scope, di.day) : undefined;
    const [rate, quota, past] = await Promise.allSettled([
      rKey === undefined ? 0 : this.#batch.take(rKey, RATE_TTL_MS),
      qKey === undefined ? 0 : this.#batch.take(qKey, QUOTA_DAY_TTL_MS),
      plan.monthQuota === undefined ? 0 : this.#pastSum(ext, scope, di.earlierDaysOfMonth, di.day, now),
    ]);
    const giveBackQuota = (): void => {
      if (qKey !== undefined && quota.status === 'fulfilled') this.#batch.giveBack(qKey, 1, QUOTA_DAY_TTL_MS);
    };
    if (rate.status === 'rejected' || quota.status === 'rejected' || past.status === 'rejected') {
      giveBackQuota();
      throw firstRejection([rate, quota, past]);
    }

    if (plan.rateRps !== undefined && rate.value > plan.rateRps) {
      giveBackQuota();
      throw limitError('rate_limited', `More than ${plan.rateRps} requests a second: slow down.`, plan.rateRps, 0, secondsUntil((second + 1) * 1000, now));
    }
    if (plan.dayQuota !== undefined && quota.value > plan.dayQuota) {
      giveBackQuota();
      throw limitError('quota_exceeded', `The daily quota of ${plan.dayQuota} calls is used up; it resets at 00:00 UTC.`, plan.dayQuota, 0, secondsUntil(di.nextDayAt, now));
    }
    if (plan.monthQuota !== undefined && past.value + quota.value > plan.monthQuota) {
      giveBackQuota();
      throw limitError('quota_exceeded', `The monthly quota of ${plan.monthQuota} calls is used up; it resets on the 1st at 00:00 UTC.`, plan.monthQuota, 0, secondsUntil(di.nextMonthAt, now));
    }
    return qKey === undefined ? NO_RESERVATION : { quotaKey: qKey };
  }

  /** Hands an admitted call's quota unit back (its response is of a class that does not count). */
  refund(r: Reservation): void {
    if (r.quotaKey !== undefined) this.#batch.giveBack(r.quotaKey, 1, QUOTA_DAY_TTL_MS);
  }

  /** Today's and this month's counted calls of a scope (the usage page; reads the store). */
  async used(ext: string, scope: string, now = Date.now()): Promise<{ day: number; month: number }> {
    const di = dayInfo(now);
    const keys = [...di.earlierDaysOfMonth, di.day].map((d) => quotaKey(ext, scope, d));
    const values = await this.#store.getMany(keys);
    const nums = values.map((v) => (v === null ? 0 : Math.max(0, Number(v) || 0)));
    return { day: nums[nums.length - 1] ?? 0, month: nums.reduce((a, b) => a + b, 0) };
  }

  async #pastSum(ext: string, scope: string, days: readonly string[], today: string, now: number): Promise<number> {
    if (days.length === 0) return 0;
    const id = `${ext}\u0000${scope}\u0000${today}`;
    const hit = this.#pastSums.get(id);
    if (hit !== undefined && now - hit.at < PAST_SUM_TTL_MS) return hit.value;
    let loading = this.#loading.get(id);
    if (loading === undefined) {
      loading = this.#store
        .getMany(days.map((d) => quotaKey(ext, scope, d)))
        .then((values) => {
          const value = values.reduce((sum: number, v) => sum + (v === null ? 0 : Math.max(0, Number(v) || 0)), 0);
          // Bounded: one entry per scope and day; old days are never asked for again.
          if (this.#pastSums.size > 10_000) this.#pastSums.clear();
          this.#pastSums.set(id, { value, at: Date.now() });
          return value;
        })
        .finally(() => this.#loading.delete(id));
      this.#loading.set(id, loading);
    }
    return loading;
  }
}

function firstRejection(results: ReadonlyArray<PromiseSettledResult<unknown>>): unknown {
  for (const r of results) if (r.status === 'rejected') return r.reason;
  return new Error('no rejection');
}

/** 429 with `Retry-After` and the IETF `RateLimit-*` headers (draft-ietf-httpapi-ratelimit-headers). */
export function limitError(code: 'rate_limited' | 'quota_exceeded', message: string, limit: number, remaining: number, resetSeconds: number): AppError {
  return new AppError(code, message, {
    headers: {
      'retry-after': String(resetSeconds),
      'ratelimit-limit': String(limit),
      'ratelimit-remaining': String(remaining),
      'ratelimit-reset': String(resetSeconds),
    },
  });
}
