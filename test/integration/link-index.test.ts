import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { Redis } from 'ioredis';
import { LINK_INDEX_BUILT, linkIndexKey } from '../../src/linking/linkIndex.js';
import { TokenVault, type TokenRecord } from '../../src/linking/vault.js';
import { Keyring } from '../../src/security/keyring.js';
import { keyOf, prefixOf } from '../../src/store/keys.js';
import { SQLITE_FILE_NAME } from '../../src/store/createStore.js';
import { createRedisStore } from '../../src/store/redisStore.js';
import { createSqliteStore } from '../../src/store/sqliteStore.js';
import type { Store } from '../../src/store/store.js';
import { adminApi } from '../helpers/adminApi.js';
import { startTestApp } from '../helpers/app.js';
import { runCli } from '../helpers/cli.js';
import { redisServerBinary, startPrivateRedis, type PrivateRedis } from '../helpers/redisServer.js';
import { contractStoreKinds, openTestStore, type StoreKindName } from '../helpers/stores.js';

/**
 * The link index (linking/linkIndex.ts) on real stores: kept in step with the token records by the
 * vault, built once for a store of an earlier version, and what makes a page of links cost the same
 * at 1,000 and at 20,000 users.
 */
jest.setTimeout(180_000);

const EXT = 'com.example.index';
const META = { expiresAt: null, scope: 'points', tokenType: 'Bearer' };

/** What an earlier version wrote for a link: the token record alone, no index entry. */
function oldRecord(userId: string): string {
  const record: TokenRecord = { v: 1, sealed: `v1.sealed-${userId}`, expiresAt: null, scope: null, tokenType: 'Bearer', linkedAt: '2024-01-01T00:00:00.000Z', refreshedAt: null, status: 'linked' };
  return JSON.stringify(record);
}

async function members(store: Store, extensionId: string): Promise<string[]> {
  const out: string[] = [];
  let after: string | undefined;
  do {
    const page = await store.setPage(linkIndexKey(extensionId), { after, limit: 1000 });
    out.push(...page.members);
    after = page.next;
  } while (after !== undefined);
  return out;
}

async function listAll(vault: TokenVault, extensionId: string, limit: number): Promise<{ users: string[]; pages: number }> {
  const users: string[] = [];
  let after: string | undefined;
  let pages = 0;
  do {
    const page = await vault.listPage(extensionId, { after, limit });
    pages++;
    expect(page.links.length).toBeLessThanOrEqual(limit);
    users.push(...page.links.map((l) => l.userId));
    after = page.next;
  } while (after !== undefined);
  return { users, pages };
}

/** Writes many records at once (in batches), as the vault or an earlier version would. */
async function fill(store: Store, from: number, to: number, o: { index: boolean }): Promise<void> {
  const ids = Array.from({ length: to - from }, (_, i) => `user-${String(from + i).padStart(6, '0')}`);
  for (let i = 0; i < ids.length; i += 250) {
    await Promise.all(
      ids.slice(i, i + 250).map(async (userId) => {
        if (o.index) await store.setAdd(linkIndexKey(EXT), userId);
        await store.set(keyOf('linkedToken', EXT, userId), oldRecord(userId));
      }),
    );
  }
}

/** A store that counts what goes through it: calls per method, and the keys or members each returns. */
class CountingStore {
  calls = new Map<string, number>();
  read = 0;
  readonly store: Store;
  constructor(inner: Store) {
    const count = (name: string, n = 0): void => {
      this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
      this.read += n;
    };
    this.store = new Proxy(inner, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function' || typeof prop !== 'string') return value;
        if (prop === 'scanKeys') {
          // An async iterable, not a promise: counted as one call.
          return (...args: unknown[]) => {
            count(prop);
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return async (...args: unknown[]) => {
          const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          if (prop === 'getMany') count(prop, (args[0] as unknown[]).length);
          else if (prop === 'setPage') count(prop, (result as { members: unknown[] }).members.length);
          else if (prop === 'listPage') count(prop, (result as { items: unknown[] }).items.length);
          else if (prop === 'list') count(prop, (result as unknown[]).length);
          else count(prop, 1);
          return result;
        };
      },
    });
  }
  reset(): void {
    this.calls.clear();
    this.read = 0;
  }
  snapshot(): { calls: Record<string, number>; read: number } {
    return { calls: Object.fromEntries([...this.calls].sort()), read: this.read };
  }
}

