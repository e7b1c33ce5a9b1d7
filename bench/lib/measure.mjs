// How a configuration of the forward scenario is measured: a sanity request, then per rep a warm-up,
// a throughput window at 32 connections (req/s, the server's CPU per request, the target's view of
// what was forwarded) and a latency window at one connection, each in a quiet window of the machine.
import os from 'node:os';
import { BODY, expectedReply, SPEECH, TOKEN, verifyBody } from './fixtures.mjs';
import { cpuMicros, cpuMicrosOrZero, load, machineBusyMicros, ownedPids, sleep } from './proc.mjs';
import { log, print, problems } from './report.mjs';
import { fmt, percentile, stat } from './stats.mjs';

/** One request before measuring: a 2xx with the target's speech (and, with `exact`, our exact CEK reply). */
export async function checkOnce(config) {
  const res = await fetch(config.url, { method: 'POST', headers: config.headers, body: BODY });
  const text = await res.text();
  if (res.status !== 200 || !text.includes(SPEECH)) throw new Error(`${config.name}: sanity request → ${res.status} ${text.slice(0, 300)}`);
  if (config.exact && text !== expectedReply) throw new Error(`${config.name}: reply differs from the expected CEK response: ${text}`);
}

/**
 * CPU used during a window by processes this bench did not start (other users of the machine):
 * it slows every figure of that window. A window where they took more than 5 % of the machine is
 * measured again (up to 3 tries; the least disturbed one is kept), and the report states what was left.
 */
const DISTURBED = 0.05;
const TRIES = 3;
const windows = { total: 0, retried: 0, shares: [] };
/** CPU the other (idle) servers on CPU 0 used during each throughput window, as a share of one CPU. */
const neighbourShares = [];
async function foreignMeter(ctx) {
  // Ours: this process, the processes it started, and the PostgreSQL backends serving this run
  // (the server's processes, found by the application name of their connections).
  const pids = async () => [process.pid, ...ownedPids(), ...((await ctx.storePids?.()) ?? [])];
  const start = new Map((await pids()).map((pid) => [pid, cpuMicrosOrZero(pid)]));
  const m0 = machineBusyMicros();
  const t0 = performance.now();
  return async () => {
    const m1 = machineBusyMicros();
    const seconds = (performance.now() - t0) / 1e3;
    let ours = 0;
    // A backend that connected during the window: all its CPU is of the window.
    for (const pid of new Set([...start.keys(), ...(await pids())])) ours += Math.max(0, cpuMicrosOrZero(pid) - (start.get(pid) ?? 0));
    return Math.max(0, (m1 - m0 - ours) / (seconds * 1e6 * os.cpus().length));
  };
}

async function quietWindow(ctx, label, run) {
  let best;
  for (let attempt = 1; attempt <= TRIES; attempt++) {
    const meter = await foreignMeter(ctx);
    const result = await run();
    const foreign = await meter();
    if (best === undefined || foreign < best.foreign) best = { result, foreign };
    if (foreign <= DISTURBED) break;
    if (attempt < TRIES) {
      windows.retried++;
      log(`${label}: other processes used ${(foreign * 100).toFixed(0)} % of the machine; measuring again`);
      await sleep(2_000);
    }
  }
  windows.total++;
  windows.shares.push(best.foreign);
  return best.result;
}

/** One rep of one configuration: `{ rps, cpu (µs/req), p50, p99 (ms), requests }`; problems are recorded. */
export async function measure(ctx, config) {
  const { P } = ctx;
  await config.before?.();
  await load({ url: config.url, connections: 32, duration: P.warmupS, headers: config.headers, body: BODY });
  const { thr, cpu, seen } = await quietWindow(ctx, `${config.name} @32`, async () => {
    await ctx.resetTarget();
    const neighbours = [...ctx.servicePids].filter((pid) => pid !== config.pid);
    const others = () => neighbours.reduce((sum, pid) => sum + cpuMicrosOrZero(pid), 0);
    const cpu0 = cpuMicros(config.pid);
    const others0 = others();
    const t0 = performance.now();
    const thr = await load({ url: config.url, connections: 32, duration: P.throughputS, headers: config.headers, body: BODY, verify: verifyBody });
    const cpu = cpuMicros(config.pid) - cpu0;
    neighbourShares.push({ label: config.name, share: (others() - others0) / ((performance.now() - t0) * 1e3) });
    return { thr, cpu, seen: await ctx.targetStats() };
  });
  const r = thr.result;
  const ok = r['2xx'];
  const bad = [];
  if (r.non2xx > 0) bad.push(`${r.non2xx} non-2xx`);
  if (r.errors > 0) bad.push(`${r.errors} errors`);
  if (r.mismatches > 0) bad.push(`${r.mismatches} replies without the target's speech`);
  if (seen.badBody > 0) bad.push(`target saw ${seen.badBody} bodies that differ from the signed bytes`);
  const tokens = Object.keys(seen.tokens);
  if (tokens.length !== 1 || tokens[0] !== `Bearer ${TOKEN}`) bad.push(`target saw tokens ${JSON.stringify(tokens.map((t) => t.slice(0, 24)))}`);
  if (seen.calls < ok) bad.push(`target saw ${seen.calls} calls for ${ok} answers`);
  if (bad.length > 0) problems.push(`${config.name}: ${bad.join(', ')}`);

  const lat = await quietWindow(ctx, `${config.name} @1`, () => load({ url: config.url, connections: 1, duration: P.latencyS, headers: config.headers, body: BODY, latencies: true }));
  if (lat.result.non2xx > 0 || lat.result.errors > 0) problems.push(`${config.name} (latency run): ${lat.result.non2xx} non-2xx, ${lat.result.errors} errors`);
  const times = lat.times.sort((a, b) => a - b);
  return {
    rps: ok / thr.seconds,
    cpu: cpu / ok,
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    requests: ok,
  };
}

/** What the idle neighbours on CPU 0 and the rest of the machine took during the measured windows. */
export function printQuietness(ctx) {
  const f = stat(windows.shares.map((x) => x * 100));
  const left = windows.shares.filter((x) => x > DISTURBED).length;
  const n = stat(neighbourShares.map((x) => x.share * 100));
  const worst = neighbourShares.reduce((a, b) => (b.share > a.share ? b : a), { share: 0, label: '-' });
  print(`Idle neighbours: the other servers on CPU ${ctx.SERVICE_CPU} used ${fmt(n.median, 1)} % of it in the median throughput window (max ${fmt(n.max, 1)} %, during ${worst.label}).`);
  print();
  print(
    `Quiet machine check: other processes (not started by this bench${ctx.redisNote === 'REDIS_URL' ? ', including the Redis of REDIS_URL' : ''}${ctx.storePids === undefined ? '' : "; the PostgreSQL backends of this run's connections count as the bench's, the server's own background processes do not"}) used ${fmt(f.median, 1)} % of the machine's CPU in the median measured window (max ${fmt(f.max, 1)} %); ${windows.retried} window(s) were measured again; ${left === 0 ? 'no kept window was disturbed (> 5 %).' : `${left} of ${windows.total} kept windows were still disturbed (> 5 %): rerun on a quiet machine.`}`,
  );
  print();
}
