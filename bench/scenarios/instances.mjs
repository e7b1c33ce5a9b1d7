// `instances`: two service processes on one store (Redis, PostgreSQL; SQLite serves one process)
// against one. The gateway's API key check and usage plan are on (as in the gateway row), and calls
// go to one instance, then to both at once, in reps: the summed req/s, and whether every admitted
// call was counted exactly once by the plan's quota counters and by the usage counters that both
// instances add to the store.
import { BODY, EXT_ID, signedHeaders, verifyBody } from '../lib/fixtures.mjs';
import { checkOnce } from '../lib/measure.mjs';
import { load, sleep } from '../lib/proc.mjs';
import { log, onCleanup, print, problems } from '../lib/report.mjs';
import { api, setGateway, setUpService, startService } from '../lib/services.mjs';
import { fmt, fmtStat, stat } from '../lib/stats.mjs';

const CONNECTIONS = 32;
/** Usage counters reach the store within a second of a call (each instance flushes once a second). */
const FLUSHED_MS = 2_500;

/** This month's counts as the admin API reports them: the plan's quota counter and the usage calls. */
async function counts(svc) {
  const usage = await api(svc.url, 'GET', `/api/v1/extensions/${EXT_ID}/usage`);
  return { plan: usage.usagePlan?.counted.month ?? 0, calls: usage.months[usage.months.length - 1]?.calls ?? 0 };
}

/** Until `svc` refuses a call without an API key: it has the gateway settings another instance saved. */
async function untilGatewayOn(svc, headers) {
  const until = Date.now() + 10_000;
  for (;;) {
    const res = await fetch(`${svc.url}/cek/${EXT_ID}`, { method: 'POST', headers, body: BODY });
    await res.text();
    if (res.status === 401) return;
    if (Date.now() > until) throw new Error(`${svc.name} still answers ${res.status} without an API key 10 s after the gateway was turned on`);
    await sleep(100);
  }
}

/** `amount` calls to each of `targets` at once: answers and req/s over the whole (until the last one finished). */
async function send(targets, amount, headers) {
  const runs = await Promise.all(targets.map((svc) => load({ url: `${svc.url}/cek/${EXT_ID}`, connections: CONNECTIONS, amount, headers, body: BODY, verify: verifyBody })));
  // Both started together: the whole run lasts until the later one's last answer.
  const seconds = Math.max(...runs.map((r) => r.seconds));
  const ok = runs.reduce((sum, r) => sum + r.result['2xx'], 0);
  const bad = runs.reduce((sum, r) => sum + r.result.non2xx + r.result.errors + r.result.mismatches, 0);
  return { ok, bad, rps: ok / seconds };
}

export async function instances(ctx) {
  const { P } = ctx;
  print('## instances');
  print();
  const shared = ctx.stores.filter((s) => s.kind !== 'sqlite');
  if (shared.length === 0) {
    print('Not measured: it needs Redis or PostgreSQL in BENCH_STORES (SQLite serves one instance).');
    print();
    return;
  }
  print(
    `Two service processes on one store against one, both on CPU ${ctx.SERVICE_CPU} (on this two-core machine the sum shows what sharing the store's counters costs, not scale-out), the gateway's API key check and usage plan on. Per rep ${fmt(P.instanceCalls)} calls to one instance at ${CONNECTIONS} connections, then ${fmt(P.instanceCalls)} to each of the two at once (${CONNECTIONS} connections each); req/s over the whole run until the last answer. A fixed number of calls (not a duration) so every call is answered before the counters are read: this month's plan counter (\`usagePlan.counted.month\`) and usage calls (\`months[].calls\`) from \`GET /api/v1/extensions/:id/usage\` on each instance, ${FLUSHED_MS / 1000} s after the last call, against the 2xx answers and the calls the target saw.`,
  );
  print();
  print('| store | 1 instance req/s | 2 instances req/s (sum) | 2 / 1 | 2xx answers | counted by the plan | usage calls | target calls | exact |');
  print('|---|---|---|---|---|---|---|---|---|');
  for (const base of shared) {
    const store = ctx.storeFor(base.kind, 'instances');
    const { svc: a, secret, apiKey } = await setUpService(ctx, store, { name: `ours-instance-a-${store.kind}` });
    const b = await startService(ctx, store, `ours-instance-b-${store.kind}`);
    onCleanup(() => b.stop());
    try {
      const signed = signedHeaders(secret);
      const headers = { ...signed, 'x-ncp-apigw-api-key': apiKey };
      await setGateway(a, true);
      await untilGatewayOn(b, signed);
      for (const svc of [a, b]) await checkOnce({ name: `${svc.name}`, url: `${svc.url}/cek/${EXT_ID}`, headers, exact: true });
      log(`instances: ${store.kind}: warm-up`);
      await send([a, b], Math.ceil(P.instanceCalls / 4), headers);
      await sleep(FLUSHED_MS);
      await ctx.resetTarget();
      const before = await counts(a);
      const one = [];
      const two = [];
      let ok = 0;
      let bad = 0;
      for (let rep = 1; rep <= P.reps; rep++) {
        log(`instances: ${store.kind}: rep ${rep}/${P.reps}`);
        for (const [targets, into] of [
          [[a], one],
          [[a, b], two],
        ]) {
          const r = await send(targets, P.instanceCalls, headers);
          into.push(r.rps);
          ok += r.ok;
          bad += r.bad;
        }
      }
      await sleep(FLUSHED_MS);
      const seen = await ctx.targetStats();
      const afterA = await counts(a);
      const afterB = await counts(b);
      const plan = afterA.plan - before.plan;
      const calls = afterA.calls - before.calls;
      // Both instances read the same counters; the target saw each forwarded call once.
      const exact = bad === 0 && plan === ok && calls === ok && seen.calls === ok && afterB.plan === afterA.plan && afterB.calls === afterA.calls;
      if (!exact) {
        problems.push(
          `instances ${store.kind}: ${ok} 2xx answers (${bad} other), the plan counted ${plan}, usage ${calls}, the target saw ${seen.calls}; instance b reads plan ${afterB.plan - before.plan}, usage ${afterB.calls - before.calls}`,
        );
      }
      const r1 = stat(one);
      const r2 = stat(two);
      print(
        `| ${store.kind} | ${fmtStat(r1)} | ${fmtStat(r2)} | ${fmtStat(stat(two.map((t, i) => t / one[i])), 2)} | ${fmt(ok)}${bad > 0 ? ` (${fmt(bad)} failed)` : ''} | ${fmt(plan)} | ${fmt(calls)} | ${fmt(seen.calls)} | ${exact ? '✓' : '✗'} |`,
      );
    } finally {
      await setGateway(a, false).catch(() => undefined);
      await a.stop();
      await b.stop();
    }
  }
  print();
}
