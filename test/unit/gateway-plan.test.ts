import { compilePlan, Limiter, quotaKey } from '../../src/gateway/limiter.js';
import { CounterBatch } from '../../src/gateway/counterBatch.js';
import { cleanPlan, responseClassOf } from '../../src/gateway/model.js';
import { dayInfo, lastDays, lastMonths, secondsUntil } from '../../src/gateway/windows.js';
import { AppError } from '../../src/http/errors.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

describe('UTC windows', () => {
  test('day, month, the earlier days of the month and the next resets', () => {
    const now = Date.UTC(2026, 1, 3, 23, 59, 59, 500); // 2026-02-03T23:59:59.500Z
    const d = dayInfo(now);
    expect(d).toMatchObject({ day: '2026-02-03', month: '2026-02', dayOfMonth: 3, nextDayAt: Date.UTC(2026, 1, 4), nextMonthAt: Date.UTC(2026, 2, 1) });
    expect(d.earlierDaysOfMonth).toEqual(['2026-02-01', '2026-02-02']);
    expect(dayInfo(now + 600).day).toBe('2026-02-04');
    expect(dayInfo(Date.UTC(2026, 11, 31, 12)).nextMonthAt).toBe(Date.UTC(2027, 0, 1));
    expect(secondsUntil(d.nextDayAt, now)).toBe(1);
    expect(lastDays(Date.UTC(2026, 2, 1, 5), 3)).toEqual(['2026-02-27', '2026-02-28', '2026-03-01']);
    expect(lastMonths(Date.UTC(2026, 1, 15), 3)).toEqual(['2025-12', '2026-01', '2026-02']);
  });
});

describe('usage plans', () => {
  test('compilePlan: quotaCondition decides which statuses count; no limit means no plan', () => {
    expect(compilePlan(null)).toBeUndefined();
    expect(compilePlan({ quotaCondition: ['2xx'] })).toBeUndefined();
    const all = compilePlan({ dayQuota: 5 })!;
    expect(all.countsEverything).toBe(true);
    const ok = compilePlan({ dayQuota: 5, quotaCondition: ['2xx', '3xx'] })!;
    expect(ok.countsEverything).toBe(false);
    expect([200, 302, 404, 500].map((s) => ok.counts(s))).toEqual([true, true, false, false]);
    expect(responseClassOf(101)).toBeUndefined();
    expect(cleanPlan({ dayQuota: 1, quotaCondition: ['5xx', '2xx'] })).toEqual({ dayQuota: 1, quotaCondition: ['2xx', '5xx'] });
  });

  describe('Limiter', () => {
    let t: TestStore;
    beforeEach(async () => {
      t = await openTestStore('sqlite', 'gw-limiter');
    });
    afterEach(async () => {
      await t.cleanup();
    });
    const codeOf = async (p: Promise<unknown>) => {
      try {
        await p;
        return 'admitted';
      } catch (err) {
        return err instanceof AppError ? err.code : String(err);
      }
    };

    test('a day quota admits exactly its number; refused units are handed back; refunds free a unit', async () => {
      const limiter = new Limiter(t.store, new CounterBatch(t.store));
      const plan = compilePlan({ dayQuota: 3 })!;
      const now = Date.UTC(2026, 4, 10, 12);
      const results = await Promise.all(Array.from({ length: 6 }, () => codeOf(limiter.acquire('com.example.a', 'x', plan, now))));
      expect(results.filter((r) => r === 'admitted')).toHaveLength(3);
      expect(results.filter((r) => r === 'quota_exceeded')).toHaveLength(3);
      await new Promise((r) => setTimeout(r, 20));
      expect(await limiter.used('com.example.a', 'x', now)).toEqual({ day: 3, month: 3 });
      limiter.refund({ quotaKey: quotaKey('com.example.a', 'x', '2026-05-10') });
      expect(await codeOf(limiter.acquire('com.example.a', 'x', plan, now))).toBe('admitted');
      expect(await codeOf(limiter.acquire('com.example.a', 'x', plan, now))).toBe('quota_exceeded');
    });

    test('a month quota adds the earlier days of the month, also those counted in the key shape before the hash tag; a new month starts from zero', async () => {
      const limiter = new Limiter(t.store, new CounterBatch(t.store));
      const plan = compilePlan({ monthQuota: 10 })!;
      // The 1st in the current shape, the 9th and April in the old one (gw:quota:<ext>:<scope>:<day>).
      await t.store.increment(quotaKey('com.example.m', 'x', '2026-05-01'), 6);
      await t.store.increment('gw:quota:com.example.m:x:2026-05-09', 3);
      await t.store.increment('gw:quota:com.example.m:x:2026-04-30', 100);
      const may10 = Date.UTC(2026, 4, 10, 8);
      expect(await codeOf(limiter.acquire('com.example.m', 'x', plan, may10))).toBe('admitted');
      const err = await limiter.acquire('com.example.m', 'x', plan, may10).catch((e: unknown) => e as AppError);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('quota_exceeded');
      expect((err as AppError).headers?.['ratelimit-limit']).toBe('10');
      expect((err as AppError).headers?.['retry-after']).toBe(String((Date.UTC(2026, 5, 1) - may10) / 1000));
      expect(await codeOf(limiter.acquire('com.example.m', 'x', plan, Date.UTC(2026, 5, 1, 0, 0, 1)))).toBe('admitted');
    });

    test("a day quota counts today's calls in the old key shape too (an upgrade during the day)", async () => {
      const limiter = new Limiter(t.store, new CounterBatch(t.store));
      const plan = compilePlan({ dayQuota: 3 })!;
      await t.store.increment('gw:quota:com.example.d:x:2026-05-10', 2);
      const now = Date.UTC(2026, 4, 10, 12);
      const results = await Promise.all(Array.from({ length: 3 }, () => codeOf(limiter.acquire('com.example.d', 'x', plan, now))));
      expect(results.sort()).toEqual(['admitted', 'quota_exceeded', 'quota_exceeded']);
      await new Promise((r) => setTimeout(r, 20));
      expect(await limiter.used('com.example.d', 'x', now)).toEqual({ day: 3, month: 3 });
    });

    test('rate: rateRps calls a one-second window, then 429 rate_limited with Retry-After 1', async () => {
      const limiter = new Limiter(t.store, new CounterBatch(t.store));
      const plan = compilePlan({ rateRps: 2, dayQuota: 100 })!;
      const at = Date.UTC(2026, 4, 10, 8, 0, 0, 100);
      const codes = await Promise.all(Array.from({ length: 4 }, () => codeOf(limiter.acquire('com.example.r', 'x', plan, at))));
      expect(codes.sort()).toEqual(['admitted', 'admitted', 'rate_limited', 'rate_limited']);
      expect(await codeOf(limiter.acquire('com.example.r', 'x', plan, at + 1000))).toBe('admitted');
      // Rate-limited calls took no quota.
      await new Promise((r) => setTimeout(r, 20));
      expect((await limiter.used('com.example.r', 'x', at)).day).toBe(3);
    });
  });
});
