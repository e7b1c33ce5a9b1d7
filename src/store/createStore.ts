import path from 'node:path';
import { createRedisStore, redactRedisUrl } from './redisStore.js';
import { createSqliteStore } from './sqliteStore.js';
import type { Store } from './store.js';

export interface CreateStoreOptions {
  /** Redis when set; the embedded SQLite store otherwise. */
  redisUrl?: string | undefined;
  /** Namespace for every Redis key and channel (config `REDIS_KEY_PREFIX`). */
  redisKeyPrefix: string;
  /** Directory of the SQLite file `cek-gateway.sqlite` (created when missing). */
  dataDir: string;
}

export const SQLITE_FILE_NAME = 'cek-gateway.sqlite';

/**
 * Opens the configured store. With Redis it pings once, so a wrong URL or a server that is down
 * fails the start with a clear message (the URL is shown without its password).
 */
export async function createStore(opts: CreateStoreOptions): Promise<Store> {
  if (opts.redisUrl !== undefined && opts.redisUrl !== '') {
    const store = createRedisStore({ url: opts.redisUrl, prefix: opts.redisKeyPrefix });
    try {
      await store.ping();
    } catch (err) {
      await store.close();
      throw new Error(`Cannot reach Redis at ${redactRedisUrl(opts.redisUrl)}: ${(err as Error).message}`, { cause: err });
    }
    return store;
  }
  return createSqliteStore({ file: path.join(opts.dataDir, SQLITE_FILE_NAME) });
}
