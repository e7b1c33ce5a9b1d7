import { CounterBatch } from '../../src/gateway/counterBatch.js';
import type { Store } from '../../src/store/store.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

/** A store whose increments are counted (and can be made to fail), over a real SQLite store. */
function counting(inner: Store) {
  const calls: Array<{ key: string; by: number }> = [];
  let failNext = false;
  const store = Object.create(inner) as Store;
  store.increment = async (key, by = 1, ttlMs) => {
    calls.push({ key, by });
    // A round trip: later takes pile up behind this one.
    await new Promise((r) => setTimeout(r, 2));
    if (failNext) {
      failNext = false;
      throw new Error('store down');
    }
    return inner.increment(key, by, ttlMs);
  };
  return { store, calls, failOnce: () => (failNext = true) };
}

describe('CounterBatch: exact positions with fewer round trips', () => {
  let t: TestStore;
  beforeEach(async () => {
    t = await openTestStore('sqlite', 'gw-batch');
  });
  afterEach(async () => {
    await t.cleanup();
  });

  test('1,000 concurrent takes get the positions 1…1000, each once, in far fewer increments', async () => {
    const c = counting(t.store);
    const batch = new CounterBatch(c.store);
    const positions = await Promise.all(Array.from({ length: 1000 }, () => batch.take('k', 60_000)));
    expect([...positions].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(await t.store.get('k')).toBe('1000');
    expect(c.calls.length).toBeLessThan(20);
    expect(await t.store.ttl('k')).toBeGreaterThan(50_000);
  });

  test('takes arriving while an increment is in flight go in the next one; positions follow arrival order', async () => {
    const c = counting(t.store);
    const batch = new CounterBatch(c.store);
    const first = batch.take('k', 0);
    await new Promise((r) => setImmediate(r)); // the first increment is now in flight
    const later = [batch.take('k', 0), batch.take('k', 0), batch.take('k', 0)];
    expect(await first).toBe(1);
    expect(await Promise.all(later)).toEqual([2, 3, 4]);
    expect(c.calls.map((x) => x.by)).toEqual([1, 3]);
  });

  test('given-back units are subtracted before the next takes: a refused unit is free again', async () => {
    const batch = new CounterBatch(t.store);
    expect(await Promise.all([batch.take('q', 0), batch.take('q', 0), batch.take('q', 0)])).toEqual([1, 2, 3]);
    batch.giveBack('q');
    batch.giveBack('q');
    expect(await batch.take('q', 0)).toBe(2);
    batch.giveBack('q', 2);
    await batch.drain();
    expect(await t.store.get('q')).toBe('0');
  });

  test('a failed increment rejects its takes; the next ones go on', async () => {
    const c = counting(t.store);
    const batch = new CounterBatch(c.store);
    c.failOnce();
    await expect(Promise.all([batch.take('f', 0), batch.take('f', 0)])).rejects.toThrow('store down');
    expect(await batch.take('f', 0)).toBe(1);
  });

  test('separate keys are separate counters', async () => {
    const batch = new CounterBatch(t.store);
    const [a, b] = await Promise.all([batch.take('a', 0), batch.take('b', 0)]);
    expect([a, b]).toEqual([1, 1]);
  });
});
