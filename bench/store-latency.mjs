// Store round trips, one at a time (no concurrency): p50/p99 of get and set on SQLite, Redis and
// PostgreSQL over loopback, and of one listPage of 100 under a prefix holding PAGE_ROWS keys.
// Run after `npm run build`: node bench/store-latency.mjs
// Env: REDIS_URL (default redis://127.0.0.1:6379), BENCH_DATABASE_URL (default the local PostgreSQL),
// N (round trips per measure, default 5000), PAGE_ROWS (default 100000). Cleans up what it writes.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openPostgresStore } from '../dist/store/postgresStore.js';
import { createRedisStore } from '../dist/store/redisStore.js';
import { createSqliteStore } from '../dist/store/sqliteStore.js';

const N = Number(process.env.N ?? 5000);
const PAGE_ROWS = Number(process.env.PAGE_ROWS ?? 100_000);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const pgUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const run = randomBytes(4).toString('hex');

function pct(samples, p) {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function time(n, fn) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn(i);
    out.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  return out;
}

const fmt = (us) => `${us.toFixed(0)} µs`;

async function measure(name, store) {
  const value = JSON.stringify({ sealed: randomBytes(300).toString('base64') });
  await time(500, (i) => store.set(`warm:${i}`, value)); // warm-up: connections, plans, caches
  await time(500, (i) => store.get(`warm:${i}`));
  const set = await time(N, (i) => store.set(`k:${i % 1000}`, value));
  const get = await time(N, (i) => store.get(`k:${i % 1000}`));
  // A prefix of PAGE_ROWS keys, then a page from the middle.
  const rows = [];
  for (let i = 0; i < PAGE_ROWS; i += 1000) {
    await Promise.all(Array.from({ length: Math.min(1000, PAGE_ROWS - i) }, (_, j) => store.set(`user:${String(i + j).padStart(8, '0')}`, value)));
  }
  const page = await time(50, () => store.listPage('user:', { after: `user:${String(PAGE_ROWS / 2).padStart(8, '0')}`, limit: 100 }));
  rows.push(name);
  console.log(`| ${name} | ${fmt(pct(get, 50))} | ${fmt(pct(get, 99))} | ${fmt(pct(set, 50))} | ${fmt(pct(set, 99))} | ${(pct(page, 50) / 1000).toFixed(2)} ms |`);
}

console.log(`N=${N} sequential round trips; listPage(limit 100) with ${PAGE_ROWS} keys under the prefix; ${os.cpus().length} CPUs, Node ${process.version}`);
console.log('| store | get p50 | get p99 | set p50 | set p99 | listPage p50 |');
console.log('|---|---|---|---|---|---|');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cek-store-latency-'));
const sqlite = createSqliteStore({ file: path.join(dir, 's.sqlite') });
try {
  await measure('sqlite', sqlite);
} finally {
  await sqlite.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

const prefix = `bench:latency:${run}:`;
const redis = createRedisStore({ url: redisUrl, prefix });
try {
  await measure('redis', redis);
} finally {
  let cursor = '0';
  const { Redis } = await import('ioredis');
  const raw = new Redis(redisUrl);
  do {
    const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await raw.del(...keys);
  } while (cursor !== '0');
  raw.disconnect();
  await redis.close();
}

const schema = `bench_latency_${run}`;
const postgres = await openPostgresStore({ url: pgUrl, schema });
try {
  await measure('postgres', postgres);
} finally {
  await postgres.close();
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
}
