// The `ours@<ref>` row of `forward` (BENCH_BASE_REF): another build of our service (../lib/build-ref.mjs)
// on its own data, measured just before `ours` in each rep, and the ratios of the two, rep by rep.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EXT_ID, signedHeaders } from '../lib/fixtures.mjs';
import { print } from '../lib/report.mjs';
import { setUpService } from '../lib/services.mjs';
import { fmt, fmtStat, stat } from '../lib/stats.mjs';

/** Starts and sets up the base build's service on a store of its own; returns its configuration. */
export async function baseConfig(ctx, store) {
  const { ref, root } = ctx.base;
  let { seedRoot } = ctx.base;
  // A ref whose seeder predates PostgreSQL would write SQLite in ./data: ours writes the same kv rows.
  if (store.kind === 'postgres' && !readFileSync(path.join(seedRoot, 'bench', 'seed-vault.mjs'), 'utf8').includes('DATABASE_URL')) seedRoot = ctx.root;
  const own = ctx.storeFor(store.kind, `base_${store.kind}`);
  const { svc, secret } = await setUpService(ctx, own, { name: `ours@${ref}-${store.kind}`, root, seedRoot });
  return { name: `ours@${ref}`, store: store.kind, url: `${svc.url}/cek/${EXT_ID}`, pid: svc.pid, headers: signedHeaders(secret), exact: true };
}

/** The comparison of this build (`ours`) with the base build, store by store. */
export function printBase(ctx, results) {
  const { ref, sha } = ctx.base;
  const name = `ours@${ref}`;
  print(`### ours against ${name} (BENCH_BASE_REF, ${sha.slice(0, 12)})`);
  print();
  print(
    `\`${name}\` is the service built from \`${ref}\`, on its own data, measured just before \`ours\` (this checkout) in each rep. Ratios and differences rep by rep, median (min–max); a req/s ratio whose range holds 1.00 is within this run's noise.`,
  );
  print();
  print(`| store | ours / ${name} req/s | ours / ${name} CPU µs/req | p50 ours − ${name} (ms) | p99 ours − ${name} (ms) | req/s range holds 1.00 |`);
  print('|---|---|---|---|---|---|');
  for (const store of ctx.stores) {
    const ours = results[`ours (${store.kind})`];
    const base = results[`${name} (${store.kind})`];
    const rps = stat(ours.map((o, i) => o.rps / base[i].rps));
    const cpu = stat(ours.map((o, i) => o.cpu / base[i].cpu));
    const p50 = stat(ours.map((o, i) => o.p50 - base[i].p50));
    const p99 = stat(ours.map((o, i) => o.p99 - base[i].p99));
    const holds = rps.min <= 1 && rps.max >= 1;
    print(`| ${store.kind} | ${fmtStat(rps, 3)} | ${fmtStat(cpu, 3)} | ${fmtStat(p50, 3)} | ${fmtStat(p99, 3)} | ${holds ? '✓' : `✗ (${fmt((rps.median - 1) * 100, 1)} %)`} |`);
  }
  print();
}
