/**
 * UTC windows of the usage plan and the usage counters: seconds (rate), days and calendar months
 * (quotas, usage). Day and month names are computed once per day and reused, since every counted
 * request needs them.
 */
export const DAY_MS = 86_400_000;

export interface DayInfo {
  /** `YYYY-MM-DD` (UTC). */
  readonly day: string;
  /** `YYYY-MM` (UTC). */
  readonly month: string;
  /** 1-based day of the month. */
  readonly dayOfMonth: number;
  /** Epoch ms of the start of the next day and of the next month (UTC). */
  readonly nextDayAt: number;
  readonly nextMonthAt: number;
  /** The days of this month before this one, `YYYY-MM-DD`. */
  readonly earlierDaysOfMonth: readonly string[];
}

let cached: DayInfo | undefined;
let cachedFrom = 0;

export function dayInfo(now: number): DayInfo {
  if (cached !== undefined && now >= cachedFrom && now < cached.nextDayAt) return cached;
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const dom = d.getUTCDate();
  const month = `${y}-${pad(m + 1)}`;
  const earlier: string[] = [];
  for (let i = 1; i < dom; i++) earlier.push(`${month}-${pad(i)}`);
  const info: DayInfo = {
    day: `${month}-${pad(dom)}`,
    month,
    dayOfMonth: dom,
    nextDayAt: Date.UTC(y, m, dom + 1),
    nextMonthAt: Date.UTC(y, m + 1, 1),
    earlierDaysOfMonth: earlier,
  };
  cached = info;
  cachedFrom = Date.UTC(y, m, dom);
  return info;
}

/** The last `n` days up to and including today's, oldest first. */
export function lastDays(now: number, n: number): string[] {
  const out: string[] = [];
  for (let i = n - 1; i >= 0; i--) out.push(new Date(now - i * DAY_MS).toISOString().slice(0, 10));
  return out;
}

/** The last `n` calendar months up to and including this one, oldest first. */
export function lastMonths(now: number, n: number): string[] {
  const d = new Date(now);
  const out: string[] = [];
  for (let i = n - 1; i >= 0; i--) {
    const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - i, 1));
    out.push(`${m.getUTCFullYear()}-${pad(m.getUTCMonth() + 1)}`);
  }
  return out;
}

/** Whole seconds until `at`, at least 1 (the unit of `Retry-After` and `RateLimit-Reset`). */
export function secondsUntil(at: number, now: number): number {
  return Math.max(1, Math.ceil((at - now) / 1000));
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
