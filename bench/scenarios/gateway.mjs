// The gateway row of `forward` (issue 6): the same service process as `ours`, measured right after
// it in each rep, with the API key check and a usage plan on; and its table in the report.
import { BODY, EXT_ID } from '../lib/fixtures.mjs';
import { print, problems } from '../lib/report.mjs';
import { api, GATEWAY_PLAN, setGateway } from '../lib/services.mjs';
import { fmt, fmtStat, stat } from '../lib/stats.mjs';

/**
 * The `ours + gateway` configuration of a store, next to its `ours` configuration (which it makes
 * turn the gateway off before its windows). Checks that a call without the key is refused.
 */
export async function gatewayConfig(ctx, store, ours) {
  const { svc, apiKey } = ctx.services[store.kind];
  // Same process, same request, plus the API key check and the usage plan (issue 6). A second
  // process would not do: two processes of the same code differ by more than 10 % on this VM.
  ours.before = () => setGateway(svc, false);
  const config = {
    name: `ours + gateway`,
    store: store.kind,
    url: `${svc.url}/cek/${EXT_ID}`,
    pid: svc.pid,
    headers: { ...ours.headers, 'x-ncp-apigw-api-key': apiKey },
    exact: true,
    before: () => setGateway(svc, true),
  };
  // With the gateway on, a call without the key is refused: it really checks.
  await setGateway(svc, true);
  const res = await fetch(`${svc.url}/cek/${EXT_ID}`, { method: 'POST', headers: ours.headers, body: BODY });
  await res.text();
  if (res.status !== 401) problems.push(`ours + gateway (${store.kind}): a call without an API key was answered ${res.status}, not 401`);
  return config;
}

/** The gateway section of the report: `ours + gateway` against `ours`, rep by rep, and the plan's counters. */
export async function printGateway(ctx, results) {
  print('### gateway (issue 6): API key check and usage plan on');
  print();
  print(
    `\`ours + gateway\` is the same service process as \`ours\`, measured right after it in each rep, with \`requireApiKey: true\` (the key sent in \`x-ncp-apigw-api-key\`) and a usage plan with every limit set (\`${JSON.stringify(GATEWAY_PLAN)}\`, never reached) turned on through the admin API before its windows and off again before \`ours\`: each call checks the key and counts against the rate, day and month limits. (Usage by outcome is counted in both rows.)`,
  );
  print();
  print('| store | ours + gateway / ours req/s | throughput cost | CPU µs/req added | added p50 (ms) | added p99 (ms) | cost < 10 % | counted by the plan this month |');
  print('|---|---|---|---|---|---|---|---|');
  for (const store of ctx.stores) {
    const ours = results[`ours (${store.kind})`];
    const gwRuns = results[`ours + gateway (${store.kind})`];
    const ratio = stat(gwRuns.map((g, i) => g.rps / ours[i].rps));
    const cost = stat(gwRuns.map((g, i) => (1 - g.rps / ours[i].rps) * 100));
    const cpu = stat(gwRuns.map((g, i) => g.cpu - ours[i].cpu));
    const p50 = stat(gwRuns.map((g, i) => g.p50 - ours[i].p50));
    const p99 = stat(gwRuns.map((g, i) => g.p99 - ours[i].p99));
    const svc = ctx.services[store.kind].svc;
    await setGateway(svc, true); // the report shows the plan's counters while a plan is set
    const usage = await api(svc.url, 'GET', `/api/v1/extensions/${EXT_ID}/usage`);
    await setGateway(svc, false); // memory and profile start fresh processes on this store
    const counted = usage.usagePlan?.counted.month ?? 0;
    const measured = gwRuns.reduce((sum, r) => sum + r.requests, 0);
    // Warm-ups and latency runs count too, so the plan holds at least the measured windows' calls
    // (its counters are per UTC day, kept while the plan is off).
    if (counted < measured) problems.push(`ours + gateway (${store.kind}): the plan counted ${counted} calls for ${measured} measured`);
    print(
      `| ${store.kind} | ${fmtStat(ratio, 3)} | ${fmtStat(cost, 1)} % | ${fmtStat(cpu, 1)} | ${fmtStat(p50, 3)} | ${fmtStat(p99, 3)} | ${cost.median < 10 ? '✓' : '✗'} | ${fmt(counted)} (all calls: ${fmt(usage.freeAllowance.used + usage.freeAllowance.overage)}) |`,
    );
  }
  print();
}
