// The baselines of the forward scenario (bench/bare.mjs, floor.mjs, typical.mjs: self-contained
// programs on purpose): their store's token record, and starting them pinned to the service CPU.
import path from 'node:path';
import { floorRecord, SEAL_KEY, TOKEN, USER_ID } from './fixtures.mjs';
import { freePort, startNode, waitForHttp } from './proc.mjs';

/** Writes the sealed token record floor and typical read (their own SQLite file, Redis prefix or PostgreSQL schema). */
export async function seedFloorStore(ctx, store) {
  if (store.kind === 'redis') {
    await ctx.redis.set(`${store.floorPrefix}tok:${USER_ID}`, floorRecord());
    return;
  }
  if (store.kind === 'postgres') {
    // The table of our PostgreSQL store (src/store/postgresMigrations.ts), in a schema of this run.
    const q = `"${store.floorSchema}"`;
    await ctx.pgQuery(`CREATE SCHEMA IF NOT EXISTS ${q}`);
    await ctx.pgQuery(`CREATE TABLE IF NOT EXISTS ${q}.kv (key text COLLATE "C" PRIMARY KEY, value text NOT NULL, expires_at timestamptz)`);
    await ctx.pgQuery(`INSERT INTO ${q}.kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [`tok:${USER_ID}`, floorRecord()]);
    return;
  }
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(store.floorFile);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  db.prepare('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)').run(`tok:${USER_ID}`, floorRecord());
  db.close();
}

export async function startBaseline(ctx, script, name, store, secret) {
  const port = await freePort();
  const proc = startNode([path.join(ctx.benchDir, script)], {
    name,
    cpu: ctx.SERVICE_CPU,
    env: {
      PORT: String(port),
      TARGET_URL: `${ctx.TARGET}/points`,
      TOKEN,
      CEK_PUBLIC_KEY_FILE: ctx.publicKeyFile,
      CHATBOT_SECRET: secret ?? '',
      SEAL_KEY: SEAL_KEY.toString('base64'),
      STORE: store?.kind ?? '',
      SQLITE_FILE: store?.floorFile ?? '',
      REDIS_URL: ctx.redisUrl ?? '',
      KEY_PREFIX: store?.floorPrefix ?? '',
      DATABASE_URL: ctx.databaseUrl ?? '',
      DATABASE_SCHEMA: store?.floorSchema ?? '',
    },
  });
  ctx.servicePids.add(proc.pid);
  const url = `http://127.0.0.1:${port}`;
  // Any answer (these servers have no health route) means it listens.
  await waitForHttp(url, 20_000, proc);
  return { ...proc, url };
}
