import { createLogger } from '../../src/http/logger.js';
import type { LinkEvent } from '../../src/linking/events.js';
import { HISTORY_LIMIT, LinkStates, UNLINKED_TTL_MS } from '../../src/linking/linkStates.js';
import { openTestStore, storeKinds, type TestStore } from '../helpers/stores.js';

/** The state recorder on real stores: concurrent writers all land, the history is capped, an unlink's lifetime comes and goes. */
describe.each(storeKinds)('link states on %s', (kind) => {
  let t: TestStore;
  const passed: LinkEvent[] = [];
  let states: LinkStates;
  beforeAll(async () => {
    t = await openTestStore(kind, 'link-states');
    states = new LinkStates({ store: t.store, log: createLogger('silent'), next: { emit: async (e) => void passed.push(e) } });
  });
  afterAll(async () => {
    await t.cleanup();
  });

  test('concurrent changes of one link (two instances) all land in its history, capped at the limit', async () => {
    const other = new LinkStates({ store: t.store, log: createLogger('silent'), next: { emit: async () => undefined } });
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? states : other).emit({ type: i % 3 === 0 ? 'link.broken' : 'link.recovered', extensionId: 'com.x.y', userId: 'u1', reason: `r${i}` })),
    );
    expect((await states.link('com.x.y', 'u1'))?.history).toHaveLength(30);
    for (let i = 0; i < HISTORY_LIMIT; i++) await states.emit({ type: 'link.created', extensionId: 'com.x.y', userId: 'u1' });
    const r = await states.link('com.x.y', 'u1');
    expect(r?.history).toHaveLength(HISTORY_LIMIT);
    expect(r).toMatchObject({ state: 'linked', reason: null });
  });

  test('an unlink keeps the history for 90 days; linking again makes it live for good', async () => {
    await states.emit({ type: 'link.created', extensionId: 'com.x.y', userId: 'u2' });
    expect(await t.store.ttl('link:history:com.x.y:u2')).toBeNull();
    await states.emit({ type: 'link.unlinked', extensionId: 'com.x.y', userId: 'u2', reason: 'user' });
    const ttl = await t.store.ttl('link:history:com.x.y:u2');
    expect(ttl).toBeGreaterThan(UNLINKED_TTL_MS - 60_000);
    expect((await states.unlinked('com.x.y', 10)).map((u) => u.userId)).toEqual(['u2']);
    await states.emit({ type: 'link.created', extensionId: 'com.x.y', userId: 'u2' });
    expect(await t.store.ttl('link:history:com.x.y:u2')).toBeNull();
    expect((await states.link('com.x.y', 'u2'))?.history.map((h) => h.cause)).toEqual(['linked', 'unlinked by user', 'linked']);
  });

  test('recently unlinked: newest first from the unlinked set (not every history), without users who linked again; cleared with the extension', async () => {
    const ext = 'com.x.unlinked';
    for (const u of ['a', 'b', 'c', 'd']) {
      await states.emit({ type: 'link.created', extensionId: ext, userId: u });
      await states.emit({ type: 'link.unlinked', extensionId: ext, userId: u, reason: 'user' });
      await new Promise((r) => setTimeout(r, 5)); // distinct unlink times
    }
    await states.emit({ type: 'link.created', extensionId: ext, userId: 'c' });
    expect((await states.unlinked(ext, 10)).map((u) => u.userId)).toEqual(['d', 'b', 'a']);
    expect((await states.unlinked(ext, 2)).map((u) => u.userId)).toEqual(['d', 'b']);
    // A history gone without its entry (expired): the entry is dropped when met.
    await t.store.delete(`link:history:${ext}:b`);
    expect((await states.unlinked(ext, 10)).map((u) => u.userId)).toEqual(['d', 'a']);
    expect((await t.store.setPage(`idx:unlinked:${ext}`, { limit: 10 })).members.map((m) => m.split(':')[1])).toEqual(['d', 'a']);
    // Unlinked again: one entry, at the new time, first.
    await states.emit({ type: 'link.unlinked', extensionId: ext, userId: 'c', reason: 'admin' });
    expect((await states.unlinked(ext, 10)).map((u) => u.userId)).toEqual(['c', 'd', 'a']);
    await states.extensionDeleted(ext);
    expect(await states.unlinked(ext, 10)).toEqual([]);
    expect((await t.store.setPage(`idx:unlinked:${ext}`, { limit: 10 })).members).toEqual([]);
  });

  test('provider.down from several instances at once is passed on once; provider.up likewise; linking.* always', async () => {
    passed.length = 0;
    const others = Array.from({ length: 4 }, () => new LinkStates({ store: t.store, log: createLogger('silent'), next: { emit: async (e) => void passed.push(e) } }));
    await Promise.all([states, ...others].map((s) => s.emit({ type: 'provider.down', extensionId: 'com.x.z', reason: 'HTTP 503' })));
    await Promise.all([states, ...others].map((s) => s.emit({ type: 'provider.up', extensionId: 'com.x.z', reason: 'a token refresh succeeded' })));
    await states.emit({ type: 'provider.up', extensionId: 'com.x.z', reason: 'again' });
    expect(passed.map((e) => e.type)).toEqual(['provider.down', 'provider.up']);
    await states.emit({ type: 'linking.misconfigured', extensionId: 'com.x.z', reason: 'invalid_client (HTTP 401)' });
    await states.emit({ type: 'provider.down', extensionId: 'com.x.z', reason: 'HTTP 503' });
    const r = await states.linking('com.x.z');
    expect(r?.history.map((h) => h.state)).toEqual(['provider_down', 'ok', 'misconfigured', 'misconfigured']);
    await states.extensionDeleted('com.x.z');
    expect(await states.linking('com.x.z')).toBeUndefined();
  });
});
