import path from 'node:path';
import { openPostgresStore } from './postgresStore.js';
import { createRedisStore, redactRedisUrl } from './redisStore.js';
import { createSqliteStore } from './sqliteStore.js';
import { SplitStore } from './splitStore.js';
import type { Store } from './store.js';
import { messageOf } from '../http/errorInfo.js';

export interface CreateStoreOptions {
  /** Redis when set (and no database URL); the embedded SQLite store when neither is set. */
  redisUrl?: string | undefined;
  /** Namespace for every Redis key and channel (config `REDIS_KEY_PREFIX`). */
  redisKeyPrefix: string;
  /** PostgreSQL when set (config `DATABASE_URL`). */
  databaseUrl?: string | undefined;
  /** The PostgreSQL schema of the store's tables (config `DATABASE_SCHEMA`). */
  databaseSchema?: string | undefined;
  /** Directory of the SQLite file `cek-gateway.sqlite` (created when missing). */
  dataDir: string;
  /** Where a choice the operator should know about is reported (the service's logger). */
  warn?: (message: string) => void;
}

export const SQLITE_FILE_NAME = 'cek-gateway.sqlite';
export const DEFAULT_DATABASE_SCHEMA = 'cek_gateway';

/**
 * Opens the configured store: PostgreSQL when `databaseUrl` is set (with Redis for the ephemeral
 * key families when `redisUrl` is set too), else Redis when `redisUrl` is set, else SQLite. PostgreSQL and Redis are reached once here, so a wrong URL or a server that is
 * down fails the start with a clear message (the URL is shown without its password); PostgreSQL
 * also creates or migrates its schema here.
 */
export async function createStore(opts: CreateStoreOptions): Promise<Store> {
  const redisUrl = opts.redisUrl !== undefined && opts.redisUrl !== '' ? opts.redisUrl : undefined;
  if (opts.databaseUrl !== undefined && opts.databaseUrl !== '') {
    // Its error names the URL (without the password) and the schema.
    const durable = await openPostgresStore({ url: opts.databaseUrl, schema: opts.databaseSchema ?? DEFAULT_DATABASE_SCHEMA });
    if (redisUrl === undefined) return durable;
    try {
      // Durable families in PostgreSQL, ephemeral ones in Redis (store/keys.ts says which is which).
      return new SplitStore(durable, await openRedis(redisUrl, opts.redisKeyPrefix));
    } catch (err) {
      await durable.close();
      throw err;
    }
  }
  if (redisUrl !== undefined) return openRedis(redisUrl, opts.redisKeyPrefix);
  return createSqliteStore({ file: path.join(opts.dataDir, SQLITE_FILE_NAME) });
}

async function openRedis(url: string, prefix: string): Promise<Store> {
  const store = createRedisStore({ url, prefix });
  try {
    await store.ping();
    await store.verifyDatabase();
  } catch (err) {
    await store.close();
    throw new Error(`Cannot reach Redis at ${redactRedisUrl(url)}: ${messageOf(err)}`, { cause: err });
  }
  return store;
}
