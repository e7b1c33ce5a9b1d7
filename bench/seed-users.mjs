// The `scale` scenario's helper: links users FROM..TO-1 (`scale-user-<n>`) in the service's own store
// the way account linking does (TokenVault.link from dist/, sealed with the service's key: the
// record, and whatever else link writes, such as an index, are the real ones), in parallel batches,
// and reports on stdout as JSON (token lookups are timed by time-lookups.mjs, in a process of its own):
//   { seeded, seedSeconds, bytes: { perUser, total?, method } }
//   env: DATA_DIR | REDIS_URL + REDIS_KEY_PREFIX | DATABASE_URL + DATABASE_SCHEMA, ENCRYPTION_KEY,
//        EXTENSION_ID, FROM, TO
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { storeFromEnv } from './lib/storeFromEnv.mjs';
import { Keyring, decodeKey } from '../dist/security/keyring.js';
import { TokenVault } from '../dist/linking/vault.js';

const env = process.env;
const ext = env.EXTENSION_ID;
const from = Number(env.FROM);
const to = Number(env.TO);
const postgres = env.DATABASE_URL !== undefined && env.DATABASE_URL !== '';

/**
 * Seeding only: PostgreSQL commits without waiting for the WAL flush (`synchronous_commit=off`,
 * this process's sessions only; the rows are the same, a crash could lose the last ones). One
 * million single-row commits otherwise wait on the disk one after the other.
 */
function seedingUrl(url) {
  const u = new URL(url);
  u.searchParams.set('options', `${u.searchParams.get('options') ?? ''} -c synchronous_commit=off`.trim());
  return u.toString();
}

const store = await storeFromEnv(postgres ? { ...env, DATABASE_URL: seedingUrl(env.DATABASE_URL) } : env);

/**
 * The store the vault writes through: the token records lose `successPending`, the flag the first
 * answer after linking clears (TokenVault.update does it on that answer); a seeded user is one who
 * has had it, so the voice requests measured do not each pay that first answer's extra write.
 * Doing it in link's own write, instead of link then update (a read and a second write), halves
 * the seeding of a million users. Every other write (and every read) goes through unchanged.
 */
const answered = new Proxy(store, {
  get(target, prop) {
    if (prop === 'set') {
      return (key, value, ttlMs) => {
        if (key.startsWith('tok:')) {
          const record = JSON.parse(value);
          if (record.successPending === true) {
            delete record.successPending;
            value = JSON.stringify(record);
          }
        }
        return target.set(key, value, ttlMs);
      };
    }
    const v = Reflect.get(target, prop);
    return typeof v === 'function' ? v.bind(target) : v;
  },
});
const keyring = new Keyring([decodeKey(env.ENCRYPTION_KEY)]);
const seeder = new TokenVault(answered, keyring);
const userId = (n) => `scale-user-${n}`;

const t0 = performance.now();
// Batches of concurrent links: Redis pipelines them, PostgreSQL spreads them over its pool's
// connections, SQLite runs them one by one either way (each its own transaction).
const BATCH = 1_000;
for (let start = from; start < to; start += BATCH) {
  const links = [];
  for (let n = start; n < Math.min(to, start + BATCH); n++) {
    links.push(
      seeder.link(
        ext,
        userId(n),
        { accessToken: `access-${n}-${'a'.repeat(40)}`, refreshToken: `refresh-${n}-${'r'.repeat(40)}` },
        { expiresAt: Date.now() + 86_400_000, scope: 'points', tokenType: 'Bearer' },
      ),
    );
  }
  await Promise.all(links);
}
const seedSeconds = (performance.now() - t0) / 1000;

let bytes;
if (postgres) {
  // PostgreSQL: every table of the schema with its indexes and TOAST (pg_total_relation_size).
  await store.close();
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: env.DATABASE_URL });
  await client.connect();
  const { rows } = await client.query(
    `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`,
    [env.DATABASE_SCHEMA],
  );
  await client.end();
  const total = Number(rows[0].bytes);
  bytes = { total, perUser: total / to, method: "pg_total_relation_size of the schema's tables" };
} else if (env.REDIS_URL) {
  // Redis: the memory of a sample of the token records (MEMORY USAGE: key, value and overhead).
  const { Redis } = await import('ioredis');
  const redis = new Redis(env.REDIS_URL);
  let sum = 0;
  const sample = 500;
  for (let i = 0; i < sample; i++) sum += Number(await redis.memory('USAGE', `${env.REDIS_KEY_PREFIX}tok:${ext}:${userId(Math.floor(Math.random() * to))}`, 'SAMPLES', '0'));
  redis.disconnect();
  await store.close();
  bytes = { perUser: sum / sample, method: 'MEMORY USAGE of 500 random token records' };
} else {
  await store.close();
  // SQLite: the database file after the close (which checkpoints the WAL into it).
  const file = path.join(env.DATA_DIR, 'cek-gateway.sqlite');
  const total = statSync(file).size + (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);
  bytes = { total, perUser: total / to, method: 'database file size' };
}
process.stdout.write(`${JSON.stringify({ seeded: to - from, seedSeconds, bytes })}\n`);
