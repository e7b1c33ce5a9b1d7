import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { FAILURES_TO_OPEN, OPEN_MS } from '../../src/linking/circuitBreaker.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { adminApi } from '../helpers/adminApi.js';
import { send, signIn } from '../helpers/adminSession.js';
import { FetchBrowser } from '../helpers/browser.js';
import { intentRequest } from '../helpers/cek.js';
import { startProvider, type TestProvider } from '../helpers/provider.js';
import { openTestStore, storeKinds, type TestStore } from '../helpers/stores.js';
import { reply, startTarget, type TargetCall, type TestTarget } from '../helpers/targets.js';
import { speechOf, spokenCode, tokenProbe } from '../helpers/tokenProbe.js';
import { vaultOf } from '../helpers/vault.js';
import { sleep, waitFor } from '../helpers/wait.js';

/**
 * Link states with history, the extension's linking state, `provider.down`/`provider.up` and the
 * linking funnel (issue 16 items 2 and 5), with real parts: a real OAuth provider (oidc-provider),
 * the link pages over HTTP, webhook receivers on loopback, two instances on one store.
 */
const EXT = 'com.example.states';
const ERROR_TEXT = 'The service is not available.';

interface Funnel {
  totals: { steps: Record<string, number>; failures: Record<string, number> };
  gatewayWide: { totals: { steps: Record<string, number>; failures: Record<string, number> } };
  days: Array<{ date: string; steps: Record<string, number>; failures: Record<string, number> }>;
}

const funnelOf = async (app: TestApp, ext = EXT): Promise<Funnel> => {
  const res = await adminApi(app).get(`/extensions/${ext}/linking/funnel?days=7`);
  expect(res.status).toBe(200);
  return res.body as Funnel;
};

async function voice(app: TestApp, userId: string, ext = EXT): Promise<string> {
  const raw = JSON.stringify(intentRequest({ extensionId: ext, intent: 'WhoAmI', userId }));
  const res = await request(app.url).post(`/cek/${ext}`).set('SignatureCEK', app.signer.sign(raw)).send(raw);
  expect(res.status).toBe(200);
  return speechOf(res.body);
}

/** Voice prompt → code page → code → the provider (login, consent or denial) → our callback. */
async function linkFlow(app: TestApp, userId: string, o: { deny?: boolean; ext?: string } = {}): Promise<{ status: number; text: string }> {
  const ext = o.ext ?? EXT;
  const browser = new FetchBrowser();
  const code = spokenCode(await voice(app, userId, ext));
  const form = await browser.request(`${app.url}/link`);
  const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? '';
  const posted = await browser.request(`${app.url}/link`, { form: { csrf, code } });
  expect(posted.status).toBe(303);
  const callback = await browser.authorize(posted.location!, `${app.config.publicUrl}/oauth/callback`, { deny: o.deny === true });
  const done = await browser.request(`${app.url}${callback.pathname}${callback.search}`);
  return { status: done.status, text: done.text };
}

async function setUpLinking(app: TestApp, provider: TestProvider, ext = EXT, tokenUrl = provider.tokenUrl): Promise<void> {
  await adminApi(app)
    .post('/extensions', { extensionId: ext, language: 'en', messages: { error: ERROR_TEXT } })
    .expect(201);
  await adminApi(app)
    .put(`/extensions/${ext}/account-linking`, { enabled: true, loginUrl: provider.authorizationUrl, tokenUrl, clientId: provider.clientId, clientSecret: provider.clientSecret, scope: 'api' })
    .expect(200);
}

