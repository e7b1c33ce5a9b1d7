import { AppError } from '../http/errors.js';
import type { Store } from '../store/store.js';
import { KEY_FAMILIES, keyOf } from '../store/keys.js';
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
/**
 * A scope's day counter: `gw:quota:{<ext>:<scope>}:<day>`. The hash tag puts every day of a scope
 * in one Redis Cluster slot, so the month's days are read with one MGET on one node. (Extension
 * IDs and scopes hold no braces.)
 */
export const quotaKey = (ext: string, scope: string, day: string): string => keyOf('quotaDay', `{${ext}:${scope}}`, day);
/**
 * The day counters' shape before the hash tag (`gw:quota:<ext>:<scope>:<day>`, 0.1.0). Still read,
 * and added to the new counters, so an upgrade in the middle of a month keeps the month's count;
 * they expire within 35 days, after which reading them can go (CHANGELOG).
 */
export const legacyQuotaKey = (ext: string, scope: string, day: string): string => keyOf('quotaDay', ext, scope, day);
/** The prefixes of every day counter of an extension, both shapes (deleting an extension). */
export const quotaPrefixes = (ext: string): string[] => [`${KEY_FAMILIES.quotaDay.prefix}{${ext}:`, `${KEY_FAMILIES.quotaDay.prefix}${ext}:`];

/** What the counters hold besides today's (new-shape) one: the month's earlier days, and today in the legacy shape. */
interface PastSum {
  /** The earlier days of the month, both shapes, plus today's legacy counter. */
  month: number;
  /** Today's legacy counter alone. */
  today: number;
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
 * key's own plan). Windows come from the store's clock (`now`, a StoreClock's), not this
 * instance's: instances with clocks apart still share each window.
 */
export class Limiter {
  readonly #store: Store;
  readonly #batch: CounterBatch;
  readonly #pastSums = new Map<string, PastSum>();
  readonly #loading = new Map<string, Promise<PastSum>>();
  readonly #now: () => number;

  /** `now`: the store's clock (StoreClock.now); the local one by default. */
  constructor(store: Store, batch: CounterBatch, now: () => number = Date.now) {
    this.#store = store;
    this.#batch = batch;
    this.#now = now;
  }

  /** Takes the call's units; throws 429 `rate_limited` / `quota_exceeded` when over a limit. */
  async acquire(ext: string, scope: string, plan: CompiledPlan, now = this.#now()): Promise<Reservation> {
    const di = dayInfo(now);
    const second = Math.floor(now / 1000);
    const rKey = plan.rateRps === undefined ? undefined : rateKey(ext, scope, second);
    const qKey = plan.hasQuota ? quotaKey(ext, scope, di.day) : undefined;
    const [rate, quota, past] = await Promise.allSettled([
      rKey === undefined ? 0 : this.#batch.take(rKey, RATE_TTL_MS),
      qKey === undefined ? 0 : this.#batch.take(qKey, QUOTA_DAY_TTL_MS),
      plan.hasQuota ? this.#pastSum(ext, scope, di.earlierDaysOfMonth, di.day, now) : NO_PAST,
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
    if (plan.dayQuota !== undefined && past.value.today + quota.value > plan.dayQuota) {
      giveBackQuota();
      throw limitError('quota_exceeded', `The daily quota of ${plan.dayQuota} calls is used up; it resets at 00:00 UTC.`, plan.dayQuota, 0, secondsUntil(di.nextDayAt, now));
    }
    if (plan.monthQuota !== undefined && past.value.month + quota.value > plan.monthQuota) {
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
  async used(ext: string, scope: string, now = this.#now()): Promise<{ day: number; month: number }> {
    const di = dayInfo(now);
    const days = [...di.earlierDaysOfMonth, di.day];
    // New shape (one slot: one MGET on a cluster), then the legacy one.
    const values = await this.#store.getMany([...days.map((d) => quotaKey(ext, scope, d)), ...days.map((d) => legacyQuotaKey(ext, scope, d))]);
    const nums = values.map(countOf);
    const n = days.length;
    return { day: (nums[n - 1] ?? 0) + (nums[2 * n - 1] ?? 0), month: nums.reduce((a, b) => a + b, 0) };
  }

  async #pastSum(ext: string, scope: string, days: readonly string[], today: string, now: number): Promise<PastSum> {
    const id = `${ext}\u0000${scope}\u0000${today}`;
    const hit = this.#pastSums.get(id);
    if (hit !== undefined && now - hit.at < PAST_SUM_TTL_MS) return hit;
    let loading = this.#loading.get(id);
    if (loading === undefined) {
      const legacy = [...days, today].map((d) => legacyQuotaKey(ext, scope, d));
      loading = this.#store
        .getMany([...days.map((d) => quotaKey(ext, scope, d)), ...legacy])
        .then((values) => {
          const nums = values.map(countOf);
          const value: PastSum = { month: nums.reduce((a, b) => a + b, 0), today: nums[nums.length - 1] ?? 0, at: now };
          // Bounded: one entry per scope and day; old days are never asked for again.
          if (this.#pastSums.size > 10_000) this.#pastSums.clear();
          this.#pastSums.set(id, value);
          return value;
        })
        .finally(() => this.#loading.delete(id));
      this.#loading.set(id, loading);
    }
    return loading;
  }
}

const NO_PAST: PastSum = Object.freeze({ month: 0, today: 0, at: 0 });

function countOf(v: string | null): number {
  return v === null ? 0 : Math.max(0, Number(v) || 0);
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
