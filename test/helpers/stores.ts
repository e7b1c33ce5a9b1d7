import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cluster, Redis } from 'ioredis';
import pg from 'pg';
import { openPostgresStore } from '../../src/store/postgresStore.js';
import { createRedisStore, escapeRedisGlob } from '../../src/store/redisStore.js';
import { clusterUrlOf, parseClusterNodes } from '../../src/store/redisTarget.js';
import { createSqliteStore } from '../../src/store/sqliteStore.js';
import { SplitStore } from '../../src/store/splitStore.js';
import type { Store } from '../../src/store/store.js';

/**
 * Test stores. Redis comes from REDIS_URL (set by jest's globalSetup, test/redis-global-setup.cjs,
 * which starts a private redis-server when none is given); a shared Redis is never flushed: every
 * test store has its own key prefix and its cleanup deletes only the keys under it.
 *
 * A three-master Redis Cluster comes from REDIS_CLUSTER_NODES (test/redis-cluster-global-setup.cjs
 * starts one); its test stores are Redis stores on it (kind `cluster`), cleaned the same way.
 *
 * PostgreSQL comes from CEK_TEST_DATABASE_URL: a database of this run's own, created and dropped by
 * test/postgres-global-setup.cjs. Every test store gets a schema of its own, dropped by its cleanup.
 */

export type StoreKindName = 'sqlite' | 'redis' | 'cluster' | 'postgres' | 'split';

/** A Redis server is available to this run (REDIS_URL set, and the global setup did not skip Redis). */
export const redisAvailable: boolean = (process.env['REDIS_URL'] ?? '') !== '' && process.env['REDIS_TESTS'] !== 'skip';

/** The kinds a contract or integration suite should run against: `describe.each(storeKinds)`. */
export const storeKinds: StoreKindName[] = redisAvailable ? ['sqlite', 'redis'] : ['sqlite'];

/** A PostgreSQL database is available to this run (the global setup created one). */
export const postgresAvailable: boolean = (process.env['CEK_TEST_DATABASE_URL'] ?? '') !== '' && process.env['POSTGRES_TESTS'] !== 'skip';

/** A Redis Cluster is available to this run (REDIS_CLUSTER_NODES set, and the global setup did not skip it). */
export const clusterAvailable: boolean = (process.env['REDIS_CLUSTER_NODES'] ?? '') !== '' && process.env['REDIS_CLUSTER_TESTS'] !== 'skip';

/**
 * The kinds of the store contract suite: `storeKinds` plus PostgreSQL (alone, and with Redis) and
 * the Redis Cluster.
 */
export const contractStoreKinds: StoreKindName[] = [
  ...storeKinds,
  ...(postgresAvailable ? (['postgres'] as const) : []),
  ...(postgresAvailable && redisAvailable ? (['split'] as const) : []),
  ...(clusterAvailable ? (['cluster'] as const) : []),
];

/**
 * The kinds of the suites whose counts must be exact across instances (the gateway's limits, the
 * linking flow): `storeKinds` plus PostgreSQL and the Redis Cluster.
 */
export const exactStoreKinds: StoreKindName[] = [...storeKinds, ...(postgresAvailable ? (['postgres'] as const) : []), ...(clusterAvailable ? (['cluster'] as const) : [])];

/** `test:<label>:<pid>:<random>:`, unique per call. */
export function uniquePrefix(label: string): string {
  return `test:${label}:${process.pid}:${randomBytes(6).toString('hex')}:`;
}

export function redisUrl(): string {
  const url = process.env['REDIS_URL'];
  if (url === undefined || url === '' || !redisAvailable) throw new Error('Redis is not available in this test run (REDIS_URL not set)');
  return url;
}

/** The `redis+cluster://` URL of the test cluster. */
export function clusterUrl(): string {
  const nodes = process.env['REDIS_CLUSTER_NODES'];
  if (nodes === undefined || nodes === '' || !clusterAvailable) throw new Error('A Redis Cluster is not available in this test run (REDIS_CLUSTER_NODES not set)');
  return clusterUrlOf(nodes);
}

export function postgresUrl(): string {
  const url = process.env['CEK_TEST_DATABASE_URL'];
  if (url === undefined || url === '' || !postgresAvailable) throw new Error('PostgreSQL is not available in this test run (CEK_TEST_DATABASE_URL not set)');
  return url;
}

/** `t_<label>_<pid>_<random>`: a schema name unique per call, within PostgreSQL's 63 bytes. */
export function uniqueSchema(label: string): string {
  const safe = label
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 30);
  return `t_${safe}_${process.pid}_${randomBytes(6).toString('hex')}`;
}

/** Drops one schema this test run created (never anything else). */
export async function dropPostgresSchema(schema: string): Promise<void> {
  if (!/^t_[a-z0-9_]+$/.test(schema)) throw new Error(`refusing to drop schema "${schema}": not a test schema`);
  const client = new pg.Client({ connectionString: postgresUrl(), connectionTimeoutMillis: 3_000 });
  client.on('error', () => {
    // Reported by the query that fails.
  });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
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
  if (kind === 'split') {
    // PostgreSQL for the durable families, Redis for the ephemeral ones (store/splitStore.ts).
    const durable = await openTestStore('postgres', label);
    const ephemeral = await openTestStore('redis', label);
    const store = new SplitStore(durable.store, ephemeral.store);
    return {
      store,
      cleanup: async () => {
        await Promise.allSettled([durable.cleanup(), ephemeral.cleanup()]);
      },
    };
  }
  if (kind === 'postgres') {
    const schema = uniqueSchema(safeLabel(label));
    // Small pools: the server is shared by several test runs (max_connections).
    const store = await openPostgresStore({ url: postgresUrl(), schema, poolSize: 4 });
    return {
      store,
      cleanup: async () => {
        try {
          await store.close();
        } finally {
          await dropPostgresSchema(schema);
        }
      },
    };
  }
  const prefix = uniquePrefix(safeLabel(label));
  const cluster = kind === 'cluster';
  const store = createRedisStore({ url: cluster ? clusterUrl() : redisUrl(), prefix });
  return {
    store,
    cleanup: async () => {
      try {
        await (cluster ? deleteClusterKeys(prefix) : deleteRedisKeys(prefix));
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

/** deleteRedisKeys on every master of the test cluster (one DEL per key: keys of one DEL must share a slot). */
export async function deleteClusterKeys(prefix: string): Promise<number> {
  if (prefix === '') throw new Error('refusing to delete Redis keys without a prefix');
  const cluster = new Cluster(parseClusterNodes(process.env['REDIS_CLUSTER_NODES'] ?? ''), { redisOptions: { connectTimeout: 2000 } });
  cluster.on('error', () => {
    // Reported by the command that fails.
  });
  let deleted = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      cluster.once('ready', () => resolve());
      cluster.once('error', reject);
    });
    const pattern = `${escapeRedisGlob(prefix)}*`;
    for (const node of cluster.nodes('master')) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) deleted += await node.del(key);
      } while (cursor !== '0');
    }
  } finally {
    cluster.disconnect();
  }
  return deleted;
}

function safeLabel(label: string): string {
  return label.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40);
}

/** Every key the store holds belongs to a family of src/store/keys.ts (nothing is written outside the table). */
export async function keysOutsideFamilies(store: Store): Promise<string[]> {
  const { familyOf } = await import('../../src/store/keys.js');
  return (await store.list('')).map((e) => e.key).filter((key) => familyOf(key) === undefined);
}
