// `npm run bench`: Action Method v1.0 benchmarks (DESIGN.md section 11, PERFORMANCE.md section 4).
// One file per scenario in bench/scenarios/, what they share in bench/lib/:
//
//   forward        a signed CEK IntentRequest for a linked user, forwarded with the user's token to a
//                  loopback target: our service against `direct`, `bare`, `floor` and `typical`, on
//                  SQLite, Redis and PostgreSQL, configurations interleaved over the reps; plus the
//                  same service with the gateway's API key check and usage plan on
//   memory         RSS after 100k forwarded requests against RSS after 10k
//   refresh-storm  200 concurrent requests for a user whose token just expired, over two instances
//                  sharing Redis: one token-endpoint call, no failed request
//   scale          10k, 100k, 1M linked users per store: token lookup, voice request and users-list
//                  page latency, store bytes per user, service RSS; targets against the 10k level
//   instances      two service processes on one store (Redis, PostgreSQL) against one: summed req/s,
//                  and every admitted call counted exactly once by the usage plan and usage counters
//   profile        a --cpu-prof run of the service, grouped by package
//
// Every server is its own process, pinned to CPU 0 (taskset); this process (autocannon), the
// target and Redis run on CPU 1.
//
//   BENCH_QUICK=1                   a short run (a few minutes)
//   BENCH_ONLY=forward,memory,...   only these scenarios
//   BENCH_STORES=sqlite,redis       only these stores (sqlite, redis, postgres). Unset: SQLite and
//                                   Redis, and PostgreSQL when it answers at BENCH_DATABASE_URL (a
//                                   full run should include it; the report's head says which ran)
//   BENCH_SCALE_LEVELS=n,n,...      the linked-user levels of `scale` (default 10k,100k,1M; quick
//                                   1k,10k,30k); its targets compare the last level with 10k (or
//                                   the first level when 10k is not one of them)
//   BENCH_BASE_REF=<git ref>        forward also measures our service built from that ref (for
//                                   example `main`), as a row `ours@<ref>` just before `ours` in
//                                   each rep, and reports the ratios (bench/scenarios/base-ref.mjs)
//   BENCH_OUT=file                  also write the printed report to a file
//   BENCH_PROFILE_DIR=dir           keep the .cpuprofile files there
//   BENCH_MEMORY_TOTAL=n            requests of the memory scenario (full run; 100,000 by default)
//   REDIS_URL                       use this Redis; otherwise a redis-server is started on a free
//                                   port. Only keys under this run's own prefix are written and deleted.
//   BENCH_DATABASE_URL              the PostgreSQL (default postgres://postgres@127.0.0.1:5432/postgres).
//                                   Each use gets a schema of this run (cekbench_<pid>_<random>_*),
//                                   and only those schemas are dropped at the end.
import { buildRef } from './lib/build-ref.mjs';
import { setUp } from './lib/context.mjs';
import { finish, log, printHeader } from './lib/report.mjs';
import { setUpService } from './lib/services.mjs';
import { forward } from './scenarios/forward.mjs';
import { instances } from './scenarios/instances.mjs';
import { memory } from './scenarios/memory.mjs';
import { profile } from './scenarios/profile.mjs';
import { refreshStorm } from './scenarios/refresh-storm.mjs';
import { scale } from './scenarios/scale.mjs';

/** The scenarios, in the order they run. */
const SCENARIOS = [
  ['forward', forward],
  ['memory', memory],
  ['refresh-storm', refreshStorm],
  ['scale', scale],
  ['instances', instances],
  ['profile', profile],
];

const QUICK = process.env.BENCH_QUICK === '1';
const ONLY = new Set((process.env.BENCH_ONLY ?? SCENARIOS.map(([name]) => name).join(',')).split(',').map((s) => s.trim()));
const P = QUICK
  ? { reps: 3, warmupS: 0.5, throughputS: 2, latencyS: 1.5, memFirst: 5_000, memTotal: 30_000, profileS: 3 }
  : { reps: 3, warmupS: 1.5, throughputS: 6, latencyS: 4, memFirst: 10_000, memTotal: Number(process.env.BENCH_MEMORY_TOTAL ?? 100_000), profileS: 8 };
const BASE_REF = process.env.BENCH_BASE_REF || undefined;
P.scaleLevels = scaleLevels(process.env.BENCH_SCALE_LEVELS, QUICK ? [1_000, 10_000, 30_000] : [10_000, 100_000, 1_000_000]);
/** Calls per instance and rep of `instances`, sent with a fixed count so every answer is in. */
P.instanceCalls = QUICK ? 4_000 : 30_000;

/** BENCH_SCALE_LEVELS: whole numbers, ascending (`10000,100000,1000000`); `fallback` when unset. */
function scaleLevels(given, fallback) {
  if (given === undefined || given.trim() === '') return fallback;
  const levels = given.split(',').map((s) => Number(s.trim().replaceAll('_', '')));
  if (levels.some((n) => !Number.isInteger(n) || n < 1) || levels.some((n, i) => i > 0 && n <= levels[i - 1])) {
    throw new Error(`BENCH_SCALE_LEVELS must be ascending whole numbers, for example 10000,100000,1000000 (got "${given}")`);
  }
  return levels;
}

const shared = await setUp({
  QUICK,
  P,
  SERVICE_CPU: 0,
  LOAD_CPU: 1,
  needsRedis: SCENARIOS.some(([name]) => ONLY.has(name)),
});
if (BASE_REF !== undefined && !ONLY.has('forward')) log('BENCH_BASE_REF is only measured by the forward scenario, which does not run');
const ctx = { ...shared, base: BASE_REF !== undefined && ONLY.has('forward') ? buildRef(shared, BASE_REF) : undefined };

printHeader(ctx);
const started = Date.now();

// Our service per store, shared by forward, memory (its secret) and profile (its secret).
if (ONLY.has('forward') || ONLY.has('memory') || ONLY.has('profile')) {
  for (const store of ctx.stores) {
    ctx.services[store.kind] = await setUpService(ctx, store);
  }
}

for (const [name, run] of SCENARIOS) {
  if (ONLY.has(name)) await run(ctx);
}
await finish(started);
