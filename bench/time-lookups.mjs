// The `scale` scenario's token lookup timer, in its own process (not the seeder's, whose heap and
// store connections carry the seeding): token lookups (store read + AES-GCM open, what a voice
// request does for its token) for random users of `scale-user-0`..`scale-user-<TO-1>`, one at a
// time, measured twice:
//   cold:   right after the store is opened (after 200 untimed lookups), as a service just started;
//   steady: after every one of those users has been read once (concurrent batches of 1,000) and a
//           full GC, as a service that has answered each of its users since it started; ROUNDS
//           rounds, the median of their p50s and of their p99s (one round's p99 is its 50 slowest
//           lookups, which one busy moment of this shared machine moves by 2x). A store that maps
//           its file (SQLite) maps a page on its first read, so a short run at a million users
//           measures mostly first reads; the steady figure is the store's own cost at that size.
// Reports on stdout as JSON: { cold: { p50, p99, mean }, steady: { p50, p99, mean, rounds }, warmSeconds } (µs)
//   env: DATA_DIR | REDIS_URL + REDIS_KEY_PREFIX | DATABASE_URL + DATABASE_SCHEMA, ENCRYPTION_KEY,
//        EXTENSION_ID, TO, LOOKUPS
import v8 from 'node:v8';
import vm from 'node:vm';
import { storeFromEnv } from './lib/storeFromEnv.mjs';
import { Keyring, decodeKey } from '../dist/security/keyring.js';
import { TokenVault } from '../dist/linking/vault.js';

const env = process.env;
const ext = env.EXTENSION_ID;
const to = Number(env.TO);
const lookups = Number(env.LOOKUPS ?? 5000);
const userId = (n) => `scale-user-${n}`;
const ROUNDS = 5;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const store = await storeFromEnv(env);
const vault = new TokenVault(store, new Keyring([decodeKey(env.ENCRYPTION_KEY)]));

async function timed() {
  const times = [];
  for (let i = 0; i < lookups; i++) {
    const u = userId(Math.floor(Math.random() * to));
    const s = process.hrtime.bigint();
    const got = await vault.read(ext, u);
    times.push(Number(process.hrtime.bigint() - s) / 1e3);
    if (got === undefined) throw new Error(`user ${u} is not linked`);
    if (got.record.successPending !== undefined) throw new Error(`user ${u} was seeded with successPending`);
  }
  times.sort((a, b) => a - b);
  const pct = (p) => times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)];
  return { p50: pct(50), p99: pct(99), mean: times.reduce((a, b) => a + b, 0) / times.length };
}

try {
  for (let i = 0; i < 200; i++) await vault.read(ext, userId(Math.floor(Math.random() * to)));
  const cold = await timed();
  const t0 = performance.now();
  const BATCH = 1_000;
  for (let start = 0; start < to; start += BATCH) {
    const reads = [];
    for (let n = start; n < Math.min(to, start + BATCH); n++) reads.push(vault.read(ext, userId(n)));
    const got = await Promise.all(reads);
    if (got.some((r) => r === undefined)) throw new Error(`a user of ${start}..${start + BATCH - 1} is not linked`);
  }
  const warmSeconds = (performance.now() - t0) / 1000;
  gc();
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) rounds.push(await timed());
  const steady = { p50: median(rounds.map((x) => x.p50)), p99: median(rounds.map((x) => x.p99)), mean: median(rounds.map((x) => x.mean)), rounds };
  process.stdout.write(`${JSON.stringify({ cold, steady, warmSeconds })}\n`);
} finally {
  await store.close();
}
