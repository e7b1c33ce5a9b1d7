import { CounterBatch } from '../../src/gateway/counterBatch.js';
import { compilePlan, Limiter } from '../../src/gateway/limiter.js';
import { AppError } from '../../src/http/errors.js';
import { StoreClock } from '../../src/store/storeClock.js';
import { exactStoreKinds, openTestStore, type TestStore } from '../helpers/stores.js';

/**
 * Issue 15: two instances whose own clocks are seconds apart share one store. Their rate windows
 * come from the store's clock (StoreClock: an offset sampled from Store.time()), so together they
 * admit exactly `rateRps` in a window; from their own clocks they would count in different
 * windows and admit twice as many.
 */
describe.each(exactStoreKinds)('rate windows from the store clock, two instances with skewed clocks, on %s', (kind) => {
  let shared: TestStore;
  beforeAll(async () => {
    shared = await openTestStore(kind, 'gw-clock');
  });
  afterAll(async () => {
    await shared.cleanup();
  });

  const SKEW_A = 2_500;
  const SKEW_B = -1_700;
  const localA = (): number => Date.now() + SKEW_A;
  const localB = (): number => Date.now() + SKEW_B;
  const plan = compilePlan({ rateRps: 5 })!;

  const admitted = async (limiter: Limiter, ext: string, n: number): Promise<number> => {
    const results = await Promise.all(
      Array.from({ length: n }, () =>
        limiter.acquire(ext, 'x', plan).then(
          () => true,
          (err: unknown) => {
            if (err instanceof AppError && err.code === 'rate_limited') return false;
            throw err;
          },
        ),
      ),
    );
    return results.filter(Boolean).length;
  };

  /** Waits until `now()` is early in a second, so that a burst started at once stays in its window. */
  const earlyInSecond = async (now: () => number): Promise<void> => {
    while (now() % 1000 > 300) await new Promise((r) => setTimeout(r, 1000 - (now() % 1000) + 5));
  };

  test('both instances read the same store time; together they admit exactly rateRps a window', async () => {
    const clockA = new StoreClock(shared.store, { local: localA });
    const clockB = new StoreClock(shared.store, { local: localB });
    await Promise.all([clockA.start(), clockB.start()]);
    try {
      // The offsets undo the skews (to within the sampling's round trip; 1 s is the window's size).
      expect(Math.abs(clockA.now() - clockB.now())).toBeLessThan(1_000);
      expect(Math.abs(clockA.offsetMs + SKEW_A)).toBeLessThan(1_000);
      const a = new Limiter(shared.store, new CounterBatch(shared.store), () => clockA.now());
      const b = new Limiter(shared.store, new CounterBatch(shared.store), () => clockB.now());
      await earlyInSecond(() => clockA.now());
      const [fromA, fromB] = await Promise.all([admitted(a, 'com.example.clock', 8), admitted(b, 'com.example.clock', 8)]);
      expect(fromA + fromB).toBe(5);
    } finally {
      clockA.stop();
      clockB.stop();
    }
  });

  test('control: from their own skewed clocks the two instances count in different windows and admit twice rateRps', async () => {
    const a = new Limiter(shared.store, new CounterBatch(shared.store), localA);
    const b = new Limiter(shared.store, new CounterBatch(shared.store), localB);
    const [fromA, fromB] = await Promise.all([admitted(a, 'com.example.skewed', 8), admitted(b, 'com.example.skewed', 8)]);
    expect(fromA + fromB).toBe(10);
  });
});
