import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createStore } from '../../src/store/createStore.js';
import { jest } from '@jest/globals';
import pg from 'pg';
import { MIGRATIONS, migrate } from '../../src/store/postgresMigrations.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgresStore.js';
import { createRedisStore, escapeRedisGlob, type RedisStore } from '../../src/store/redisStore.js';
import { keySlot } from '../../src/store/clusterSlot.js';
import { parseClusterNodes } from '../../src/store/redisTarget.js';
import { quotaKey } from '../../src/gateway/limiter.js';
import { Cluster } from 'ioredis';
import { createSqliteStore, type SqliteStore } from '../../src/store/sqliteStore.js';
import { SplitStore } from '../../src/store/splitStore.js';
import { KEY_FAMILIES, keyOf, type KeyFamilyName } from '../../src/store/keys.js';
import type { Store } from '../../src/store/store.js';
import { isStoreUnavailable } from '../../src/store/unavailable.js';
import Database from 'better-sqlite3';
import { redisServerBinary, startPrivateRedis } from '../helpers/redisServer.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { startTcpProxy } from '../helpers/tcpProxy.js';
import {
  clusterAvailable,
  clusterUrl,
  contractStoreKinds,
  deleteClusterKeys,
  deleteRedisKeys,
  dropPostgresSchema,
  openTestStore,
  postgresAvailable,
  postgresUrl,
  redisAvailable,
  redisUrl,
  uniquePrefix,
  uniqueSchema,
  type StoreKindName,
} from '../helpers/stores.js';

/** Short TTLs keep the suite fast; a key is only asserted gone after more than twice its TTL. */
const TTL = 80;
const AFTER_EXPIRY = 2 * TTL + 40;

