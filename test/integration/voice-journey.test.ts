import request from 'supertest';
import { keysOutsideFamilies } from '../helpers/stores.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { vaultOf } from '../helpers/vault.js';
import { FetchBrowser } from '../helpers/browser.js';
import { intentRequest } from '../helpers/cek.js';
import { startProvider, type TestProvider } from '../helpers/provider.js';
import { storeKinds } from '../helpers/stores.js';
import { startTarget, type TestTarget } from '../helpers/targets.js';
import { speechOf, spokenCode } from '../helpers/tokenProbe.js';

/**
 * The journey of issues 3 and 8 together, with every part real: an intent mapped to an action
 * method that needs the user's token; the user hears the pairing prompt, links on the "phone"
 * against oidc-provider, and the next voice request reaches the target with the linked token and
 * the exact bytes CLOVA signed. A 401 from the target refreshes the token once and retries.
 */
const EXT = 'com.example.journey';

describe.each(storeKinds)('voice journey on %s: action method + account linking', (kind) => {
  let app: TestApp;
  let provider: TestProvider;
  let target: TestTarget;
  let rejectToken: string | undefined;

  const say = (userId: string) => {
    const raw = JSON.stringify(intentRequest({ extensionId: EXT, intent: 'CheckPoints', userId, slots: { period: { name: 'period', value: 'today' } } }));
    return { raw, res: request(app.url).post(`/cek/${EXT}`).set('SignatureCEK', app.signer.sign(raw)).send(raw) };
  };

  beforeAll(async () => {
    app = await startTestApp({ store: kind, label: 'journey' });
    provider = await startProvider({ clientAuth: 'basic', redirectUri: `${app.config.publicUrl}/oauth/callback` });
    target = await startTarget({
      '/points': (call, res) => {
        if (call.headers.authorization === `Bearer ${rejectToken}`) {
          res.writeHead(401).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ speech: 'You have 1200 points.' }));
      },
    });
    const admin = (r: request.Test) => r.set(app.adminHeaders);
    await admin(request(app.url).post('/api/v1/extensions')).send({ extensionId: EXT, language: 'en' }).expect(201);
    await admin(request(app.url).put(`/api/v1/extensions/${EXT}/account-linking`))
      .send({ enabled: true, loginUrl: provider.authorizationUrl, tokenUrl: provider.tokenUrl, clientId: provider.clientId, clientSecret: provider.clientSecret, scope: 'api' })
      .expect(200);
    const put = await admin(request(app.url).put(`/api/v1/extensions/${EXT}/actions/CheckPoints`)).send({
      trigger: { type: 'IntentRequest', intent: 'CheckPoints' },
      url: `${target.url}/points`,
      useOAuthToken: true,
      tokenSource: 'linked',
    });
    expect(put.status).toBe(201);
  });
  afterAll(async () => {
    await app.close();
    await provider.close();
    await target.close();
  });

  test('prompt → link → the target gets the linked token and the exact bytes → 401 refreshes once', async () => {
    const first = say('journey-user');
    const prompt = await first.res;
    expect(prompt.status).toBe(200);
    expect(target.calls).toHaveLength(0);
    const code = spokenCode(speechOf(prompt.body));

    const browser = new FetchBrowser();
    const form = await browser.request(`${app.url}/link`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? '';
    const started = await browser.request(`${app.url}/link`, { form: { csrf, code } });
    const callback = await browser.authorize(started.location!, `${app.config.publicUrl}/oauth/callback`);
    expect((await browser.request(`${app.url}${callback.pathname}${callback.search}`)).text).toContain('Account linked');

    const vault = vaultOf(app);
    const linked = (await vault.read(EXT, 'journey-user'))!.tokens.accessToken;

    const second = say('journey-user');
    const answer = await second.res;
    expect(answer.status).toBe(200);
    expect(speechOf(answer.body)).toBe('Your account is now linked. You are all set. You have 1200 points.');
    const call = target.callsTo('/points').at(-1)!;
    expect(call.body.equals(Buffer.from(second.raw))).toBe(true);
    expect(call.headers.authorization).toBe(`Bearer ${linked}`);
    expect(call.headers['x-cek-extension-id']).toBe(EXT);
    expect(call.headers['x-cek-user-id']).toBe('journey-user');

    // The target rejects the current token: one refresh at the provider, one retry with the new token.
    rejectToken = linked;
    const refreshes = provider.counts.refresh;
    const callsBefore = target.calls.length;
    const third = await say('journey-user').res;
    expect(speechOf(third.body)).toBe('You have 1200 points.');
    expect(provider.counts.refresh).toBe(refreshes + 1);
    const [rejected, retried] = target.calls.slice(callsBefore);
    expect(rejected!.headers.authorization).toBe(`Bearer ${linked}`);
    const fresh = (await vault.read(EXT, 'journey-user'))!.tokens.accessToken;
    expect(fresh).not.toBe(linked);
    expect(retried!.headers.authorization).toBe(`Bearer ${fresh}`);

    const links = await request(app.url).get(`/api/v1/extensions/${EXT}/links`).set(app.adminHeaders);
    expect(links.body.links).toEqual([expect.objectContaining({ userId: 'journey-user', status: 'linked' })]);
  });

  test('every key the journey wrote belongs to a family of store/keys.ts', async () => {
    expect(await keysOutsideFamilies(app.store)).toEqual([]);
    expect((await app.store.list('')).length).toBeGreaterThan(3);
  });
});
