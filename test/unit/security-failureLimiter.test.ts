import { FailureLimiter } from '../../src/security/failureLimiter.js';
import { openTestStore, storeKinds, type TestStore } from '../helpers/stores.js';

describe.each(storeKinds)('FailureLimiter (%s)', (kind) => {
  let t: TestStore;
  let limiter: FailureLimiter;
  beforeEach(async () => {
    t = await openTestStore(kind, 'failure-limiter');
    limiter = new FailureLimiter(t.store, { family: 'pairingFailures', scope: 'test', maxFailures: 3, windowMs: 60_000 });
  });
  afterEach(async () => {
    await t.cleanup();
  });

  /** One guess: take a try, then fail it. True when it was let through (compared). */
  const guess = async (client: string): Promise<boolean> => {
    const r = await limiter.attempt(client);
    if (!r.allowed) return false;
    await r.attempt.failed();
    return true;
  };

  test('of 50 parallel wrong tries exactly maxFailures are let through; the rest are refused with the time left', async () => {
    const compared = await Promise.all(Array.from({ length: 50 }, () => guess('1.2.3.4')));
    expect(compared.filter(Boolean)).toHaveLength(3);
    expect(await limiter.lockedFor('1.2.3.4')).toBeGreaterThan(0);
    const refused = await limiter.attempt('1.2.3.4');
    expect(refused.allowed).toBe(false);
    if (!refused.allowed) expect(refused.retryAfterMs).toBeGreaterThan(0);
  });

  test('the failure that reaches the limit says so', async () => {
    const results: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await limiter.attempt('x');
      if (r.allowed) results.push(await r.attempt.failed());
    }
    expect(results).toEqual([false, false, true]);
  });

  test('right tries that arrive together all get through (they wait for a slot, they are not refused)', async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const r = await limiter.attempt('script');
        if (r.allowed) await r.attempt.succeeded();
        return r.allowed;
      }),
    );
    expect(results.every(Boolean)).toBe(true);
    expect(await limiter.lockedFor('script')).toBe(0);
  });

  test('successful tries do not count, other clients are not affected', async () => {
    for (let i = 0; i < 10; i++) {
      const r = await limiter.attempt('a');
      expect(r.allowed).toBe(true);
      if (r.allowed) await r.attempt.succeeded();
    }
    expect(await limiter.lockedFor('a')).toBe(0);
    for (let i = 0; i < 3; i++) await guess('b');
    expect((await limiter.attempt('b')).allowed).toBe(false);
    expect((await limiter.attempt('c')).allowed).toBe(true);
  });

  test('reset and resetAll unlock', async () => {
    for (let i = 0; i < 3; i++) await guess('a');
    for (let i = 0; i < 3; i++) await guess('b');
    expect(await limiter.reset('a')).toBe(true);
    expect((await limiter.attempt('a')).allowed).toBe(true);
    expect(await limiter.resetAll()).toBe(2);
    expect(await limiter.lockedFor('b')).toBe(0);
    // The store holds hashes, never the address.
    expect((await t.store.list('pair:fail:test:')).length).toBe(0);
  });

  test('refuses a limit that is not a positive integer', () => {
    expect(() => new FailureLimiter(t.store, { family: 'pairingFailures', maxFailures: 0, windowMs: 1 })).toThrow(RangeError);
  });
});