describe('the linking funnel and link states', () => {
  let app: TestApp;
  let provider: TestProvider;
  let failingToken: TestTarget;

  beforeAll(async () => {
    app = await startTestApp({ label: 'states', responders: tokenProbe });
    provider = await startProvider({ clientAuth: 'basic', redirectUri: `${app.config.publicUrl}/oauth/callback` });
    failingToken = await startTarget({ '/token': reply.text('<html>oops</html>', 'text/html', 500) });
    await setUpLinking(app, provider);
  });
  afterAll(async () => {
    await app.close();
    await provider.close();
    await failingToken.close();
  });

  test('a full linking flow counts each step once, per extension and in Prometheus; a test user’s first action is not counted', async () => {
    const before = await funnelOf(app);
    expect(before.totals.steps).toEqual({ prompted: 0, page_opened: 0, code_accepted: 0, consent_returned: 0, token_stored: 0, first_action: 0 });
    expect(before.days).toHaveLength(7);

    const done = await linkFlow(app, 'funnel-user');
    expect(done.status).toBe(200);
    // The first voice request after linking gets the token: the last step.
    expect(await voice(app, 'funnel-user')).toMatch(/token /);
    // And the one after that is not a "first" any more.
    expect(await voice(app, 'funnel-user')).toMatch(/^token /);

    await waitFor(async () => (await funnelOf(app)).totals.steps['first_action'] === 1, 5_000);
    const after = await funnelOf(app);
    expect(after.totals.steps).toEqual({ prompted: 1, page_opened: 0, code_accepted: 1, consent_returned: 1, token_stored: 1, first_action: 1 });
    expect(after.totals.failures).toEqual({ wrong_code: 0, lockout: 0, consent_denied: 0, token_endpoint_error: 0, expired_state: 0 });
    // The code page names no extension: counted gateway-wide.
    expect(after.gatewayWide.totals.steps['page_opened']).toBe(1);
    expect(after.days.at(-1)?.date).toBe(new Date().toISOString().slice(0, 10));
    expect(after.days.at(-1)?.steps['token_stored']).toBe(1);

    const metrics = (await request(app.url).get('/metrics')).text;
    expect(metrics).toContain(`cekgw_linking_funnel_total{extension="${EXT}",step="prompted"} 1`);
    expect(metrics).toContain(`cekgw_linking_funnel_total{extension="${EXT}",step="first_action"} 1`);
    expect(metrics).toContain('cekgw_linking_funnel_total{extension="*",step="page_opened"} 1');

    // A test user (TokenRecord.test) is left out of the funnel.
    const vault = vaultOf(app);
    await vault.link(EXT, 'test-user', { accessToken: 'synthetic' }, { expiresAt: null, scope: null, tokenType: 'Bearer' });
    await vault.update(EXT, 'test-user', (r) => {
      r.test = true;
    });
    expect(await voice(app, 'test-user')).toMatch(/token synthetic/);
    await sleep(1_300);
    expect((await funnelOf(app)).totals.steps['first_action']).toBe(1);
  });

  test('failures by reason: wrong code, denied consent, expired state, token endpoint error', async () => {
    // Wrong code: matches no extension.
    const browser = new FetchBrowser();
    const form = await browser.request(`${app.url}/link`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? '';
    expect((await browser.request(`${app.url}/link`, { form: { csrf, code: '000000000000' } })).status).toBe(400);

    // Denied consent at the provider.
    const denied = await linkFlow(app, 'denying-user', { deny: true });
    expect(denied.text).toContain('Linking was cancelled');

    // An unknown (expired) state.
    expect((await request(app.url).get('/oauth/callback?state=not-a-live-state&code=x')).status).toBe(400);

    // A token endpoint that answers HTML with a 500.
    await setUpLinking(app, provider, 'com.example.states2', `${failingToken.url}/token`);
    const failed = await linkFlow(app, 'unlucky-user', { ext: 'com.example.states2' });
    expect(failed.status).toBe(502);

    await waitFor(async () => (await funnelOf(app, 'com.example.states2')).totals.failures['token_endpoint_error'] === 1, 5_000);
    const own = await funnelOf(app);
    expect(own.totals.failures).toMatchObject({ consent_denied: 1, token_endpoint_error: 0 });
    expect(own.gatewayWide.totals.failures).toMatchObject({ wrong_code: 1, expired_state: 1, lockout: 0 });
    const other = await funnelOf(app, 'com.example.states2');
    expect(other.totals.steps).toMatchObject({ prompted: 1, code_accepted: 1, consent_returned: 1, token_stored: 0 });
    expect(other.totals.failures).toMatchObject({ token_endpoint_error: 1, consent_denied: 0 });
    const metrics = (await request(app.url).get('/metrics')).text;
    expect(metrics).toContain(`cekgw_linking_failures_total{extension="${EXT}",reason="consent_denied"} 1`);
    expect(metrics).toContain('cekgw_linking_failures_total{extension="com.example.states2",reason="token_endpoint_error"} 1');
    expect(metrics).toContain('cekgw_linking_failures_total{extension="*",reason="wrong_code"} 1');
  });

  test('bad input: days out of range is a 400 naming the field; unknown extension 404', async () => {
    for (const q of ['days=0', 'days=91', 'days=x', 'other=1']) {
      const res = await adminApi(app).get(`/extensions/${EXT}/linking/funnel?${q}`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_query');
    }
    expect((await adminApi(app).get('/extensions/com.example.none/linking/funnel')).status).toBe(404);
    expect((await adminApi(app).get('/extensions/com.example.none/linking/state')).status).toBe(404);
  });

  test('link → broken (the provider answers invalid_grant) → recovered → unlinked: the API and the users page show state and history', async () => {
    const userId = 'history-user';
    expect((await adminApi(app).get(`/extensions/${EXT}/links/${userId}`)).status).toBe(404);
    expect((await linkFlow(app, userId)).status).toBe(200);
    expect(await voice(app, userId)).toMatch(/token /);

    // Revoke the grant at the provider, and let the access token expire: the refresh gets invalid_grant.
    const vault = vaultOf(app);
    const opened = await vault.read(EXT, userId);
    const revoked = await fetch(provider.revocationUrl, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${provider.clientId}:${provider.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: opened!.tokens.refreshToken!, token_type_hint: 'refresh_token' }).toString(),
    });
    expect(revoked.status).toBe(200);
    await vault.update(EXT, userId, (r) => {
      r.expiresAt = Date.now() - 1_000;
    });
    expect(spokenCode(await voice(app, userId))).toMatch(/^\d{12}$/);

    const broken = await adminApi(app).get(`/extensions/${EXT}/links/${userId}`);
    expect(broken.status).toBe(200);
    expect(broken.body).toMatchObject({ userId, status: 'broken', state: 'broken', reason: expect.stringContaining('invalid_grant') });
    expect(broken.body.history.map((h: { state: string }) => h.state)).toEqual(['broken', 'linked']);

    expect((await linkFlow(app, userId)).status).toBe(200);
    await adminApi(app).delete(`/extensions/${EXT}/links/${userId}`).expect(204);

    const gone = await adminApi(app).get(`/extensions/${EXT}/links/${userId}`);
    expect(gone.status).toBe(200);
    expect(gone.body).toMatchObject({ userId, status: 'unlinked', state: 'unlinked', reason: 'admin', expiresAt: null, test: false });
    // The shape of a linked user's answer, field for field.
    expect(Object.keys(gone.body).sort()).toEqual(Object.keys(broken.body).sort());
    const history = gone.body.history as Array<{ at: string; state: string; event: string; cause: string }>;
    expect(history.map((h) => [h.state, h.event])).toEqual([
      ['unlinked', 'link.unlinked'],
      ['linked', 'link.recovered'],
      ['broken', 'link.broken'],
      ['linked', 'link.created'],
    ]);
    expect(history[0]?.cause).toBe('unlinked by admin');
    expect(history[1]?.cause).toBe('linked again');
    expect(history[2]?.cause).toMatch(/^refresh refused: invalid_grant/);
    for (const h of history) expect(Number.isFinite(Date.parse(h.at))).toBe(true);
    // Never a token in the history.
    expect(JSON.stringify(gone.body)).not.toContain(opened!.tokens.accessToken);
    expect(JSON.stringify(gone.body)).not.toContain(opened!.tokens.refreshToken!);
    // The history is kept with a lifetime after unlink.
    expect(await app.store.ttl(`link:history:${EXT}:${userId}`)).toBeGreaterThan(80 * 86_400_000);

    // The users page: the unlinked user with its history, a linked one with theirs, the extension's linking state.
    const { cookie } = await signIn(app);
    const page = await send(app, `/admin/extensions/${EXT}/users`, { cookie });
    expect(page.status).toBe(200);
    const unlinked = /<section class="card" id="unlinked">([\s\S]*?)<\/section>/.exec(page.text)?.[1] ?? '';
    expect(unlinked).toContain(`data-user="${userId}"`);
    expect(unlinked).toContain('unlinked by admin');
    expect(unlinked).toContain('linked again');
    expect(unlinked).toMatch(/refresh refused: invalid_grant/);
    const linkedRow = /<tr data-user="funnel-user">([\s\S]*?)<\/tr>/.exec(page.text)?.[1] ?? '';
    expect(linkedRow).toContain('History (1)');
    expect(page.text).toMatch(/id="linking-state" data-state="ok"/);
    // The funnel chart: a bar per step, with its numbers.
    expect(page.text).toMatch(/<tr data-step="token_stored" data-value="[1-9]/);
    expect(page.text).toMatch(/<tr data-step="consent_denied" data-value="1"/);
    expect(page.text).toContain('id="funnel-data"');
  }, 30_000);
});

describe.each(storeKinds)('provider.down / provider.up on %s', (kind) => {
  test('two instances on one store: the breaker opening on both sends provider.down once, closing sends provider.up once; the linking state shows it', async () => {
    const shared: TestStore = await openTestStore(kind, 'states-provider');
    const encryptionKey = randomBytes(32).toString('base64');
    let mode: 'down' | 'up' = 'down';
    let n = 0;
    const tokenEndpoint = await startTarget({
      '/token': (_call, res) => {
        n++;
        if (mode === 'down') res.writeHead(503, { 'content-type': 'text/html' }).end('<html>down</html>');
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `fresh-${n}`, token_type: 'Bearer', expires_in: 3600 }));
      },
    });
    const receiver = await startTarget({ '/hooks': reply.status(204) });
    const apps: TestApp[] = [];
    try {
      for (let i = 0; i < 2; i++) apps.push(await startTestApp({ label: 'states-provider', sharedStore: shared, encryptionKey, responders: tokenProbe }));
      const [a, b] = apps as [TestApp, TestApp];
      await adminApi(a)
        .post('/extensions', { extensionId: EXT, language: 'en', messages: { error: ERROR_TEXT } })
        .expect(201);
      await adminApi(a)
        .put(`/extensions/${EXT}/account-linking`, {
          enabled: true,
          loginUrl: `${tokenEndpoint.url}/authorize`,
          tokenUrl: `${tokenEndpoint.url}/token`,
          clientId: 'c',
          clientSecret: 's',
          clientAuth: 'body',
        })
        .expect(200);
      const hook = await adminApi(a).post(`/extensions/${EXT}/webhooks`, { url: `${receiver.url}/hooks`, events: ['provider.down', 'provider.up'] });
      expect(hook.status).toBe(201);
      const secret = hook.body.secret as string;
      const vault = vaultOf(a);
      for (let i = 0; i < 2 * FAILURES_TO_OPEN + 2; i++) {
        await vault.link(EXT, `u-${i}`, { accessToken: `old-${i}`, refreshToken: `rt-${i}` }, { expiresAt: Date.now() - 1_000, scope: 'api', tokenType: 'Bearer' });
        await vault.update(EXT, `u-${i}`, (r) => {
          delete r.successPending;
        });
      }
      expect((await adminApi(a).get(`/extensions/${EXT}/linking/state`)).body).toMatchObject({ extensionId: EXT, state: 'ok', history: [] });

      // Each instance's breaker opens after its own failures in a row.
      for (let i = 0; i < FAILURES_TO_OPEN; i++) expect(await voice(a, `u-${i}`)).toBe(ERROR_TEXT);
      for (let i = FAILURES_TO_OPEN; i < 2 * FAILURES_TO_OPEN; i++) expect(await voice(b, `u-${i}`)).toBe(ERROR_TEXT);
      // Requests refused by the open breaker announce nothing new.
      expect(await voice(a, `u-${2 * FAILURES_TO_OPEN}`)).toBe(ERROR_TEXT);
      const down = await adminApi(b).get(`/extensions/${EXT}/linking/state`);
      expect(down.body).toMatchObject({ state: 'provider_down', reason: expect.stringContaining('503'), providerDown: { since: expect.any(String) } });
      await waitFor(async () => receiver.callsTo('/hooks').length >= 1, 10_000);

      mode = 'up';
      await sleep(OPEN_MS + 200);
      expect(await voice(a, 'u-0')).toMatch(/^token fresh-/);
      expect(await voice(b, `u-${FAILURES_TO_OPEN}`)).toMatch(/^token fresh-/);
      await waitFor(async () => receiver.callsTo('/hooks').length >= 2, 10_000);
      await sleep(1_000);

      const calls: TargetCall[] = receiver.callsTo('/hooks');
      const payloads = calls.map(
        (c) =>
          new Webhook(secret).verify(c.body.toString('utf8'), {
            'webhook-id': String(c.headers['webhook-id']),
            'webhook-timestamp': String(c.headers['webhook-timestamp']),
            'webhook-signature': String(c.headers['webhook-signature']),
          }) as { type: string; timestamp: string; data: Record<string, string> },
      );
      payloads.sort((x, y) => x.timestamp.localeCompare(y.timestamp));
      expect(payloads).toEqual([
        { type: 'provider.down', timestamp: expect.any(String), data: { extensionId: EXT, reason: expect.stringMatching(/^5 token refreshes in a row failed, the last: .*503/) } },
        { type: 'provider.up', timestamp: expect.any(String), data: { extensionId: EXT, reason: 'a token refresh succeeded' } },
      ]);
      const up = await adminApi(a).get(`/extensions/${EXT}/linking/state`);
      expect(up.body).toMatchObject({ state: 'ok', reason: null, providerDown: null });
      expect(up.body.history.map((h: { state: string; event: string }) => [h.state, h.event])).toEqual([
        ['ok', 'provider.up'],
        ['provider_down', 'provider.down'],
      ]);
      // The users page says so too.
      const { cookie } = await signIn(a);
      expect((await send(a, `/admin/extensions/${EXT}/users`, { cookie })).text).toMatch(/id="linking-state" data-state="ok"/);
    } finally {
      for (const app of apps) await app.close();
      await receiver.close();
      await tokenEndpoint.close();
      await shared.cleanup();
    }
  }, 60_000);
});
