import request from 'supertest';
import { FAILURES_TO_OPEN, OPEN_MS } from '../../src/linking/circuitBreaker.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { intentRequest } from '../helpers/cek.js';
import { startTarget, type TestTarget } from '../helpers/targets.js';
import { speechOf } from '../helpers/tokenProbe.js';
import { vaultOf } from '../helpers/vault.js';

/**
 * The per-provider circuit breaker (issue 16): a token endpoint that answers 503 opens it after
 * FAILURES_TO_OPEN refreshes in a row; then voice requests that need a refresh speak the error
 * without calling the provider at all; after OPEN_MS one probe goes through, and once the provider
 * is back the breaker closes and links work again without anyone relinking.
 */
describe('circuit breaker per OAuth provider', () => {
  const EXT = 'com.example.breaker';
  const ERROR_TEXT = 'The points service is down.';
  let app: TestApp;
  let target: TestTarget;
  let provider: TestTarget;
  let mode: 'down' | 'up' = 'down';
  let providerCalls = 0;

  const metric = async (name: string): Promise<string> => {
    const text = (await request(app.url).get('/metrics')).text;
    return text.split('\n').find((l) => l.startsWith(name)) ?? '';
  };
  const voice = async (userId: string): Promise<string> => {
    const raw = JSON.stringify(intentRequest({ extensionId: EXT, intent: 'Points', userId }));
    const res = await fetch(`${app.url}/cek/${EXT}`, { method: 'POST', headers: { 'content-type': 'application/json', signaturecek: app.signer.sign(raw) }, body: raw });
    expect(res.status).toBe(200);
    return speechOf((await res.json()) as Parameters<typeof speechOf>[0]);
  };

  beforeAll(async () => {
    app = await startTestApp({ label: 'breaker' });
    target = await startTarget({
      '/points': (call, res) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ speech: `points for ${String(call.headers['authorization'])}` }));
      },
    });
    provider = await startTarget({
      '/token': (_call, res) => {
        providerCalls++;
        if (mode === 'down') res.writeHead(503, { 'content-type': 'text/html' }).end('<html>down</html>');
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `fresh-${providerCalls}`, token_type: 'Bearer', expires_in: 3600 }));
      },
    });
    await request(app.url)
      .post('/api/v1/extensions')
      .set(app.adminHeaders)
      .send({ extensionId: EXT, language: 'en', messages: { error: ERROR_TEXT } })
      .expect(201);
    await request(app.url)
      .put(`/api/v1/extensions/${EXT}/account-linking`)
      .set(app.adminHeaders)
      .send({ enabled: true, loginUrl: `${provider.url}/authorize`, tokenUrl: `${provider.url}/token`, clientId: 'c', clientSecret: 's', clientAuth: 'body' })
      .expect(200);
    await request(app.url)
      .put(`/api/v1/extensions/${EXT}/actions/Points`)
      .set(app.adminHeaders)
      .send({ trigger: { type: 'IntentRequest', intent: 'Points' }, url: `${target.url}/points`, useOAuthToken: true, tokenSource: 'linked' })
      .expect(201);
    const vault = vaultOf(app);
    for (let i = 0; i < FAILURES_TO_OPEN + 3; i++) {
      await vault.link(EXT, `user-${i}`, { accessToken: `old-${i}`, refreshToken: `rt-${i}` }, { expiresAt: Date.now() - 1_000, scope: 'api', tokenType: 'Bearer' });
      await vault.update(EXT, `user-${i}`, (r) => {
        delete r.successPending;
      });
    }
  });
  afterAll(async () => {
    await app.close();
    await target.close();
    await provider.close();
  });

  test('opens after the failures in a row, answers without calling the provider, probes after the open time, closes when it is back', async () => {
    for (let i = 0; i < FAILURES_TO_OPEN; i++) expect(await voice(`user-${i}`)).toBe(ERROR_TEXT);
    expect(providerCalls).toBe(FAILURES_TO_OPEN);
    expect(await metric('cekgw_provider_circuits_open')).toBe('cekgw_provider_circuits_open 1');

    // Open: the error at once, the provider not called.
    for (let i = FAILURES_TO_OPEN; i < FAILURES_TO_OPEN + 3; i++) expect(await voice(`user-${i}`)).toBe(ERROR_TEXT);
    expect(providerCalls).toBe(FAILURES_TO_OPEN);
    expect(await metric('cekgw_token_refreshes_total{outcome="circuit_open"}')).toMatch(/ 3$/);

    // The provider comes back; after the open time one probe goes through and closes the breaker.
    mode = 'up';
    await new Promise((r) => setTimeout(r, OPEN_MS + 200));
    expect(await voice('user-0')).toBe(`points for Bearer fresh-${FAILURES_TO_OPEN + 1}`);
    expect(await metric('cekgw_provider_circuits_open')).toBe('cekgw_provider_circuits_open 0');
    expect(await voice('user-6')).toBe(`points for Bearer fresh-${FAILURES_TO_OPEN + 2}`);
    // Nobody's link broke along the way.
    const links = (await request(app.url).get(`/api/v1/extensions/${EXT}/links`).set(app.adminHeaders)).body.links as Array<{ status: string }>;
    expect(links.every((l) => l.status === 'linked')).toBe(true);
  }, 40_000);
});