describe.each(contractStoreKinds)('link index on %s', (kind: StoreKindName) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  const keyring = new Keyring([randomBytes(32)]);

  beforeEach(async () => {
    ({ store, cleanup } = await openTestStore(kind, 'link-index'));
  });
  afterEach(async () => {
    await cleanup();
  });

  test('link, relink and unlink keep the index in step with the records; listing pages them in user id order', async () => {
    const vault = new TokenVault(store, keyring);
    await vault.ensureIndex();
    const users = ['u-c', 'u-a', 'ü-2', 'u-b:with:colons', 'u-d'];
    for (const u of users) await vault.link(EXT, u, { accessToken: `at-${u}` }, META);
    await vault.link('com.example.other', 'u-a', { accessToken: 'other' }, META);
    const sorted = [...users].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(await members(store, EXT)).toEqual(sorted);
    expect(await listAll(vault, EXT, 2)).toEqual({ users: sorted, pages: 3 });

    await vault.link(EXT, 'u-a', { accessToken: 'again' }, META);
    expect(await members(store, EXT)).toEqual(sorted);
    expect(await vault.remove(EXT, 'u-b:with:colons')).toBe(true);
    expect(await vault.remove(EXT, 'u-b:with:colons')).toBe(false);
    const left = sorted.filter((u) => u !== 'u-b:with:colons');
    expect(await members(store, EXT)).toEqual(left);
    expect((await listAll(vault, EXT, 100)).users).toEqual(left);
    expect(await members(store, 'com.example.other')).toEqual(['u-a']);

    await vault.removeAll(EXT);
    expect(await members(store, EXT)).toEqual([]);
    expect(await store.list(prefixOf('linkedToken', EXT))).toEqual([]);
    expect(await listAll(vault, EXT, 10)).toEqual({ users: [], pages: 1 });
    expect(await members(store, 'com.example.other')).toEqual(['u-a']);
  });

  test('an entry without a record (a crash between the two writes) is skipped, dropped, and the page filled from the next ones', async () => {
    const vault = new TokenVault(store, keyring);
    await vault.ensureIndex();
    for (const u of ['a', 'c', 'e', 'f']) await vault.link(EXT, u, { accessToken: u }, META);
    for (const u of ['b', 'd']) await store.setAdd(linkIndexKey(EXT), u);
    const first = await vault.listPage(EXT, { limit: 3 });
    expect(first.links.map((l) => l.userId)).toEqual(['a', 'c', 'e']);
    expect(first.next).toBe('e');
    expect((await vault.listPage(EXT, { after: first.next, limit: 3 })).links.map((l) => l.userId)).toEqual(['f']);
    expect(await members(store, EXT)).toEqual(['a', 'c', 'e', 'f']);
  });

  test('a store of an earlier version (records, no index) lists by scanning until the index is built, then from the index, in the same order', async () => {
    await fill(store, 0, 250, { index: false });
    await store.set(keyOf('linkedToken', 'com.example.other', 'x'), oldRecord('x'));
    const vault = new TokenVault(store, keyring);
    const before = await listAll(vault, EXT, 40);
    expect(before.users).toHaveLength(250);
    expect(await members(store, EXT)).toEqual([]);

    // Two instances starting at once both build: adds are idempotent, the result is one index.
    const peer = new TokenVault(store, keyring);
    const results = await Promise.all([vault.ensureIndex(), peer.ensureIndex()]);
    expect(results.map((r) => r.built)).toEqual([true, true]);
    expect(await store.get(LINK_INDEX_BUILT)).not.toBeNull();
    expect(await members(store, EXT)).toEqual(before.users);
    expect(await members(store, 'com.example.other')).toEqual(['x']);
    expect(await listAll(vault, EXT, 40)).toEqual(before);
    // The old listing (by key prefix) gives the same pages.
    const legacy = await store.listPage(prefixOf('linkedToken', EXT), { after: `${prefixOf('linkedToken', EXT)}${before.users[39]}`, limit: 40 });
    expect((await vault.listPage(EXT, { after: before.users[39], limit: 40 })).links.map((l) => l.userId)).toEqual(legacy.items.map((i) => i.key.slice(prefixOf('linkedToken', EXT).length)));
    // Once marked, a later start builds nothing.
    expect(await new TokenVault(store, keyring).ensureIndex()).toEqual({ built: false, links: 0 });
  });

  test('a page of links costs the same store work at 1,000 and at 20,000 users', async () => {
    if (kind === 'split') return; // the split store pages on its PostgreSQL half (the postgres run)
    const counting = new CountingStore(store);
    const vault = new TokenVault(counting.store, keyring);
    await vault.ensureIndex();
    const measure = async (): Promise<Array<{ calls: Record<string, number>; read: number }>> => {
      const out = [];
      // The first page, one in the middle and the last.
      for (const after of [undefined, 'user-000499', 'user-000949']) {
        counting.reset();
        const page = await vault.listPage(EXT, { after, limit: 50 });
        expect(page.links).toHaveLength(50);
        out.push(counting.snapshot());
      }
      return out;
    };
    await fill(store, 0, 1_000, { index: true });
    const small = await measure();
    await fill(store, 1_000, 20_000, { index: true });
    const large = await measure();
    expect(large).toEqual(small);
    // One page of the index and one read of its records: 50 + 50 keys.
    expect(small[1]).toEqual({ calls: { getMany: 1, setPage: 1 }, read: 100 });
  });
});

