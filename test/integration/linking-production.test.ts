import * as oidc from 'openid-client';
import request from 'supertest';
import { OAuthClients } from '../../src/linking/oauthClient.js';
import { settingsOf } from '../../src/linking/settings.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startConnectionCounter, type ConnectionCounter } from '../helpers/targets.js';

const ID = 'com.example.prod-linking';

/**
 * In production mode the provider URLs the gateway itself calls (token, revocation, issuer) follow
 * the action targets' policy: loopback and private addresses refused when saved and when dialled,
 * unless the extension sets allowPrivateTargets. The login URL is opened by the user's browser.
 */
describe('account-linking provider URLs in production mode', () => {
  let app: TestApp;
  let tcp: ConnectionCounter;
  /** The app's OAuth clients seen from the test (its keyring and mode, as the service builds them). */
  let clients: OAuthClients;
  const put = (body: object) => request(app.url).put(`/api/v1/extensions/${ID}/account-linking`).set(app.adminHeaders).send(body);
  const setAllow = (allow: boolean) => request(app.url).patch(`/api/v1/extensions/${ID}`).set(app.adminHeaders).send({ allowPrivateTargets: allow }).expect(200);
  const base = { enabled: true, loginUrl: 'https://127.0.0.1/authorize', clientId: 'client', clientSecret: 'secret' };

  beforeAll(async () => {
    app = await startTestApp({ label: 'linking-prod', env: { NODE_ENV: 'production', PUBLIC_URL: 'https://cek.example.com' } });
    tcp = await startConnectionCounter();
    clients = new OAuthClients(app.services.keyring, app.config.production);
    await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: ID, language: 'en' }).expect(201);
  });
  afterAll(async () => {
    await clients.close();
    await app.close();
    await tcp.close();
  });

  test.each([
    ['tokenUrl', { tokenUrl: 'https://169.254.169.254/latest/meta-data' }],
    ['tokenUrl', { tokenUrl: 'https://localhost/token' }],
    ['revocationUrl', { tokenUrl: 'https://auth.example.com/token', revocationUrl: 'https://10.0.0.5/revoke' }],
    ['issuer', { issuer: 'https://127.0.0.1:3903/' }],
  ])('a private or loopback %s is refused when saved', async (path, urls) => {
    const res = await put({ ...base, ...urls });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_body');
    expect(res.body.error.details).toEqual(expect.arrayContaining([{ path, message: expect.stringMatching(/allowPrivateTargets/) }]));
  });

  test('the login URL may be anywhere (the browser opens it); a public token URL is accepted', async () => {
    expect((await put({ ...base, tokenUrl: 'https://auth.example.com/token' })).status).toBe(200);
  });

  test('a name that resolves to loopback is refused when the gateway dials it, unless the extension allows private targets', async () => {
    await setAllow(true);
    expect((await put({ ...base, tokenUrl: `https://localhost:${tcp.port}/token` })).status).toBe(200);
    await setAllow(false);
    const record = (await request(app.url).get(`/api/v1/extensions/${ID}`).set(app.adminHeaders)).body as { allowPrivateTargets: boolean };
    expect(record.allowPrivateTargets).toBe(false);
    const stored = await app.services.registry.get(ID);
    const config = await clients.configFor(stored, settingsOf(stored)!);
    const before = tcp.connections.length;
    await expect(oidc.refreshTokenGrant(config, 'a-refresh-token')).rejects.toThrow();
    expect(tcp.connections.length).toBe(before);

    // Allowed: the same call reaches the listener (and fails there: it is not TLS).
    await setAllow(true);
    const allowed = await app.services.registry.get(ID);
    const open = await clients.configFor(allowed, settingsOf(allowed)!);
    await expect(oidc.refreshTokenGrant(open, 'a-refresh-token')).rejects.toThrow();
    expect(tcp.connections.length).toBeGreaterThan(before);
  });
});
