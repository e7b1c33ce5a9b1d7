// The `scale` scenario's helper: links users FROM..TO-1 (`scale-user-<n>`) in the service's own store
// the way account linking does (TokenVault.link from dist/, sealed with the service's key, the
// first-answer flag cleared), then times token lookups (store read + AES-GCM open, what a voice
// request does) for random linked users, and reports on stdout as JSON:
//   { seeded, seedSeconds, lookup: { p50, p99, mean } (µs), bytes (store size, see below) }
//   env: DATA_DIR | REDIS_URL + REDIS_KEY_PREFIX, ENCRYPTION_KEY, EXTENSION_ID, FROM, TO, LOOKUPS
import { statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { createStore } from '../dist/store/createStore.js';
import { Keyring, decodeKey } from '../dist/security/keyring.js';
import { TokenVault } from '../dist/linking/vault.js';

const env = process.env;
const ext = env.EXTENSION_ID;
const from = Number(env.FROM);
const to = Number(env.TO);
const store = await createStore({ redisUrl: env.REDIS_URL, redisKeyPrefix: env.REDIS_KEY_PREFIX ?? 'cekgw:', dataDir: env.DATA_DIR ?? './data' });
const vault = new TokenVault(store, new Keyring([decodeKey(env.ENCRYPTION_KEY)]));
const userId = (n) => `scale-user-${n}`;

const t0 = performance.now();
// Chunks of concurrent writes: Redis pipelines them; SQLite runs them one by one either way.
const CHUNK = 200;
for (let start = from; start < to; start += CHUNK) {
  const ids = [];
  for (let n = start; n < Math.min(to, start + CHUNK); n++) ids.push(n);
  await Promise.all(
    ids.map(async (n) => {
      const u = userId(n);
      await vault.link(
        ext,
        u,
        { accessToken: `access-${n}-${'a'.repeat(40)}`, refreshToken: `refresh-${n}-${'r'.repeat(40)}` },
        { expiresAt: Date.now() + 86_400_000, scope: 'points', tokenType: 'Bearer' },
      );
      await vault.update(ext, u, (r) => {
        delete r.successPending;
      });
    }),
  );
}
const seedSeconds = (performance.now() - t0) / 1000;

// Lookups one at a time (the latency a single voice request sees), random users of all seeded so far.
const lookups = Number(env.LOOKUPS ?? 5000);
const times = [];
for (let i = 0; i < 200; i++) await vault.read(ext, userId(Math.floor(Math.random() * to))); // warm-up
for (let i = 0; i < lookups; i++) {
  const u = userId(Math.floor(Math.random() * to));
  const s = process.hrtime.bigint();
  const got = await vault.read(ext, u);
  times.push(Number(process.hrtime.bigint() - s) / 1e3);
  if (got === undefined) throw new Error(`user ${u} is not linked`);
}
times.sort((a, b) => a - b);
const pct = (p) => times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)];

let bytes;
if (env.REDIS_URL) {
  // Redis: the memory of a sample of the token records (MEMORY USAGE: key, value and overhead).
  const { Redis } = await import('ioredis');
  const redis = new Redis(env.REDIS_URL);
  let sum = 0;
  const sample = 500;
  for (let i = 0; i < sample; i++) sum += Number(await redis.memory('USAGE', `${env.REDIS_KEY_PREFIX}tok:${ext}:${userId(Math.floor(Math.random() * to))}`, 'SAMPLES', '0'));
  redis.disconnect();
  bytes = { perUser: sum / sample, method: 'MEMORY USAGE of 500 random token records' };
} else {
  await store.close();
  // SQLite: the database file after the close (which checkpoints the WAL into it).
  const file = path.join(env.DATA_DIR, 'cek-gateway.sqlite');
  const size = statSync(file).size + (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);
  bytes = { file: size, method: 'database file size' };
}
if (env.REDIS_URL) await store.close();
process.stdout.write(`${JSON.stringify({ seeded: to - from, seedSeconds, lookup: { p50: pct(50), p99: pct(99), mean: times.reduce((a, b) => a + b, 0) / times.length }, bytes })}\n`);