describe('link index: store commands on Redis', () => {
  let redis: PrivateRedis | undefined;
  beforeAll(async () => {
    if (redisServerBinary() !== undefined) redis = await startPrivateRedis(['--save', '', '--appendonly', 'no']);
  });
  afterAll(async () => {
    await redis?.stop();
  });

  /** Calls per command on the (private) server since the last reset: what one page costs Redis. */
  async function commandstats(admin: Redis): Promise<Record<string, number>> {
    const info = await admin.info('commandstats');
    const out: Record<string, number> = {};
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (m[1] !== 'info' && m[1] !== 'config|resetstat') out[m[1] as string] = Number(m[2]);
    return out;
  }

  test('a page of links is one ZRANGE and one MGET at 1,000 and at 20,000 users; the old prefix listing SCANs more as users grow', async () => {
    if (redis === undefined) throw new Error('redis-server is needed for this test');
    const store = createRedisStore({ url: redis.url, prefix: 'idx-cost:' });
    const admin = new Redis(redis.url);
    try {
      const vault = new TokenVault(store, new Keyring([randomBytes(32)]));
      await vault.ensureIndex();
      const measure = async (): Promise<{ index: Record<string, number>; scan: number }> => {
        await admin.config('RESETSTAT');
        expect((await vault.listPage(EXT, { after: 'user-000499', limit: 100 })).links).toHaveLength(100);
        const index = await commandstats(admin);
        await admin.config('RESETSTAT');
        await store.listPage(prefixOf('linkedToken', EXT), { after: keyOf('linkedToken', EXT, 'user-000499'), limit: 100 });
        return { index, scan: (await commandstats(admin))['scan'] ?? 0 };
      };
      await fill(store, 0, 1_000, { index: true });
      const small = await measure();
      await fill(store, 1_000, 20_000, { index: true });
      const large = await measure();
      expect(small.index).toEqual({ zrange: 1, mget: 1 });
      expect(large.index).toEqual(small.index);
      // What the index replaces: the prefix listing reads every key of the store, a SCAN per 1,000.
      expect(large.scan).toBeGreaterThanOrEqual(10 * small.scan);
    } finally {
      admin.disconnect();
      await store.close();
    }
  });
});

describe('link index in the service', () => {
  test('an instance started on a store of an earlier version builds the index; deleting the extension clears it', async () => {
    const { store, cleanup } = await openTestStore('sqlite', 'link-index-app');
    try {
      await fill(store, 0, 30, { index: false });
      const app = await startTestApp({ sharedStore: { store } });
      try {
        await app.services.linking.ensureLinkIndex();
        expect(await members(store, EXT)).toHaveLength(30);
        const api = adminApi(app);
        expect((await api.post('/extensions', { extensionId: EXT, language: 'en' })).status).toBe(201);
        const page = await api.get(`/extensions/${EXT}/links?limit=20`);
        expect(page.status).toBe(200);
        expect((page.body as { links: unknown[]; next: string }).links).toHaveLength(20);
        expect((page.body as { next: string }).next).toBe('user-000019');
        expect((await api.delete(`/extensions/${EXT}`)).status).toBe(204);
        expect(await members(store, EXT)).toEqual([]);
        expect(await store.list(prefixOf('linkedToken', EXT))).toEqual([]);
      } finally {
        await app.close();
      }
    } finally {
      await cleanup();
    }
  });

  test('cek-gateway restore builds the index from the restored links (a backup holds no sets, and its mark is not trusted)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cek-link-index-restore-'));
    try {
      const source = createSqliteStore({ file: path.join(dir, 'from', SQLITE_FILE_NAME) });
      const vault = new TokenVault(source, new Keyring([randomBytes(32)]));
      await vault.ensureIndex();
      for (const u of ['b', 'a', 'c']) await vault.link(EXT, u, { accessToken: u }, META);
      expect(await source.get(LINK_INDEX_BUILT)).not.toBeNull();
      await source.close();
      const file = path.join(dir, 'cek.backup');
      expect((await runCli(['backup', file], { DATA_DIR: path.join(dir, 'from') })).code).toBe(0);
      expect(fs.readFileSync(file, 'utf8')).toContain(LINK_INDEX_BUILT);
      const restore = await runCli(['restore', file], { DATA_DIR: path.join(dir, 'to') });
      expect(restore.code).toBe(0);
      expect(restore.stderr).toMatch(/^Restored \d+ keys into SQLite .+; the link index of 3 linked users was built\.\n$/);
      const restored = createSqliteStore({ file: path.join(dir, 'to', SQLITE_FILE_NAME) });
      try {
        expect(await members(restored, EXT)).toEqual(['a', 'b', 'c']);
        expect(await restored.get(LINK_INDEX_BUILT)).toBe('1');
      } finally {
        await restored.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
