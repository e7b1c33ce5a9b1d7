// `refresh-storm`: 200 concurrent requests for one user whose token has just expired, split over two
// instances sharing Redis. Account linking refreshes it: one call to the token endpoint, every
// request answered with the target's speech, every forward carrying the refreshed token.
import { Agent, request } from 'undici';
import { BODY, EXT_ID, signedHeaders, SPEECH } from '../lib/fixtures.mjs';
import { sleep } from '../lib/proc.mjs';
import { onCleanup, print, problems } from '../lib/report.mjs';
import { api, seedVault, startService } from '../lib/services.mjs';

export async function refreshStorm(ctx) {
  print('## refresh-storm');
  print();
  const { TARGET } = ctx;
  const store = { kind: 'redis', servicePrefix: `${ctx.PREFIX}storm:` };
  const a = await startService(ctx, store, 'storm-a');
  const b = await startService(ctx, store, 'storm-b');
  onCleanup(
    () => a.stop(),
    () => b.stop(),
  );
  try {
    const created = await api(a.url, 'POST', '/api/v1/extensions', { extensionId: EXT_ID, language: 'en' });
    await api(a.url, 'PUT', `/api/v1/extensions/${EXT_ID}/account-linking`, {
      enabled: true,
      loginUrl: `${TARGET}/authorize`,
      tokenUrl: `${TARGET}/token`,
      clientId: 'bench-client',
      clientSecret: 'bench-client-secret',
      clientAuth: 'body',
    });
    await api(a.url, 'PUT', `/api/v1/extensions/${EXT_ID}/actions/points`, {
      trigger: { type: 'IntentRequest', intent: 'CheckPoints' },
      url: `${TARGET}/points`,
      useOAuthToken: true,
      tokenSource: 'linked',
    });
    seedVault(ctx, store, { expiresAt: Date.now() - 1_000, accessToken: 'expired-access-token' });
    await sleep(200); // the change notice reaches instance b through Redis pub/sub
    await ctx.resetTarget();
    const headers = signedHeaders(created.chatbotSecret);
    const dispatcher = new Agent({ connections: 200 });
    const t0 = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const base = i % 2 === 0 ? a.url : b.url;
        const res = await request(`${base}/cek/${EXT_ID}`, { dispatcher, method: 'POST', headers, body: BODY });
        return { status: res.statusCode, text: await res.body.text() };
      }),
    );
    const ms = performance.now() - t0;
    await dispatcher.close();
    const seen = await ctx.targetStats();
    const good = answers.filter((x) => x.status === 200 && x.text.includes(SPEECH)).length;
    const tokens = Object.entries(seen.tokens).map(([t, n]) => `${t.replace(/^Bearer /, '')} ×${n}`);
    const ok = seen.refreshes === 1 && good === 200 && seen.calls === 200 && Object.keys(seen.tokens).length === 1 && seen.badBody === 0;
    if (!ok) problems.push('refresh-storm');
    print(`200 concurrent requests (100 per instance, two instances on one Redis) for a user whose access token expired 1 s before: ${ms.toFixed(0)} ms in all.`);
    print();
    print(`| token-endpoint calls | answered with the target's speech | target calls | tokens the target saw | result |`);
    print('|---|---|---|---|---|');
    print(`| ${seen.refreshes} | ${good} / 200 | ${seen.calls} | ${tokens.join(', ')} | ${ok ? '✓' : '✗'} |`);
  } finally {
    await a.stop();
    await b.stop();
  }
  print();
}
