import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createRedisStore, escapeRedisGlob } from '../../src/store/redisStore.js';
import { createSqliteStore } from '../../src/store/sqliteStore.js';
import type { Store } from '../../src/store/store.js';

/**
 * Test stores. Redis comes from REDIS_URL (set by jest's globalSetup, test/redis-global-setup.cjs,
 * which starts a private redis-server when none is given); a shared Redis is never flushed: every
 * test store has its own key prefix and its cleanup deletes only the keys under it.
 */

export type StoreKindName = 'sqlite' | 'redis';

/** A Redis server is available to this run (REDIS_URL set, and the global setup did not skip Redis). */
export const redisAvailable: boolean = (process.env['REDIS_URL'] ?? '') !== '' && process.env['REDIS_TESTS'] !== 'skip';

/** The kinds a contract or integration suite should run against: `describe.each(storeKinds)`. */
export const storeKinds: StoreKindName[] = redisAvailable ? ['sqlite', 'redis'] : ['sqlite'];

/** `test:<label>:<pid>:<random>:`, unique per call. */
export function uniquePrefix(label: string): string {
  return `test:${label}:${process.pid}:${randomBytes(6).toString('hex')}:`;
}

export function redisUrl(): string {
  const url = process.env['REDIS_URL'];
  if (url === undefined || url === '' || !redisAvailable) throw new Error('Redis is not available in this test run (REDIS_URL not set)');
  return url;
}

export interface TestStore {
  store: Store;
  /** Closes the store (again, if the test closed it already) and removes what it wrote. */
  cleanup: () => Promise<void>;
}

/** A fresh, empty store of the given kind. */
export async function openTestStore(kind: StoreKindName, label: string): Promise<TestStore> {
  if (kind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cek-store-${safeLabel(label)}-`));
    const store = createSqliteStore({ file: path.join(dir, 'store.sqlite') });
    return {
      store,
      cleanup: async () => {
        await store.close();
        // The directory holds the database and its -wal/-shm files.
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const prefix = uniquePrefix(safeLabel(label));
  const store = createRedisStore({ url: redisUrl(), prefix });
  return {
    store,
    cleanup: async () => {
      try {
        await deleteRedisKeys(prefix);
      } finally {
        await store.close();
      }
    },
  };
}

/** Deletes every key under `prefix` (SCAN + DEL on a connection of its own; never FLUSH). */
export async function deleteRedisKeys(prefix: string): Promise<number> {
  if (prefix === '') throw new Error('refusing to delete Redis keys without a prefix');
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1, connectTimeout: 2000 });
  redis.on('error', () => {
    // Reported by the command that fails.
  });
  let deleted = 0;
  try {
    const pattern = `${escapeRedisGlob(prefix)}*`;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

function safeLabel(label: string): string {
  return label.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40);
}
