import { deliveryKey, DeliveryQueue, RETRY_WINDOW_MS } from '../../src/webhooks/queue.js';
import { keyOf } from '../../src/store/keys.js';
import { openTestStore, storeKinds, type TestStore } from '../helpers/stores.js';

/**
 * The delivery queue on each real store: the due index in time order, one claim per try across
 * instances, exponential backoff, giving up after the retry window, stale index entries dropped.
 */
describe.each(storeKinds)('DeliveryQueue on %s', (kind) => {
  let shared: TestStore;
  let queue: DeliveryQueue;
  const EXT = 'com.example.queue';

  beforeAll(async () => {
    shared = await openTestStore(kind, 'webhook-queue');
    queue = new DeliveryQueue({ store: shared.store, firstRetrySeconds: 10 });
  });
  afterAll(async () => {
    await shared.cleanup();
  });

  test('a due try is claimed by one owner only; failures back off exponentially; success ends it', async () => {
    const d = await queue.enqueue(EXT, 'wh_aaaaaaaaaaaaaaaa', 'ping', '{"type":"ping"}');
    expect(d.id).toMatch(/^msg_[A-Za-z0-9_-]{24}$/);
    const [entry] = (await queue.due(Date.now(), 10)).entries;
    expect(entry?.deliveryKey).toBe(deliveryKey(EXT, 'wh_aaaaaaaaaaaaaaaa', d.id));
    expect(await queue.claim(entry!, 'instance-a')).toBe(true);
    expect(await queue.claim(entry!, 'instance-b')).toBe(false);

    const delays: number[] = [];
    let current = entry!;
    let now = Date.now();
    for (let i = 0; i < 3; i++) {
      const opened = await queue.open(current);
      const after = await queue.finish(current, opened!, { ok: false, statusCode: 503, error: 'HTTP 503' }, now);
      expect(after).toMatchObject({ status: 'pending', tries: i + 1, lastStatusCode: 503, lastError: 'HTTP 503' });
      const next = Date.parse(after.nextTryAt!);
      delays.push(next - now);
      // Not due before its time; due at it.
      expect((await queue.due(next - 1, 10)).entries.map((e) => e.deliveryKey)).not.toContain(current.deliveryKey);
      const due = (await queue.due(next, 10)).entries.filter((e) => e.deliveryKey === current.deliveryKey);
      expect(due).toHaveLength(1);
      current = due[0]!;
      now = next;
    }
    // 10 s, 20 s, 40 s, each ±10 %.
    expect(delays[0]).toBeGreaterThanOrEqual(9_000);
    expect(delays[0]).toBeLessThanOrEqual(11_000);
    expect(delays[1]).toBeGreaterThanOrEqual(18_000);
    expect(delays[1]).toBeLessThanOrEqual(22_000);
    expect(delays[2]).toBeGreaterThanOrEqual(36_000);
    expect(delays[2]).toBeLessThanOrEqual(44_000);

    const opened = await queue.open(current);
    const done = await queue.finish(current, opened!, { ok: true, statusCode: 200 }, now);
    expect(done).toMatchObject({ status: 'delivered', tries: 4, nextTryAt: null, due: null, lastError: null });
    expect((await queue.due(now + RETRY_WINDOW_MS, 10)).entries.filter((e) => e.deliveryKey === current.deliveryKey)).toEqual([]);
  });

  test('after the retry window a failure is final; an endpoint that is gone fails at once; a stale index entry is dropped', async () => {
    const d = await queue.enqueue(EXT, 'wh_bbbbbbbbbbbbbbbb', 'link.created', '{}');
    const entry = (await queue.due(Date.now(), 100)).entries.find((e) => e.deliveryKey.endsWith(d.id))!;
    const opened = await queue.open(entry);
    const late = Date.parse(d.retryUntil) - 1_000;
    expect(await queue.finish(entry, opened!, { ok: false, statusCode: null, error: 'ECONNREFUSED' }, late)).toMatchObject({ status: 'failed', tries: 1, nextTryAt: null });

    const g = await queue.enqueue(EXT, 'wh_bbbbbbbbbbbbbbbb', 'link.created', '{}');
    const gEntry = (await queue.due(Date.now(), 100)).entries.find((e) => e.deliveryKey.endsWith(g.id))!;
    expect(await queue.finish(gEntry, (await queue.open(gEntry))!, { ok: false, statusCode: null, error: 'endpoint deleted', final: true })).toMatchObject({ status: 'failed' });

    // An index entry its record does not name (left by a crash between writes) is dropped when opened.
    const s = await queue.enqueue(EXT, 'wh_bbbbbbbbbbbbbbbb', 'ping', '{}');
    const stale = { dueKey: keyOf('webhookDue', '000000000000001', s.id), deliveryKey: deliveryKey(EXT, 'wh_bbbbbbbbbbbbbbbb', s.id), at: 1 };
    await shared.store.set(stale.dueKey, stale.deliveryKey);
    expect(await queue.open(stale)).toBeUndefined();
    expect(await shared.store.get(stale.dueKey)).toBeNull();

    await queue.drop(EXT);
    expect(await queue.listPage(EXT, 'wh_bbbbbbbbbbbbbbbb', { limit: 10 })).toEqual({ deliveries: [], next: undefined });
    expect((await queue.due(Date.now(), 100)).entries.filter((e) => e.deliveryKey.includes(EXT))).toEqual([]);
  });

  test('the deliveries of an endpoint page newest first, a page at a time (no read of the whole prefix)', async () => {
    const WH = 'wh_cccccccccccccccc';
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await queue.enqueue(EXT, WH, 'ping', `{"n":${i}}`)).id);
      // Ids carry the millisecond: one apart, so the order is the order of creation.
      await new Promise((r) => setTimeout(r, 2));
    }
    await queue.enqueue(EXT, 'wh_dddddddddddddddd', 'ping', '{}');
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await queue.listPage(EXT, WH, { after, limit: 2 });
      expect(page.deliveries.length).toBeLessThanOrEqual(2);
      seen.push(...page.deliveries.map((d) => d.id));
      after = page.next;
      pages++;
    } while (after !== undefined);
    expect(seen).toEqual([...ids].reverse());
    expect(pages).toBe(3);
    expect(await queue.get(EXT, WH, ids[2]!)).toMatchObject({ id: ids[2], body: '{"n":2}' });
    await queue.drop(EXT);
  });
});