function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cek-contract-${label}-`));
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Collects the messages a subscription receives; `next()` waits for the next one. */
function inbox(): { handler: (m: string) => void; messages: string[]; next: (timeoutMs?: number) => Promise<string> } {
  const messages: string[] = [];
  const waiters: Array<(m: string) => void> = [];
  let read = 0;
  return {
    messages,
    handler: (m) => {
      messages.push(m);
      const w = waiters.shift();
      if (w) {
        read++;
        w(m);
      }
    },
    next: (timeoutMs = 3000) => {
      if (read < messages.length) return Promise.resolve(messages[read++]!);
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no message within timeout')), timeoutMs);
        waiters.push((m) => {
          clearTimeout(timer);
          resolve(m);
        });
      });
    },
  };
}

/**
 * Another store object on the same backend and namespace as `store` (a second SQLite connection on
 * the same file, a second Redis connection with the same prefix, a second PostgreSQL pool on the
 * same schema): concurrency across connections.
 */
async function openPeer(kind: StoreKindName, store: Store): Promise<Store> {
  if (kind === 'split' && store instanceof SplitStore) return new SplitStore(await openPeer('postgres', store.durable), await openPeer('redis', store.ephemeral));
  if (kind === 'sqlite') return createSqliteStore({ file: (store as SqliteStore).file });
  if (kind === 'postgres') return openPostgresStore({ url: postgresUrl(), schema: (store as PostgresStore).schema, poolSize: 4 });
  return createRedisStore({ url: kind === 'cluster' ? clusterUrl() : redisUrl(), prefix: (store as RedisStore).prefix });
}

describe.each(contractStoreKinds)('Store contract on %s', (kind) => {
  let store: Store;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ store, cleanup } = await openTestStore(kind, 'contract'));
  });
  afterEach(async () => {
    await cleanup();
  });

  test('reports its kind and answers ping', async () => {
    expect(store.kind).toBe(kind === 'split' ? 'postgres+redis' : kind === 'cluster' ? 'redis-cluster' : kind);
    await expect(store.ping()).resolves.toBeUndefined();
  });

  describe('get / set / ttl', () => {
    test('get of a missing key is null', async () => {
      expect(await store.get('missing')).toBeNull();
    });

    test('set then get, overwrite, empty and unicode values', async () => {
      await store.set('k', 'v1');
      expect(await store.get('k')).toBe('v1');
      await store.set('k', 'v2');
      expect(await store.get('k')).toBe('v2');
      await store.set('empty', '');
      expect(await store.get('empty')).toBe('');
      const text = '{"name":"잠금 해제 ✓ 😀"}';
      await store.set('unicode:키', text);
      expect(await store.get('unicode:키')).toBe(text);
    });

    test('a key set with a TTL expires', async () => {
      await store.set('short', 'v', TTL);
      expect(await store.get('short')).toBe('v');
      await sleep(AFTER_EXPIRY);
      expect(await store.get('short')).toBeNull();
      expect(await store.ttl('short')).toBeNull();
    });

    test('set without a TTL clears an earlier TTL', async () => {
      await store.set('k', 'first', TTL);
      await store.set('k', 'second');
      expect(await store.ttl('k')).toBeNull();
      await sleep(AFTER_EXPIRY);
      expect(await store.get('k')).toBe('second');
    });

    test('set with a TTL replaces an earlier TTL', async () => {
      await store.set('k', 'first');
      await store.set('k', 'second', 60_000);
      const ttl = await store.ttl('k');
      expect(ttl).not.toBeNull();
      expect(ttl!).toBeGreaterThan(0);
      expect(ttl!).toBeLessThanOrEqual(60_000);
    });

    test('ttl: remaining ms, null without TTL, null for a missing key', async () => {
      await store.set('with', 'v', 10_000);
      await store.set('without', 'v');
      const ttl = await store.ttl('with');
      expect(ttl).not.toBeNull();
      expect(ttl!).toBeGreaterThan(0);
      expect(ttl!).toBeLessThanOrEqual(10_000);
      expect(await store.ttl('without')).toBeNull();
      expect(await store.ttl('missing')).toBeNull();
    });

    test('rejects a TTL that is not a positive number', async () => {
      await expect(store.set('k', 'v', 0)).rejects.toThrow(RangeError);
      await expect(store.set('k', 'v', -5)).rejects.toThrow(RangeError);
      await expect(store.set('k', 'v', Number.NaN)).rejects.toThrow(RangeError);
      expect(await store.get('k')).toBeNull();
    });
  });

  test("time() is the store's clock, epoch ms (the same machine here: close to this process's)", async () => {
    const before = Date.now();
    const t = await store.time();
    expect(Number.isInteger(t)).toBe(true);
    // A loose bound: only proves the unit (ms, not s or µs) and the epoch.
    expect(Math.abs(t - before)).toBeLessThan(60_000);
  });

  describe('getMany', () => {
    test('keeps the order of the keys, with null for missing and expired keys', async () => {
      await store.set('a', '1');
      await store.set('b', '2');
      await store.set('gone', 'x', TTL);
      await sleep(AFTER_EXPIRY);
      expect(await store.getMany(['b', 'missing', 'a', 'gone', 'b'])).toEqual(['2', null, '1', null, '2']);
    });

    test('an empty list gives an empty list', async () => {
      expect(await store.getMany([])).toEqual([]);
    });
  });

  describe('setIfAbsent', () => {
    test('sets once, then refuses and keeps the first value', async () => {
      expect(await store.setIfAbsent('lock', 'owner-1')).toBe(true);
      expect(await store.setIfAbsent('lock', 'owner-2')).toBe(false);
      expect(await store.get('lock')).toBe('owner-1');
      expect(await store.ttl('lock')).toBeNull();
    });

    test('with a TTL: the key expires, then it can be set again', async () => {
      expect(await store.setIfAbsent('lock', 'owner-1', TTL)).toBe(true);
      expect(await store.ttl('lock')).not.toBeNull();
      expect(await store.setIfAbsent('lock', 'owner-2', TTL)).toBe(false);
      await sleep(AFTER_EXPIRY);
      expect(await store.setIfAbsent('lock', 'owner-3', 10_000)).toBe(true);
      expect(await store.get('lock')).toBe('owner-3');
      expect(await store.ttl('lock')).not.toBeNull();
    });

    test('concurrent callers: exactly one wins', async () => {
      const peer = await openPeer(kind, store);
      try {
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : peer).setIfAbsent('race', `owner-${i}`, 10_000)));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.get('race')).toBe(`owner-${results.indexOf(true)}`);
      } finally {
        await peer.close();
      }
    });
  });

  describe('delete / deleteIfEquals', () => {
    test('delete is true when a key was deleted, false otherwise', async () => {
      await store.set('k', 'v');
      expect(await store.delete('k')).toBe(true);
      expect(await store.get('k')).toBeNull();
      expect(await store.delete('k')).toBe(false);
      expect(await store.delete('never-set')).toBe(false);
    });

    test('delete of an expired key is false', async () => {
      await store.set('k', 'v', TTL);
      await sleep(AFTER_EXPIRY);
      expect(await store.delete('k')).toBe(false);
    });

    test('deleteIfEquals keeps the key for a wrong value and deletes it once for the right one', async () => {
      await store.set('lock', 'me', 10_000);
      expect(await store.deleteIfEquals('lock', 'someone-else')).toBe(false);
      expect(await store.get('lock')).toBe('me');
      expect(await store.deleteIfEquals('lock', 'me')).toBe(true);
      expect(await store.get('lock')).toBeNull();
      expect(await store.deleteIfEquals('lock', 'me')).toBe(false);
      expect(await store.deleteIfEquals('missing', 'me')).toBe(false);
    });
  });

  describe('compareAndSet', () => {
    test('replaces the value only when the current one is the expected one', async () => {
      await store.set('rec', 'v1');
      expect(await store.compareAndSet('rec', 'v0', 'v2')).toBe(false);
      expect(await store.get('rec')).toBe('v1');
      expect(await store.compareAndSet('rec', 'v1', 'v2')).toBe(true);
      expect(await store.get('rec')).toBe('v2');
      // The old value no longer matches: a second writer that read v1 is told so.
      expect(await store.compareAndSet('rec', 'v1', 'v3')).toBe(false);
      expect(await store.get('rec')).toBe('v2');
    });

    test('false for a missing or expired key, which stays missing', async () => {
      expect(await store.compareAndSet('missing', '', 'v')).toBe(false);
      expect(await store.get('missing')).toBeNull();
      await store.set('short', 'v1', TTL);
      await sleep(AFTER_EXPIRY);
      expect(await store.compareAndSet('short', 'v1', 'v2')).toBe(false);
      expect(await store.get('short')).toBeNull();
    });

    test('keeps the TTL of the key', async () => {
      await store.set('ttl', 'v1', 10_000);
      expect(await store.compareAndSet('ttl', 'v1', 'v2')).toBe(true);
      const left = await store.ttl('ttl');
      expect(left).not.toBeNull();
      expect(left as number).toBeGreaterThan(8_000);
      expect(left as number).toBeLessThanOrEqual(10_000);
      await store.set('forever', 'v1');
      expect(await store.compareAndSet('forever', 'v1', 'v2')).toBe(true);
      expect(await store.ttl('forever')).toBeNull();
    });

    test('20 concurrent writers that read the same value: exactly one wins', async () => {
      await store.set('race', 'start');
      const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => store.compareAndSet('race', 'start', `writer-${i}`)));
      expect(wins.filter(Boolean)).toHaveLength(1);
      expect(await store.get('race')).toBe(`writer-${wins.indexOf(true)}`);
    });
  });

  describe('take', () => {
    test('returns the value once, then null', async () => {
      await store.set('code', 'secret', 10_000);
      expect(await store.take('code')).toBe('secret');
      expect(await store.take('code')).toBeNull();
      expect(await store.get('code')).toBeNull();
      expect(await store.take('missing')).toBeNull();
    });

    test('an expired value cannot be taken', async () => {
      await store.set('code', 'secret', TTL);
      await sleep(AFTER_EXPIRY);
      expect(await store.take('code')).toBeNull();
    });

    test('20 concurrent takes: exactly one gets the value', async () => {
      await store.set('single-use', 'value');
      const peer = await openPeer(kind, store);
      try {
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : peer).take('single-use')));
        expect(results.filter((r) => r !== null)).toEqual(['value']);
      } finally {
        await peer.close();
      }
    });
  });

  describe('increment', () => {
    test('counts from 0, by 1 by default, by N when given', async () => {
      expect(await store.increment('n')).toBe(1);
      expect(await store.increment('n')).toBe(2);
      expect(await store.increment('n', 5)).toBe(7);
      expect(await store.increment('n', -3)).toBe(4);
      expect(await store.get('n')).toBe('4');
      expect(await store.increment('fresh', 10)).toBe(10);
    });

    test('100 concurrent increments give 100', async () => {
      const peer = await openPeer(kind, store);
      try {
        const results = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? store : peer).increment('hits')));
        expect(await store.get('hits')).toBe('100');
        expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      } finally {
        await peer.close();
      }
    });

    test('the TTL is set when the key is created and not pushed back by later increments', async () => {
      expect(await store.increment('window', 1, 5_000)).toBe(1);
      const first = await store.ttl('window');
      expect(first).not.toBeNull();
      expect(first!).toBeLessThanOrEqual(5_000);
      await sleep(120);
      expect(await store.increment('window', 1, 5_000)).toBe(2);
      const second = await store.ttl('window');
      expect(second).not.toBeNull();
      expect(second!).toBeLessThan(first!);
    });

    test('no TTL is added to an existing key, even one that held 0', async () => {
      await store.increment('plain');
      expect(await store.increment('plain', 1, 5_000)).toBe(2);
      expect(await store.ttl('plain')).toBeNull();
      await store.set('zero', '0');
      expect(await store.increment('zero', 5, 5_000)).toBe(5);
      expect(await store.ttl('zero')).toBeNull();
    });

    test('an expired counter starts again from 0 with a new TTL', async () => {
      expect(await store.increment('window', 3, TTL)).toBe(3);
      await sleep(AFTER_EXPIRY);
      expect(await store.get('window')).toBeNull();
      expect(await store.increment('window', 1, 10_000)).toBe(1);
      expect(await store.ttl('window')).not.toBeNull();
    });

    test('rejects a value that is not an integer and a non-integer step', async () => {
      await store.set('text', 'abc');
      await expect(store.increment('text')).rejects.toThrow();
      expect(await store.get('text')).toBe('abc');
      await expect(store.increment('n', 1.5)).rejects.toThrow(RangeError);
    });
  });

  describe('listPage', () => {
    test('pages through the prefix in key order, each key once, with next until the last page', async () => {
      const keys = Array.from({ length: 23 }, (_, i) => `page:user-${String(i).padStart(2, '0')}`);
      for (const k of [...keys].reverse()) await store.set(k, `v-${k}`);
      await store.set('pagf:after-the-prefix', 'x');
      await store.set('pag', 'before');
      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const page = await store.listPage('page:', { after, limit: 10 });
        pages++;
        expect(page.items.length).toBeLessThanOrEqual(10);
        for (const item of page.items) expect(item.value).toBe(`v-${item.key}`);
        seen.push(...page.items.map((i) => i.key));
        after = page.next;
      } while (after !== undefined);
      expect(pages).toBe(3);
      expect(seen).toEqual(keys);
    });

    test('an exact page ends without a next; an empty prefix gives an empty page; after may name a deleted key', async () => {
      for (const k of ['p:a', 'p:b', 'p:c', 'p:d']) await store.set(k, '1');
      const first = await store.listPage('p:', { limit: 2 });
      expect(first.items.map((i) => i.key)).toEqual(['p:a', 'p:b']);
      expect(first.next).toBe('p:b');
      await store.delete('p:b');
      const second = await store.listPage('p:', { after: first.next, limit: 2 });
      expect(second.items.map((i) => i.key)).toEqual(['p:c', 'p:d']);
      expect(second.next).toBeUndefined();
      expect(await store.listPage('none:', { limit: 5 })).toEqual({ items: [], next: undefined });
      expect((await store.listPage('p:', { after: 'p:zzz', limit: 5 })).items).toEqual([]);
    });

    test('expired keys are not listed; the limit must be 1 to 1000', async () => {
      await store.set('e:a', '1');
      await store.set('e:b', '2', TTL);
      await store.set('e:c', '3');
      await sleep(AFTER_EXPIRY);
      expect((await store.listPage('e:', { limit: 10 })).items.map((i) => i.key)).toEqual(['e:a', 'e:c']);
      await expect(store.listPage('e:', { limit: 0 })).rejects.toThrow(RangeError);
      await expect(store.listPage('e:', { limit: 1001 })).rejects.toThrow(RangeError);
      await expect(store.listPage('e:', { limit: 1.5 })).rejects.toThrow(RangeError);
    });
  });

  describe('scanKeys', () => {
    test('every live key under the prefix at least once, in batches, without expired keys or sets', async () => {
      const keys = Array.from({ length: 2_345 }, (_, i) => `scan:k-${i}`);
      for (let i = 0; i < keys.length; i += 200) await Promise.all(keys.slice(i, i + 200).map((k) => store.set(k, '1')));
      await store.set('scan:gone', '1', TTL);
      await store.set('scao:outside', '1');
      await store.setAdd('scan:a-set', 'member');
      await sleep(AFTER_EXPIRY);
      const seen = new Set<string>();
      let batches = 0;
      for await (const batch of store.scanKeys('scan:')) {
        batches++;
        for (const k of batch) seen.add(k);
      }
      expect([...seen].sort()).toEqual([...keys].sort());
      expect(batches).toBeGreaterThan(1);
      const none: string[] = [];
      for await (const batch of store.scanKeys('nothing-here:')) none.push(...batch);
      expect(none).toEqual([]);
    });
  });

  describe('ordered sets', () => {
    /** Every member of a set, page by page. */
    async function allMembers(set: string, limit: number): Promise<{ members: string[]; pages: number }> {
      const members: string[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const page = await store.setPage(set, { after, limit });
        pages++;
        expect(page.members.length).toBeLessThanOrEqual(limit);
        members.push(...page.members);
        after = page.next;
      } while (after !== undefined);
      return { members, pages };
    }

    test('members come in byte (code point) order, also past ASCII, U+FFFF and with U+0000', async () => {
      const members = ['', '\u0000', '\u0000a', '\u0001', 'A', 'Z', 'a', 'a\u0000', 'ab', 'é', '\uffff', '😀', '\u{10ffff}'];
      for (const m of [...members].reverse()) await store.setAdd('set:order', m);
      expect(await allMembers('set:order', 100)).toEqual({ members, pages: 1 });
      expect(await allMembers('set:order', 3)).toEqual({ members, pages: 5 });
      const page = await store.setPage('set:order', { after: 'a', limit: 2 });
      expect(page).toEqual({ members: ['a\u0000', 'ab'], next: 'ab' });
      // `after` need not be a member.
      expect((await store.setPage('set:order', { after: 'aa', limit: 1 })).members).toEqual(['ab']);
      expect(await store.setPage('set:order', { after: '\u{10ffff}', limit: 5 })).toEqual({ members: [], next: undefined });
    });

    test('pages: each member once, next until the last page, none after an exact last page', async () => {
      const members = Array.from({ length: 23 }, (_, i) => `user-${String(i).padStart(2, '0')}`);
      for (const m of members) await store.setAdd('set:p', m);
      expect(await allMembers('set:p', 10)).toEqual({ members, pages: 3 });
      const exact = await store.setPage('set:p', { after: 'user-12', limit: 10 });
      expect(exact.members).toEqual(members.slice(13));
      expect(exact.next).toBeUndefined();
      const first = await store.setPage('set:p', { limit: 1 });
      expect(first).toEqual({ members: ['user-00'], next: 'user-00' });
      expect(await store.setPage('set:none', { limit: 5 })).toEqual({ members: [], next: undefined });
      await expect(store.setPage('set:p', { limit: 0 })).rejects.toThrow(RangeError);
      await expect(store.setPage('set:p', { limit: 1001 })).rejects.toThrow(RangeError);
      await expect(store.setPage('set:p', { limit: 2.5 })).rejects.toThrow(RangeError);
    });

    test('add is idempotent; remove says whether the member was there; clear removes only that set', async () => {
      await store.setAdd('set:a', 'x');
      await store.setAdd('set:a', 'x');
      await store.setAdd('set:a', 'y');
      await store.setAdd('set:b', 'x');
      expect((await store.setPage('set:a', { limit: 10 })).members).toEqual(['x', 'y']);
      expect(await store.setRemove('set:a', 'x')).toBe(true);
      expect(await store.setRemove('set:a', 'x')).toBe(false);
      expect(await store.setRemove('set:none', 'x')).toBe(false);
      expect((await store.setPage('set:a', { limit: 10 })).members).toEqual(['y']);
      expect((await store.setPage('set:b', { limit: 10 })).members).toEqual(['x']);
      await store.setAdd('set:a', 'x');
      await store.setClear('set:a');
      await store.setClear('set:none');
      expect(await store.setPage('set:a', { limit: 10 })).toEqual({ members: [], next: undefined });
      expect((await store.setPage('set:b', { limit: 10 })).members).toEqual(['x']);
      // Sets whose keys start with one another are apart, and a set is not a key/value entry.
      await store.setAdd('set:b:c', 'z');
      expect((await store.setPage('set:b', { limit: 10 })).members).toEqual(['x']);
      expect(await store.list('set:')).toEqual([]);
      await store.setAdd('set:a', 'again');
      expect((await store.setPage('set:a', { limit: 10 })).members).toEqual(['again']);
    });

    test('concurrent adds of the same member from two connections keep one member', async () => {
      const peer = await openPeer(kind, store);
      try {
        await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? store : peer).setAdd('set:race', 'same')));
        expect((await peer.setPage('set:race', { limit: 10 })).members).toEqual(['same']);
        expect(await store.setRemove('set:race', 'same')).toBe(true);
        expect(await peer.setRemove('set:race', 'same')).toBe(false);
      } finally {
        await peer.close();
      }
    });
  });

  describe('list', () => {
    test('only keys with the prefix, sorted by key, without expired keys', async () => {
      await store.set('list:b', '2');
      await store.set('list:c', '3');
      await store.set('list:a', '1');
      await store.set('lis', 'shorter');
      await store.set('other:list:a', 'elsewhere');
      await store.set('list:expired', 'x', TTL);
      await sleep(AFTER_EXPIRY);
      expect(await store.list('list:')).toEqual([
        { key: 'list:a', value: '1' },
        { key: 'list:b', value: '2' },
        { key: 'list:c', value: '3' },
      ]);
      expect(await store.list('nothing:')).toEqual([]);
    });

    test('glob and LIKE metacharacters in the prefix are literal', async () => {
      const prefix = 'a*b?[c]%_';
      await store.set(`${prefix}1`, 'one');
      await store.set(`${prefix}2`, 'two');
      await store.set(prefix, 'exact');
      // Each decoy would match if the prefix were used as an unescaped glob or LIKE pattern.
      await store.set('aXXbYc%_3', 'glob decoy');
      await store.set('a*b?[c]XY', 'LIKE decoy');
      await store.set('A*B?[C]%_1', 'case-insensitive LIKE decoy');
      await store.set('a*b?[c]%', 'shorter');
      expect(await store.list(prefix)).toEqual([
        { key: prefix, value: 'exact' },
        { key: `${prefix}1`, value: 'one' },
        { key: `${prefix}2`, value: 'two' },
      ]);

      await store.set('x\\y1', 'backslash');
      await store.set('xy1', 'escape decoy');
      expect(await store.list('x\\y')).toEqual([{ key: 'x\\y1', value: 'backslash' }]);
    });

    test('keys after the prefix with any code point are listed, in code point order', async () => {
      const keys = ['u:a', 'u:\uffff', 'u:😀', 'u:\u{10ffff}z'];
      for (const key of [...keys].reverse()) await store.set(key, key);
      await store.set('v:a', 'next prefix');
      expect((await store.list('u:')).map((e) => e.key)).toEqual(keys);
    });

    test('U+0000 and U+0001 in keys and values are kept, compared and ordered like any character', async () => {
      const keys = ['c:a', 'c:a\u0000', 'c:a\u0000\u0000', 'c:a\u0000b', 'c:a\u0001', 'c:a\u0001\u0000', 'c:a\u0002', 'c:ab'];
      for (const key of [...keys].reverse()) await store.set(key, `v\u0000${key}\u0001`);
      await store.set('c\u0000', 'outside the prefix');
      expect(await store.get('c:a\u0000b')).toBe('v\u0000c:a\u0000b\u0001');
      expect(await store.getMany(['c:a\u0001', 'c:a\u0000\u0001'])).toEqual(['v\u0000c:a\u0001\u0001', null]);
      expect((await store.list('c:')).map((e) => e.key)).toEqual(keys);
      expect((await store.list('c:a\u0000')).map((e) => e.key)).toEqual(['c:a\u0000', 'c:a\u0000\u0000', 'c:a\u0000b']);
      const page = await store.listPage('c:a', { after: 'c:a\u0000b', limit: 2 });
      expect(page.items).toEqual([
        { key: 'c:a\u0001', value: 'v\u0000c:a\u0001\u0001' },
        { key: 'c:a\u0001\u0000', value: 'v\u0000c:a\u0001\u0000\u0001' },
      ]);
      expect(page.next).toBe('c:a\u0001\u0000');
      expect(await store.compareAndSet('c:a\u0000', 'v\u0000c:a\u0000\u0001', 'new\u0000')).toBe(true);
      expect(await store.deleteIfEquals('c:a\u0000', 'new\u0001')).toBe(false);
      expect(await store.take('c:a\u0000')).toBe('new\u0000');
      expect(await store.increment('n\u0000')).toBe(1);
      expect(await store.setIfAbsent('n\u0000', 'x')).toBe(false);
    });

    test('an empty prefix lists every key of this store', async () => {
      await store.set('one', '1');
      await store.set('two', '2');
      expect(await store.list('')).toEqual([
        { key: 'one', value: '1' },
        { key: 'two', value: '2' },
      ]);
    });
  });

  describe('publish / subscribe', () => {
    test('delivers messages to a subscriber until it unsubscribes', async () => {
      const box = inbox();
      const unsubscribe = await store.subscribe('events', box.handler);
      await store.publish('events', 'first');
      expect(await box.next()).toBe('first');
      await store.publish('events', 'second');
      expect(await box.next()).toBe('second');
      await unsubscribe();
      await store.publish('events', 'third');
      await sleep(150);
      expect(box.messages).toEqual(['first', 'second']);
      await unsubscribe(); // a second call is harmless
    });

    test('every subscriber of a channel gets the message, and only that channel', async () => {
      const a = inbox();
      const b = inbox();
      const other = inbox();
      const unsubA = await store.subscribe('ch', a.handler);
      const unsubB = await store.subscribe('ch', b.handler);
      const unsubOther = await store.subscribe('other', other.handler);
      await store.publish('ch', 'hello');
      expect(await a.next()).toBe('hello');
      expect(await b.next()).toBe('hello');
      await unsubA();
      await store.publish('ch', 'again');
      expect(await b.next()).toBe('again');
      await sleep(100);
      expect(a.messages).toEqual(['hello']);
      expect(other.messages).toEqual([]);
      await unsubB();
      await unsubOther();
    });

    test('publishing to a channel nobody listens to is fine', async () => {
      await expect(store.publish('nobody', 'x')).resolves.toBeUndefined();
    });
  });

  describe('isolation', () => {
    /** Two stores on the same backend with different prefixes. */
    async function openPair(): Promise<{ a: Store; b: Store; close: () => Promise<void> }> {
      if (kind === 'sqlite') {
        const dir = tempDir('pair');
        const file = path.join(dir, 'shared.sqlite');
        const a = createSqliteStore({ file, prefix: 'one:' });
        const b = createSqliteStore({ file, prefix: 'two:' });
        return {
          a,
          b,
          close: async () => {
            await a.close();
            await b.close();
            fs.rmSync(dir, { recursive: true, force: true });
          },
        };
      }
      // Redis: two key prefixes; PostgreSQL: two schemas in one database.
      const one = await openTestStore(kind, 'pair-one');
      const two = await openTestStore(kind, 'pair-two');
      return {
        a: one.store,
        b: two.store,
        close: async () => {
          await one.cleanup();
          await two.cleanup();
        },
      };
    }

    test('stores with different prefixes do not see each other', async () => {
      const { a, b, close } = await openPair();
      try {
        await a.set('shared', 'A');
        expect(await b.get('shared')).toBeNull();
        expect(await b.setIfAbsent('shared', 'B')).toBe(true);
        expect(await a.get('shared')).toBe('A');
        expect(await b.get('shared')).toBe('B');
        expect(await a.getMany(['shared'])).toEqual(['A']);
        expect(await a.increment('count', 2)).toBe(2);
        expect(await b.increment('count', 5)).toBe(5);
        expect(await a.list('')).toEqual([
          { key: 'count', value: '2' },
          { key: 'shared', value: 'A' },
        ]);
        expect(await b.deleteIfEquals('shared', 'A')).toBe(false);
        expect(await b.take('shared')).toBe('B');
        expect(await a.get('shared')).toBe('A');
        expect(await b.delete('count')).toBe(true);
        expect(await a.get('count')).toBe('2');

        await a.setAdd('set:shared', 'from a');
        await b.setAdd('set:shared', 'from b');
        expect((await a.setPage('set:shared', { limit: 10 })).members).toEqual(['from a']);
        expect(await b.setRemove('set:shared', 'from a')).toBe(false);
        await b.setClear('set:shared');
        expect((await a.setPage('set:shared', { limit: 10 })).members).toEqual(['from a']);
        expect((await b.setPage('set:shared', { limit: 10 })).members).toEqual([]);

        const boxB = inbox();
        const unsub = await b.subscribe('events', boxB.handler);
        await a.publish('events', 'from a');
        await sleep(150);
        expect(boxB.messages).toEqual([]);
        await unsub();
      } finally {
        await close();
      }
    });
  });
});

describe('SQLite store specifics', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('sqlite');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('data and TTLs survive close and reopen of the same file', async () => {
    const file = path.join(dir, 'nested', 'deeper', 'store.sqlite'); // parent directories are created
    const first = createSqliteStore({ file });
    await first.set('kept', 'value');
    await first.set('timed', 'value', 60_000);
    await first.increment('counter', 7);
    await first.close();
    await first.close(); // idempotent

    const second = createSqliteStore({ file });
    try {
      expect(await second.get('kept')).toBe('value');
      expect(await second.get('counter')).toBe('7');
      const ttl = await second.ttl('timed');
      expect(ttl).not.toBeNull();
      expect(ttl!).toBeLessThanOrEqual(60_000);
    } finally {
      await second.close();
    }
  });

  test('uses WAL', async () => {
    const store = createSqliteStore({ file: path.join(dir, 'wal.sqlite') });
    await store.set('k', 'v');
    await store.close();
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(path.join(dir, 'wal.sqlite'), { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });

  test("':memory:' works", async () => {
    const store = createSqliteStore({ file: ':memory:' });
    try {
      await store.set('k', 'v');
      expect(await store.get('k')).toBe('v');
      await store.ping();
    } finally {
      await store.close();
    }
  });

  test('sweep removes expired rows only', async () => {
    const store = createSqliteStore({ file: path.join(dir, 'sweep.sqlite') });
    try {
      await store.set('live', 'v', 60_000);
      await store.set('forever', 'v');
      await store.set('gone1', 'v', TTL);
      await store.set('gone2', 'v', TTL);
      expect(store.sweep()).toBe(0);
      await sleep(AFTER_EXPIRY);
      expect(store.sweep()).toBe(2);
      expect(await store.list('')).toEqual([
        { key: 'forever', value: 'v' },
        { key: 'live', value: 'v' },
      ]);
    } finally {
      await store.close();
    }
  });

  test('a closed store rejects calls', async () => {
    const store = createSqliteStore({ file: path.join(dir, 'closed.sqlite') });
    await store.close();
    await expect(store.get('k')).rejects.toThrow();
    await expect(store.ping()).rejects.toThrow();
  });
});

const describeRedis = redisAvailable ? describe : describe.skip;

describeRedis('Redis store specifics', () => {
  test('ping rejects within a few seconds when nothing listens, and close does not hang', async () => {
    const port = await freePort();
    const store = createRedisStore({ url: `redis://127.0.0.1:${port}`, prefix: uniquePrefix('down') });
    const started = Date.now();
    await expect(store.ping()).rejects.toThrow(/Redis ping failed/);
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect(store.get('k')).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(10_000);
    await store.close();
  });

  test('commands issued right after creation work without waiting for ping', async () => {
    const prefix = uniquePrefix('early');
    const store = createRedisStore({ url: redisUrl(), prefix });
    try {
      await store.set('k', 'v');
      expect(await store.get('k')).toBe('v');
    } finally {
      await deleteRedisKeys(prefix);
      await store.close();
    }
  });

  test('keys carry the store prefix in Redis', async () => {
    const { store, cleanup } = await openTestStore('redis', 'raw');
    try {
      await store.set('visible', 'v');
      const prefix = (store as RedisStore).prefix;
      expect(prefix).toMatch(/^test:raw:\d+:[0-9a-f]+:$/);
      expect(await deleteRedisKeys(prefix)).toBe(1);
      expect(await store.get('visible')).toBeNull();
    } finally {
      await cleanup();
    }
  });

  (redisServerBinary() !== undefined ? test : test.skip)('fails fast while the server is down and reconnects when it is back', async () => {
    // Without persistence: after the restart the server has no data.
    const server = await startPrivateRedis(['--save', '', '--appendonly', 'no']);
    const store = createRedisStore({ url: server.url, prefix: 'reconnect:' });
    const sub = inbox();
    try {
      await store.set('k', 'v');
      await store.subscribe('events', sub.handler);
      await server.kill();

      const started = Date.now();
      await expect(store.get('k')).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(5_000);
      await expect(store.ping()).rejects.toThrow();

      await server.restart();
      // The client reconnects by itself (the private server kept no data).
      await waitFor(async () => (await store.get('k')) === null, 10_000);
      await store.set('k', 'again');
      expect(await store.get('k')).toBe('again');
      // The subscriber connection re-subscribed too.
      await waitFor(async () => {
        await store.publish('events', 'back');
        await sleep(50);
        return sub.messages.includes('back');
      }, 10_000);
    } finally {
      await store.close();
      await server.stop();
    }
  });
});

