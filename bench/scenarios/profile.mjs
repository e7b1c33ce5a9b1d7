// `profile`: a --cpu-prof run of our service under load on each store, grouped by package
// (../lib/cpuprofile.mjs). BENCH_PROFILE_DIR keeps the .cpuprofile files.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { analyseProfile } from '../lib/cpuprofile.mjs';
import { BODY, EXT_ID, signedHeaders } from '../lib/fixtures.mjs';
import { load } from '../lib/proc.mjs';
import { log, print } from '../lib/report.mjs';
import { startService } from '../lib/services.mjs';
import { fmt } from '../lib/stats.mjs';

export async function profile(ctx) {
  const { P } = ctx;
  print('## profile (`node --cpu-prof`)');
  print();
  print(
    `Our service under ${P.profileS} s at 32 connections (after a warm-up), self time grouped by package; \`(native)\` is C++ and V8 builtins (crypto, syscalls, JSON), attributed where they were called from.`,
  );
  print();
  for (const store of ctx.stores) {
    const dir = path.join(ctx.tmp, `prof-${store.kind}`);
    const headers = signedHeaders(ctx.services[store.kind].secret);
    const svc = await startService(ctx, store, `ours-profile-${store.kind}`, { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir] });
    const url = `${svc.url}/cek/${EXT_ID}`;
    log(`profile: ${store.kind}`);
    const warm = await load({ url, connections: 32, duration: P.warmupS, headers, body: BODY });
    const run = await load({ url, connections: 32, duration: P.profileS, headers, body: BODY });
    await svc.stop();
    const requests = warm.result['2xx'] + run.result['2xx'];
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) {
      print(`${store.kind}: no profile was written.`);
      continue;
    }
    const cpuProfile = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    if (process.env.BENCH_PROFILE_DIR) writeFileSync(path.join(process.env.BENCH_PROFILE_DIR, `ours-${store.kind}.cpuprofile`), JSON.stringify(cpuProfile));
    print(`### ${store.kind}: ${fmt(requests)} requests profiled (start-up included)`);
    print();
    for (const line of analyseProfile(cpuProfile, ctx.root, requests)) print(line);
    print();
  }
}
