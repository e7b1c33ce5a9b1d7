import { FailureLimiter } from '../../src/security/failureLimiter.js';
import { openTestStore, storeKinds, type TestStore } from '../helpers/stores.js';

describe.each(storeKinds)('FailureLimiter (%s)', (kind) => {
  let t: TestStore;
  let limiter: FailureLimiter;
  beforeEach(async () => {
    t = await openTestStore(kind, 'failure-limiter');
    limiter = new FailureLimiter(t.store, { family: 'test:fail', maxFailures: 3, windowMs: 60_000 });
  });
  afterEach(async () => {
    await t.cleanup();
  });

  test('exactly maxFailures parallel tries are let through; the rest are refused with the time left', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, () => limiter.attempt('1.2.3.4')));
    const allowed = results.filter((r) => r.allowed);
    expect(allowed).toHaveLength(3);
    expect(allowed.filter((r) => r.allowed && r.attempt.lockedNow)).toHaveLength(1);
    for (const r of results) if (!r.allowed) expect(r.retryAfterMs).toBeGreaterThan(0);
    expect(await limiter.lockedFor('1.2.3.4')).toBeGreaterThan(0);
    // Refused tries do not count: the counter stays at the limit.
    expect(await t.store.list('test:fail:')).toEqual([expect.objectContaining({ value: '3' })]);
  });

  test('successful tries do not count, other clients are not affected', async () => {
    for (let i = 0; i < 10; i++) {
      const r = await limiter.attempt('a');
      expect(r.allowed).toBe(true);
      if (r.allowed) await r.attempt.succeeded();
    }
    expect(await limiter.lockedFor('a')).toBe(0);
    for (let i = 0; i < 3; i++) await limiter.attempt('b');
    expect((await limiter.attempt('b')).allowed).toBe(false);
    expect((await limiter.attempt('c')).allowed).toBe(true);
  });

  test('reset and resetAll unlock', async () => {
    for (let i = 0; i < 3; i++) await limiter.attempt('a');
    for (let i = 0; i < 3; i++) await limiter.attempt('b');
    await limiter.reset('a');
    expect((await limiter.attempt('a')).allowed).toBe(true);
    expect(await limiter.resetAll()).toBe(2);
    expect(await limiter.lockedFor('b')).toBe(0);
    // The store holds hashes, never the address.
    expect((await t.store.list('test:fail:')).length).toBe(0);
  });

  test('refuses a limit that is not a positive integer', () => {
    expect(() => new FailureLimiter(t.store, { family: 'x', maxFailures: 0, windowMs: 1 })).toThrow(RangeError);
  });
});
