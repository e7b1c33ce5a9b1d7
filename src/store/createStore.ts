import path from 'node:path';
import { openPostgresStore } from './postgresStore.js';
import { redactPostgresUrl } from './postgresErrors.js';
import { createRedisStore, redactRedisUrl } from './redisStore.js';
import { createSqliteStore } from './sqliteStore.js';
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
 * Opens the configured store: PostgreSQL when `databaseUrl` is set, else Redis when `redisUrl` is
 * set, else SQLite. PostgreSQL and Redis are reached once here, so a wrong URL or a server that is
 * down fails the start with a clear message (the URL is shown without its password); PostgreSQL
 * also creates or migrates its schema here.
 */
export async function createStore(opts: CreateStoreOptions): Promise<Store> {
  const redisUrl = opts.redisUrl !== undefined && opts.redisUrl !== '' ? opts.redisUrl : undefined;
  if (opts.databaseUrl !== undefined && opts.databaseUrl !== '') {
    if (redisUrl !== undefined) {
      // Durable families in PostgreSQL and ephemeral ones in Redis is a later step (issue 15).
      opts.warn?.(`Both DATABASE_URL and REDIS_URL are set: everything is kept in PostgreSQL (${redactPostgresUrl(opts.databaseUrl)}); REDIS_URL is not used yet.`);
    }
    // Its error names the URL (without the password) and the schema.
    return openPostgresStore({ url: opts.databaseUrl, schema: opts.databaseSchema ?? DEFAULT_DATABASE_SCHEMA });
  }
  if (redisUrl !== undefined) {
    const store = createRedisStore({ url: redisUrl, prefix: opts.redisKeyPrefix });
    try {
      await store.ping();
    } catch (err) {
      await store.close();
      throw new Error(`Cannot reach Redis at ${redactRedisUrl(redisUrl)}: ${messageOf(err)}`, { cause: err });
    }
    return store;
  }
  return createSqliteStore({ file: path.join(opts.dataDir, SQLITE_FILE_NAME) });
}