const describeCluster = clusterAvailable ? describe : describe.skip;

describeCluster('Redis Cluster specifics (three masters)', () => {
  let raw: Cluster;
  beforeAll(async () => {
    raw = new Cluster(parseClusterNodes(process.env['REDIS_CLUSTER_NODES'] ?? ''));
    raw.on('error', () => undefined);
    await raw.ping();
  });
  afterAll(() => {
    raw.disconnect();
  });

  test('the cluster is real: a multi-key command across slots fails with CROSSSLOT', async () => {
    const p = uniquePrefix('crossslot');
    expect(keySlot(`${p}a`)).not.toBe(keySlot(`${p}b`));
    await expect(raw.mget(`${p}a`, `${p}b`)).rejects.toThrow(/CROSSSLOT/);
  });

  test('keySlot is the slot the cluster computes (CLUSTER KEYSLOT), hash tags included', async () => {
    const keys = ['', 'a', 'foo', '{user1000}.following', 'foo{}{bar}', 'foo{{bar}}zap', 'foo{bar}{zap}', '키:값', 'gw:quota:{com.example.a:x}:2026-05-01', `${uniquePrefix('slot')}gw:usage:x`];
    for (const key of keys) expect([key, keySlot(key)]).toEqual([key, Number(await raw.call('CLUSTER', 'KEYSLOT', key))]);
  });

  test("a scope's quota day keys share one slot: the month is one MGET on one node", async () => {
    const { store, cleanup } = await openTestStore('cluster', 'quota-slot');
    try {
      const prefix = (store as RedisStore).prefix;
      const days = Array.from({ length: 31 }, (_, i) => `2026-05-${String(i + 1).padStart(2, '0')}`);
      const keys = days.map((d) => prefix + quotaKey('com.example.a', 'k:k_abc', d));
      expect(new Set(keys.map(keySlot)).size).toBe(1);
      for (const [i, key] of keys.entries()) await raw.set(key, String(i));
      // One raw MGET (which would fail across slots) reads them all.
      expect(await raw.mget(...keys)).toEqual(days.map((_, i) => String(i)));
      // Other extensions and scopes spread over the slots.
      const scopes = ['x', 'k:k_1', 'k:k_2', 'k:k_3'].flatMap((scope) => ['com.example.a', 'com.example.b', 'com.example.c'].map((ext) => keySlot(prefix + quotaKey(ext, scope, days[0] ?? ''))));
      expect(new Set(scopes).size).toBeGreaterThan(1);
    } finally {
      await cleanup();
    }
  });

  test('list, listPage and getMany span every master', async () => {
    const { store, cleanup } = await openTestStore('cluster', 'span');
    try {
      const prefix = (store as RedisStore).prefix;
      const masters = raw.nodes('master');
      expect(masters).toHaveLength(3);
      const keys = Array.from({ length: 60 }, (_, i) => `k:${String(i).padStart(2, '0')}`);
      for (const key of keys) await store.set(key, key.toUpperCase());
      // Each master holds some of them.
      const held = await Promise.all(masters.map(async (m) => (await m.keys(`${escapeRedisGlob(prefix)}*`)).length));
      expect(held.every((n) => n > 0)).toBe(true);
      expect(held.reduce((a, b) => a + b, 0)).toBe(60);
      expect((await store.list('k:')).map((e) => e.key)).toEqual(keys);
      const first = await store.listPage('k:', { limit: 25 });
      const second = await store.listPage('k:', { after: first.next, limit: 50 });
      expect([...first.items, ...second.items].map((e) => e.key)).toEqual(keys);
      expect(second.next).toBeUndefined();
      expect(await store.getMany([...keys].reverse())).toEqual([...keys].reverse().map((k) => k.toUpperCase()));
    } finally {
      await cleanup();
    }
  });

  test('createStore with a redis+cluster:// URL: a Redis store on the cluster; time() asks one node for every instance', async () => {
    const prefix = uniquePrefix('create-cluster');
    const store = await createStore({ redisUrl: clusterUrl(), redisKeyPrefix: prefix, dataDir: os.tmpdir() });
    try {
      expect(store.kind).toBe('redis-cluster');
      expect((store as RedisStore).cluster).toBe(true);
      await store.set('a', '1');
      expect(await store.get('a')).toBe('1');
      expect(await store.time()).toBeGreaterThan(0);
    } finally {
      await deleteClusterKeys(prefix);
      await store.close();
    }
  });

  (postgresAvailable ? test : test.skip)('createStore with DATABASE_URL and a cluster URL: PostgreSQL with the cluster beside it, and its kind says so', async () => {
    const schema = uniqueSchema('split-cluster');
    const prefix = uniquePrefix('split-cluster');
    const store = await createStore({ databaseUrl: postgresUrl(), databaseSchema: schema, redisUrl: clusterUrl(), redisKeyPrefix: prefix, dataDir: os.tmpdir() });
    try {
      expect(store.kind).toBe('postgres+redis-cluster');
    } finally {
      await store.close();
      await deleteClusterKeys(prefix);
      await dropPostgresSchema(schema);
    }
  });

  test('a cluster node given as one server (REDIS_URL=redis://node) fails the start saying so, not with a CROSSSLOT later; plain servers given as a cluster get a hint', async () => {
    const node = clusterUrl()
      .replace(/^redis\+cluster:\/\//, '')
      .split(',')[0];
    const err = await createStore({ redisUrl: `redis://${node}`, redisKeyPrefix: uniquePrefix('node-as-server'), dataDir: os.tmpdir() }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(err)).toMatch(/is a Redis Cluster node: connect with REDIS_CLUSTER_NODES=/);
    if (redisAvailable) {
      const plain = new URL(redisUrl());
      const err2 = await createStore({ redisUrl: `redis+cluster://${plain.host}`, redisKeyPrefix: uniquePrefix('server-as-cluster'), dataDir: os.tmpdir() }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(String(err2)).toMatch(/are these nodes of a Redis Cluster/);
    }
  });
});

const describePostgres = postgresAvailable ? describe : describe.skip;

describePostgres('PostgreSQL store specifics', () => {
  /** A fresh schema name, dropped after the test. */
  const schemas: string[] = [];
  function newSchema(label: string): string {
    const schema = uniqueSchema(label);
    schemas.push(schema);
    return schema;
  }
  afterEach(async () => {
    for (const schema of schemas.splice(0)) await dropPostgresSchema(schema);
  });

  async function rawQuery<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    const client = new pg.Client({ connectionString: postgresUrl() });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  test('the schema is created and migrated once, also when several instances start at once', async () => {
    const schema = newSchema('migrate');
    const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore({ url: postgresUrl(), schema, poolSize: 2 })));
    try {
      await stores[0]!.set('k', 'v');
      expect(await stores[3]!.get('k')).toBe('v');
      const versions = await rawQuery<{ version: number }>(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
      expect(versions.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      // Opening again applies nothing and keeps the data.
      const client = new pg.Client({ connectionString: postgresUrl() });
      await client.connect();
      try {
        expect(await migrate(client, schema)).toEqual([]);
      } finally {
        await client.end();
      }
      expect(await stores[1]!.get('k')).toBe('v');
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  test('a later migration is applied on the next start, in its own version', async () => {
    const schema = newSchema('migrate-next');
    const store = await openPostgresStore({ url: postgresUrl(), schema, poolSize: 1 });
    await store.set('kept', 'v');
    await store.close();
    const next = [...MIGRATIONS, { version: 999, name: 'test column', sql: 'ALTER TABLE kv ADD COLUMN note text' }];
    const client = new pg.Client({ connectionString: postgresUrl() });
    await client.connect();
    try {
      expect(await migrate(client, schema, next)).toEqual([999]);
      expect(await migrate(client, schema, next)).toEqual([]);
    } finally {
      await client.end();
    }
    const columns = await rawQuery<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'kv' ORDER BY column_name`, [schema]);
    expect(columns.map((c) => c.column_name)).toEqual(['expires_at', 'key', 'note', 'value']);
    const reopened = await openPostgresStore({ url: postgresUrl(), schema, poolSize: 1 });
    try {
      expect(await reopened.get('kept')).toBe('v');
    } finally {
      await reopened.close();
    }
  });

  test('a role without CREATE on the database starts on a schema made for it', async () => {
    const schema = newSchema('granted');
    const role = `${schema}_role`;
    const password = randomBytes(12).toString('hex');
    // A password, so the role logs in whether loopback is trusted or asks for one (PUBLIC has no
    // CREATE on a database by default).
    await rawQuery(`CREATE ROLE "${role}" LOGIN PASSWORD '${password}'`);
    try {
      await rawQuery(`CREATE SCHEMA "${schema}" AUTHORIZATION "${role}"`);
      const url = new URL(postgresUrl());
      url.username = role;
      url.password = password;
      const store = await openPostgresStore({ url: url.toString(), schema, poolSize: 1 });
      try {
        await store.set('k', 'v');
        expect(await store.get('k')).toBe('v');
      } finally {
        await store.close();
      }
      // Without a schema of its own it cannot start, and says why.
      await expect(openPostgresStore({ url: url.toString(), schema: `${schema}_other`, poolSize: 1 })).rejects.toThrow(/permission denied/);
    } finally {
      await rawQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await rawQuery(`DROP OWNED BY "${role}"`);
      await rawQuery(`DROP ROLE "${role}"`);
    }
  });

  test('a schema name that is not a plain identifier is refused before connecting', async () => {
    await expect(openPostgresStore({ url: postgresUrl(), schema: 'Bad"; DROP' })).rejects.toThrow(/invalid PostgreSQL schema name/);
  });

  test('sweep removes expired rows only', async () => {
    const { store, cleanup } = await openTestStore('postgres', 'sweep');
    try {
      const pgStore = store as PostgresStore;
      await store.set('live', 'v', 60_000);
      await store.set('forever', 'v');
      await store.set('gone1', 'v', TTL);
      await store.set('gone2', 'v', TTL);
      expect(await pgStore.sweep()).toBe(0);
      await sleep(AFTER_EXPIRY);
      expect(await pgStore.sweep()).toBe(2);
      const rows = await rawQuery<{ key: string }>(`SELECT key FROM "${pgStore.schema}".kv ORDER BY key`);
      expect(rows.map((r) => r.key)).toEqual(['forever', 'live']);
    } finally {
      await cleanup();
    }
  });

  test("expiry follows the server's clock, not this process's", async () => {
    const { store, cleanup } = await openTestStore('postgres', 'clock');
    const realNow = Date.now.bind(Date);
    try {
      await store.set('k', 'v', 60_000);
      // This instance's clock runs two minutes ahead (another instance's would be on time).
      const skewed = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 120_000);
      try {
        expect(await store.get('k')).toBe('v');
        const left = await store.ttl('k');
        expect(left).not.toBeNull();
        expect(left!).toBeGreaterThan(50_000);
        expect(await store.setIfAbsent('k', 'other')).toBe(false);
      } finally {
        skewed.mockRestore();
      }
    } finally {
      await cleanup();
    }
  });

  test('increment refuses a result past 2^53 - 1 and writes nothing', async () => {
    const { store, cleanup } = await openTestStore('postgres', 'overflow');
    try {
      await store.set('n', String(Number.MAX_SAFE_INTEGER - 1));
      expect(await store.increment('n')).toBe(Number.MAX_SAFE_INTEGER);
      await expect(store.increment('n')).rejects.toThrow(RangeError);
      expect(await store.get('n')).toBe(String(Number.MAX_SAFE_INTEGER));
      await store.set('big', '99999999999999999999999');
      await expect(store.increment('big')).rejects.toThrow(/not an integer or out of range/);
    } finally {
      await cleanup();
    }
  });

  test('an unreachable server fails the open as "store unavailable", its URL shown without the password', async () => {
    const port = await freePort();
    const started = Date.now();
    const err = await openPostgresStore({ url: `postgres://postgres:hunter2secret@127.0.0.1:${port}/db`, schema: 'unused' }).then(
      () => new Error('expected a rejection'),
      (e: unknown) => e as Error,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.message).not.toContain('hunter2secret');
    expect(isStoreUnavailable(err)).toBe(true);
  });

  test('while the server is away calls fail fast as "store unavailable"; the store and its subscribers recover when it is back', async () => {
    const proxy = await startTcpProxy(postgresUrl());
    const schema = newSchema('outage');
    const store = await openPostgresStore({ url: proxy.url, schema, poolSize: 2, connectTimeoutMs: 1_000 });
    const box = inbox();
    try {
      await store.set('k', 'v');
      await store.subscribe('events', box.handler);
      await store.publish('events', 'before');
      expect(await box.next()).toBe('before');

      await proxy.stop();
      const started = Date.now();
      const failures = await Promise.all(
        [store.get('k'), store.set('k', 'w'), store.ping()].map((p) =>
          p.then(
            () => undefined,
            (e: unknown) => e,
          ),
        ),
      );
      for (const failure of failures) expect(isStoreUnavailable(failure)).toBe(true);
      expect(Date.now() - started).toBeLessThan(5_000);

      await proxy.start();
      await waitFor(async () => (await store.get('k')) === 'v', 10_000);
      // The LISTEN connection came back and listens to the channel again.
      await waitFor(async () => {
        await store.publish('events', 'after');
        await sleep(50);
        return box.messages.includes('after');
      }, 10_000);
    } finally {
      await store.close();
      await proxy.stop();
    }
  });

  test('a closed store rejects calls as "store unavailable"', async () => {
    const { store, cleanup } = await openTestStore('postgres', 'closed');
    await store.close();
    try {
      const err = await store.get('k').then(
        () => new Error('expected a rejection'),
        (e: unknown) => e,
      );
      expect(isStoreUnavailable(err)).toBe(true);
      await expect(store.ping()).rejects.toThrow();
    } finally {
      await cleanup();
    }
  });
});

describe('store outages', () => {
  test('a stalled Redis (SIGSTOP): a command times out within a second; once a PING confirms the stall, commands fail at once, all as "unavailable"; back after SIGCONT', async () => {
    const redis = await startPrivateRedis();
    const store = createRedisStore({ url: redis.url, prefix: 'stall:' });
    try {
      await store.set('k', 'v');
      redis.pause();
      let started = Date.now();
      const first = await store.get('k').catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(isStoreUnavailable(first)).toBe(true);
      // The timeout alone could be a busy server: a PING (up to another second) confirms it.
      await sleep(1_500);
      started = Date.now();
      const results = await Promise.all(
        [store.get('k'), store.increment('n'), store.set('k', 'w'), store.setAdd('s', 'm'), store.setPage('s', { limit: 1 }), store.ping()].map((p) =>
          p.then(
            () => 'answered',
            (e: unknown) => e,
          ),
        ),
      );
      expect(Date.now() - started).toBeLessThan(200);
      for (const r of results) expect(isStoreUnavailable(r)).toBe(true);
      redis.resume();
      await waitFor(async () => (await store.get('k')) === 'v', 5_000);
      await store.ping();
    } finally {
      await store.close();
      await redis.stop();
    }
  });

  (redisAvailable ? test : test.skip)('a process busy past the command timeout does not take its own lag for a stalled Redis', async () => {
    const prefix = uniquePrefix('lag');
    const store = createRedisStore({ url: redisUrl(), prefix, commandTimeoutMs: 50 });
    try {
      await store.ping();
      await store.set('k', 'v');
      const reply = store.get('k');
      // Busy for six times the timeout: the reply is already waiting in the socket when the timer fires.
      const until = Date.now() + 300;
      while (Date.now() < until) {
        // blocking the event loop on purpose
      }
      expect(await reply).toBe('v');
      expect(await store.get('k')).toBe('v');
    } finally {
      await deleteRedisKeys(prefix);
      await store.close();
    }
  });

  test('a killed Redis: commands fail at once (no offline-queue wait) until it is back', async () => {
    const redis = await startPrivateRedis();
    const store = createRedisStore({ url: redis.url, prefix: 'killed:' });
    try {
      await store.set('k', 'v');
      await redis.kill();
      await waitFor(async () => isStoreUnavailable(await store.get('k').catch((e: unknown) => e)), 3_000);
      const started = Date.now();
      for (let i = 0; i < 20; i++) expect(isStoreUnavailable(await store.get('k').catch((e: unknown) => e))).toBe(true);
      expect(Date.now() - started).toBeLessThan(200);
      await redis.restart();
      await waitFor(async () => (await store.get('k')) === 'v', 10_000);
    } finally {
      await store.close();
      await redis.stop();
    }
  });

  test('a SQLite file locked by another process: writes fail as "unavailable" (then at once), reads go on, writes resume when the lock is gone', async () => {
    const dir = tempDir('locked');
    const store = createSqliteStore({ file: path.join(dir, 'store.sqlite') });
    const other = new Database(path.join(dir, 'store.sqlite'));
    try {
      await store.set('k', 'v');
      other.exec('BEGIN IMMEDIATE');
      const failed = await store.set('k', 'w').catch((e: unknown) => e);
      expect(isStoreUnavailable(failed)).toBe(true);
      const started = Date.now();
      for (const write of [
        () => store.increment('n'),
        () => store.delete('k'),
        () => store.setIfAbsent('x', '1'),
        () => store.take('k'),
        () => store.setAdd('s', 'm'),
        () => store.setRemove('s', 'm'),
        () => store.setClear('s'),
      ]) {
        expect(isStoreUnavailable(await write().catch((e: unknown) => e))).toBe(true);
      }
      expect(Date.now() - started).toBeLessThan(200);
      expect(await store.get('k')).toBe('v');
      await expect(store.ping()).rejects.toThrow();
      other.exec('ROLLBACK');
      await waitFor(async () => await store.set('k', 'w').then(() => true), 5_000);
      expect(await store.get('k')).toBe('w');
      await store.ping();
    } finally {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('createStore', () => {
  test('without a Redis URL: SQLite at <dataDir>/cek-gateway.sqlite', async () => {
    const dir = tempDir('create');
    const dataDir = path.join(dir, 'data');
    const store = await createStore({ redisUrl: undefined, redisKeyPrefix: 'unused:', dataDir });
    try {
      expect(store.kind).toBe('sqlite');
      await store.set('k', 'v');
      expect(fs.existsSync(path.join(dataDir, 'cek-gateway.sqlite'))).toBe(true);
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an unreachable Redis fails with a message naming the URL without its password', async () => {
    const port = await freePort();
    const attempt = createStore({ redisUrl: `redis://user:hunter2secret@127.0.0.1:${port}/0`, redisKeyPrefix: 'x:', dataDir: os.tmpdir() });
    await expect(attempt).rejects.toThrow(`127.0.0.1:${port}`);
    const err = await attempt.then(
      () => new Error('expected a rejection'),
      (e: unknown) => e as Error,
    );
    expect(err.message).not.toContain('hunter2secret');
    expect(err.message).toContain('Cannot reach Redis');
  });

  (redisAvailable ? test : test.skip)('a Redis URL naming a database the server does not have fails the start (instead of using database 0)', async () => {
    const url = new URL(redisUrl());
    url.pathname = '/99';
    const err = await createStore({ redisUrl: url.href, redisKeyPrefix: uniquePrefix('db99'), dataDir: os.tmpdir() }).then(
      () => new Error('expected a rejection'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toMatch(/has no database 99/);
    url.pathname = '/3';
    const prefix = uniquePrefix('db3');
    const store = await createStore({ redisUrl: url.href, redisKeyPrefix: prefix, dataDir: os.tmpdir() });
    await store.close();
  });

  (redisAvailable ? test : test.skip)('with a Redis URL: Redis, with the given key prefix', async () => {
    const prefix = uniquePrefix('create');
    const store = await createStore({ redisUrl: redisUrl(), redisKeyPrefix: prefix, dataDir: os.tmpdir() });
    try {
      expect(store.kind).toBe('redis');
      expect((store as RedisStore).prefix).toBe(prefix);
    } finally {
      await store.close();
      await deleteRedisKeys(prefix);
    }
  });
});

describePostgres('createStore with DATABASE_URL', () => {
  test('PostgreSQL in the given schema', async () => {
    const schema = uniqueSchema('create');
    const store = await createStore({ databaseUrl: postgresUrl(), databaseSchema: schema, redisKeyPrefix: 'unused:', dataDir: os.tmpdir() });
    try {
      expect(store.kind).toBe('postgres');
      expect((store as PostgresStore).schema).toBe(schema);
      await store.set('k', 'v');
      expect(await store.get('k')).toBe('v');
    } finally {
      await store.close();
      await dropPostgresSchema(schema);
    }
  });

  (redisAvailable ? test : test.skip)('with REDIS_URL too: each key family lives in its home (durable in PostgreSQL, ephemeral in Redis), pub/sub through Redis', async () => {
    const schema = uniqueSchema('split');
    const prefix = uniquePrefix('split');
    const store = await createStore({ databaseUrl: postgresUrl(), databaseSchema: schema, redisUrl: redisUrl(), redisKeyPrefix: prefix, dataDir: os.tmpdir() });
    try {
      expect(store.kind).toBe('postgres+redis');
      if (!(store instanceof SplitStore)) throw new Error('expected the split store');
      const homes: Array<[string, 'durable' | 'ephemeral']> = [];
      for (const [name, family] of Object.entries(KEY_FAMILIES)) {
        const key = keyOf(name as KeyFamilyName, 'com.example.split', 'x');
        await store.set(key, name);
        const inDurable = (await store.durable.get(key)) === name;
        const inEphemeral = (await store.ephemeral.get(key)) === name;
        expect(inDurable !== inEphemeral).toBe(true);
        homes.push([name, inDurable ? 'durable' : 'ephemeral']);
        expect(homes.at(-1)?.[1]).toBe(family.durability);
      }
      expect(homes.filter(([, h]) => h === 'durable').map(([n]) => n)).toEqual(expect.arrayContaining(['extension', 'linkedToken', 'quotaDay', 'usage']));
      // An ordered set lives in the home of its key's family, like a key.
      const durableSet = keyOf('extension', 'set-home');
      const ephemeralSet = keyOf('pairingCode', 'set-home');
      await store.setAdd(durableSet, 'd');
      await store.setAdd(ephemeralSet, 'e');
      expect((await store.durable.setPage(durableSet, { limit: 5 })).members).toEqual(['d']);
      expect((await store.ephemeral.setPage(durableSet, { limit: 5 })).members).toEqual([]);
      expect((await store.ephemeral.setPage(ephemeralSet, { limit: 5 })).members).toEqual(['e']);
      expect((await store.durable.setPage(ephemeralSet, { limit: 5 })).members).toEqual([]);
      await store.setClear(durableSet);
      expect(await store.setRemove(ephemeralSet, 'e')).toBe(true);
      // Listing across families merges both homes in key order; a page at a time too.
      const all = (await store.list('')).map((e) => e.key);
      expect(all).toEqual([...all].sort());
      expect(all).toHaveLength(Object.keys(KEY_FAMILIES).length);
      const paged: string[] = [];
      let after: string | undefined;
      do {
        const page = await store.listPage('', { after, limit: 3 });
        paged.push(...page.items.map((e) => e.key));
        after = page.next;
      } while (after !== undefined);
      expect(paged).toEqual(all);
      const got: string[] = [];
      const off = await store.subscribe('split-test', (m) => got.push(m));
      await store.publish('split-test', 'hello');
      await waitFor(async () => Promise.resolve(got.length === 1), 5_000);
      await off();
    } finally {
      await deleteRedisKeys(prefix);
      await store.close();
      await dropPostgresSchema(schema);
    }
  });

  (redisAvailable ? test : test.skip)('with an unreachable REDIS_URL the start fails naming Redis (without its password)', async () => {
    const schema = uniqueSchema('split-down');
    const port = await freePort();
    const err = await createStore({ databaseUrl: postgresUrl(), databaseSchema: schema, redisUrl: `redis://:hunter2secret@127.0.0.1:${port}`, redisKeyPrefix: 'x:', dataDir: os.tmpdir() }).then(
      () => new Error('expected a rejection'),
      (e: unknown) => e,
    );
    await dropPostgresSchema(schema);
    expect(String((err as Error).message)).toMatch(/Cannot reach Redis at redis:\/\/.*127\.0\.0\.1/);
    expect(String((err as Error).message)).not.toContain('hunter2secret');
  });

  test('an unreachable PostgreSQL fails with a message naming the URL without its password', async () => {
    const port = await freePort();
    const attempt = createStore({ databaseUrl: `postgresql://me:hunter2secret@127.0.0.1:${port}/x`, redisKeyPrefix: 'x:', dataDir: os.tmpdir() });
    const err = await attempt.then(
      () => new Error('expected a rejection'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.message).toContain('PostgreSQL');
    expect(err.message).not.toContain('hunter2secret');
  });
});
