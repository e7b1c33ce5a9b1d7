import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { CliEnv, StoreSettings } from '../config/cli.js';
import { createStore, SQLITE_FILE_NAME } from '../store/createStore.js';
import { createSqliteStore } from '../store/sqliteStore.js';
import type { Store } from '../store/store.js';
import { CliError } from './errors.js';
import { messageOf } from '../http/errorInfo.js';

function settingsOf(env: CliEnv): StoreSettings {
  try {
    return env.storeSettings();
  } catch (err) {
    throw new CliError(messageOf(err));
  }
}

/** A short description of the configured store for messages (no password). */
export function describeStore(store: Store, s: StoreSettings): string {
  if (store.kind === 'sqlite') return `SQLite ${path.join(s.dataDir, SQLITE_FILE_NAME)}`;
  if (store.kind === 'postgres') return `PostgreSQL (schema "${s.databaseSchema}")`;
  if (store.kind === 'postgres+redis' || store.kind === 'postgres+redis-cluster') {
    return `PostgreSQL (schema "${s.databaseSchema}") with ${store.kind === 'postgres+redis' ? 'Redis' : 'a Redis Cluster'} (key prefix "${s.redisKeyPrefix}")`;
  }
  return `${store.kind} (key prefix "${s.redisKeyPrefix}")`;
}

/** The store configured like the service (DATA_DIR, REDIS_URL / REDIS_KEY_PREFIX, DATABASE_URL / DATABASE_SCHEMA). */
export async function openConfiguredStore(env: CliEnv, o: { mustExist: boolean }): Promise<{ store: Store; settings: StoreSettings }> {
  const settings = settingsOf(env);
  const sqliteFile = path.join(settings.dataDir, SQLITE_FILE_NAME);
  const sqliteExisted = existsSync(sqliteFile);
  let store: Store;
  try {
    store = await createStore(settings);
  } catch (err) {
    throw new CliError(messageOf(err));
  }
  if (store.kind === 'sqlite' && o.mustExist && !sqliteExisted) {
    await store.close();
    // Opening created an empty database: it was not there, so take it away again.
    for (const f of [sqliteFile, `${sqliteFile}-wal`, `${sqliteFile}-shm`]) rmSync(f, { force: true });
    throw new CliError(`there is no store at ${sqliteFile} (DATA_DIR=${settings.dataDir}; set REDIS_URL for Redis, DATABASE_URL for PostgreSQL)`);
  }
  return { store, settings };
}

/**
 * The configured store for reading a consistent backup. SQLite: a copy made with SQLite's online
 * backup API (a consistent snapshot, taken while the service keeps writing), read through the
 * Store interface. Other stores are read as they are (Redis: key by key, see README "CLI").
 */
export async function openSnapshot(env: CliEnv): Promise<{ store: Store; label: string; close: () => Promise<void> }> {
  const { store, settings } = await openConfiguredStore(env, { mustExist: true });
  const label = describeStore(store, settings);
  if (store.kind !== 'sqlite') return { store, label, close: () => store.close() };
  await store.close();
  const dir = mkdtempSync(path.join(tmpdir(), 'cek-gateway-backup-'));
  const copy = path.join(dir, SQLITE_FILE_NAME);
  try {
    const db = new Database(path.join(settings.dataDir, SQLITE_FILE_NAME), { readonly: true, fileMustExist: true });
    try {
      await db.backup(copy);
    } finally {
      db.close();
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new CliError(`cannot take a snapshot of ${label}: ${messageOf(err)}`);
  }
  const snapshot = createSqliteStore({ file: copy });
  return {
    store: snapshot,
    label,
    close: async () => {
      await snapshot.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
