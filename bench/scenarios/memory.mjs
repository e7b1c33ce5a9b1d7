// `memory`: RSS of a fresh service process after each step of forwarded requests, as it is and after
// a full GC; the 10 % growth check compares the last step with the first, after GC.
import { BODY, EXT_ID, signedHeaders, verifyBody } from '../lib/fixtures.mjs';
import { collectGarbage } from '../lib/gc.mjs';
import { load, rssBytes, sleep } from '../lib/proc.mjs';
import { log, print, problems } from '../lib/report.mjs';
import { startService } from '../lib/services.mjs';
import { fmt } from '../lib/stats.mjs';

export async function memory(ctx) {
  const { P, SERVICE_CPU } = ctx;
  // V8 lets garbage (and the Buffers it holds) pile up until a major collection, so RSS "as it is"
  // rises and falls with GC timing; a full collection forced before each reading shows what the
  // process keeps, which is what a leak changes. Both are reported; the 10 % check uses the second.
  const steps = Math.round(P.memTotal / P.memFirst);
  print('## memory');
  print();
  print(
    `A fresh service process per store (CPU ${SERVICE_CPU}), ${fmt(P.memTotal)} forwarded requests at 32 connections in steps of ${fmt(P.memFirst)}. RSS from /proc after each step, as it is and after a full GC forced through the inspector (\`HeapProfiler.collectGarbage\`).`,
  );
  print();
  print(
    `| store | RSS after ${fmt(P.memFirst)} (after GC) | RSS after ${fmt(P.memTotal)} (after GC) | growth | within 10 % | RSS as it is, after each step (MiB) | RSS after GC, after each step (MiB) |`,
  );
  print('|---|---|---|---|---|---|---|');
  for (const store of ctx.stores) {
    const headers = signedHeaders(ctx.services[store.kind].secret);
    const svc = await startService(ctx, store, `ours-memory-${store.kind}`, { nodeArgs: ['--inspect=127.0.0.1:0'] });
    const url = `${svc.url}/cek/${EXT_ID}`;
    log(`memory: ${store.kind}`);
    const raw = [];
    const settled = [];
    let failed = 0;
    for (let step = 1; step <= steps; step++) {
      const r = (await load({ url, connections: 32, amount: P.memFirst, headers, body: BODY, verify: verifyBody })).result;
      failed += r.non2xx + r.errors + r.mismatches;
      await sleep(500);
      raw.push(rssBytes(svc.pid));
      await collectGarbage(svc);
      await sleep(500);
      settled.push(rssBytes(svc.pid));
    }
    await svc.stop();
    if (failed > 0) problems.push(`memory ${store.kind}: ${failed} failed requests`);
    const first = settled[0];
    const last = settled[settled.length - 1];
    const growth = last / first - 1;
    if (growth > 0.1) problems.push(`memory ${store.kind}: RSS grew ${(growth * 100).toFixed(1)} %`);
    const mib = (list) => list.map((b) => fmt(b / 2 ** 20, 0)).join(' ');
    print(
      `| ${store.kind} | ${fmt(first / 2 ** 20, 1)} MiB | ${fmt(last / 2 ** 20, 1)} MiB | ${growth >= 0 ? '+' : ''}${fmt(growth * 100, 1)} % | ${growth <= 0.1 ? '✓' : '✗'}${failed > 0 ? ` (${failed} failed requests)` : ''} | ${mib(raw)} | ${mib(settled)} |`,
    );
  }
  print();
}
