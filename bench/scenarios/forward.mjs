// `forward`: a signed CEK IntentRequest for a linked user, forwarded with the user's token to a
// loopback target: our service against `direct`, `bare`, `floor` and `typical`, on SQLite and on
// Redis, configurations interleaved over the reps; the gateway row (./gateway.mjs) and, with
// BENCH_BASE_REF, another build of our service (./base-ref.mjs) in the same reps.
import { EXT_ID, signedHeaders, TOKEN } from '../lib/fixtures.mjs';
import { seedFloorStore, startBaseline } from '../lib/baselines.mjs';
import { checkOnce, measure, printQuietness } from '../lib/measure.mjs';
import { log, onCleanup, print, problems } from '../lib/report.mjs';
import { fmt, fmtStat, stat } from '../lib/stats.mjs';
import { baseConfig, printBase } from './base-ref.mjs';
import { gatewayConfig, printGateway } from './gateway.mjs';

export async function forward(ctx) {
  const { P, stores, services } = ctx;
  log('forward: starting the baselines');
  const bare = await startBaseline(ctx, 'bare.mjs', 'bare');
  onCleanup(() => bare.stop());
  const configs = [
    { name: 'direct', store: '-', url: `${ctx.TARGET}/points`, pid: ctx.target.pid, headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } },
    { name: 'bare', store: '-', url: `${bare.url}/cek/${EXT_ID}`, pid: bare.pid, headers: { 'content-type': 'application/json' } },
  ];
  for (const store of stores) {
    await seedFloorStore(ctx, store);
    const { svc, secret } = services[store.kind];
    const headers = signedHeaders(secret);
    const floor = await startBaseline(ctx, 'floor.mjs', `floor-${store.kind}`, store, secret);
    const typical = await startBaseline(ctx, 'typical.mjs', `typical-${store.kind}`, store, secret);
    onCleanup(
      () => floor.stop(),
      () => typical.stop(),
    );
    configs.push(
      { name: `floor`, store: store.kind, url: `${floor.url}/cek/${EXT_ID}`, pid: floor.pid, headers, exact: true },
      { name: `typical`, store: store.kind, url: `${typical.url}/cek/${EXT_ID}`, pid: typical.pid, headers, exact: true },
    );
    if (ctx.base !== undefined) configs.push(await baseConfig(ctx, store));
    const ours = { name: `ours`, store: store.kind, url: `${svc.url}/cek/${EXT_ID}`, pid: svc.pid, headers, exact: true };
    configs.push(ours, await gatewayConfig(ctx, store, ours));
  }
  for (const c of configs) {
    c.label = c.store === '-' ? c.name : `${c.name} (${c.store})`;
    await c.before?.();
    await checkOnce({ ...c, name: c.label });
  }

  const results = Object.fromEntries(configs.map((c) => [c.label, []]));
  for (let rep = 1; rep <= P.reps; rep++) {
    for (const c of configs) {
      log(`forward: rep ${rep}/${P.reps} ${c.label}`);
      results[c.label].push(await measure(ctx, { ...c, name: `${c.label} rep ${rep}` }));
    }
  }

  print('## forward');
  print();
  print("Median of the reps (min–max). req/s at 32 connections; CPU = the server process's CPU µs per request (for `direct`, the target's); latency at one connection.");
  print();
  print('| store | configuration | req/s @32 | CPU µs/req | p50 ms @1 | p99 ms @1 |');
  print('|---|---|---|---|---|---|');
  for (const c of configs) {
    const r = results[c.label];
    print(
      `| ${c.store} | ${c.name} | ${fmtStat(stat(r.map((x) => x.rps)))} | ${fmtStat(stat(r.map((x) => x.cpu)))} | ${fmtStat(stat(r.map((x) => x.p50)), 3)} | ${fmtStat(stat(r.map((x) => x.p99)), 3)} |`,
    );
  }
  print();
  print('| store | ours / floor req/s | ours / typical req/s | ours / floor CPU | added p50 over direct (ms) | added p99 over direct (ms) | targets met |');
  print('|---|---|---|---|---|---|---|');
  const direct = results['direct'];
  for (const store of stores) {
    const ours = results[`ours (${store.kind})`];
    const floor = results[`floor (${store.kind})`];
    const typical = results[`typical (${store.kind})`];
    const vsFloor = stat(ours.map((o, i) => o.rps / floor[i].rps));
    const vsTypical = stat(ours.map((o, i) => o.rps / typical[i].rps));
    const cpuVsFloor = stat(ours.map((o, i) => o.cpu / floor[i].cpu));
    const addP50 = stat(ours.map((o, i) => o.p50 - direct[i].p50));
    const addP99 = stat(ours.map((o, i) => o.p99 - direct[i].p99));
    const met = [
      vsFloor.median >= 0.8 ? '≥0.8× floor ✓' : `≥0.8× floor ✗ (${fmt(vsFloor.median, 2)})`,
      vsTypical.median >= 2.5 ? '≥2.5× typical ✓' : `≥2.5× typical ✗ (${fmt(vsTypical.median, 2)})`,
      addP50.median <= 0.5 ? 'p50 +≤0.5 ms ✓' : `p50 +≤0.5 ms ✗`,
      addP99.median <= 2 ? 'p99 +≤2 ms ✓' : `p99 +≤2 ms ✗`,
    ].join(', ');
    print(`| ${store.kind} | ${fmtStat(vsFloor, 2)} | ${fmtStat(vsTypical, 2)} | ${fmtStat(cpuVsFloor, 2)} | ${fmtStat(addP50, 3)} | ${fmtStat(addP99, 3)} | ${met} |`);
  }
  print();
  await printGateway(ctx, results);
  if (ctx.base !== undefined) printBase(ctx, results);
  printQuietness(ctx);
  print(
    problems.length === 0
      ? "Correctness: every answer 2xx with the target's speech; the target saw the signed bytes unchanged and only the linked bearer token, in every run."
      : `Correctness problems: ${problems.join('; ')}`,
  );
  print();
}
