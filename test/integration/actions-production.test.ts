import request from 'supertest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startConnectionCounter, type ConnectionCounter } from '../helpers/targets.js';
import { intentRequest } from '../helpers/cek.js';

const ID = 'com.example.prod';
const ERROR_TEXT = 'Sorry, something went wrong. Please try again in a moment.';

/**
 * The target policy in production mode (NODE_ENV=production): https only, and loopback / private
 * addresses refused unless the extension sets allowPrivateTargets: at definition time from the
 * URL text, and at connect time on the address actually dialled.
 */
describe('action targets in production mode', () => {
  let app: TestApp;
  let tcp: ConnectionCounter;

  const put = (name: string, url: string) =>
    request(app.url)
      .put(`/api/v1/extensions/${ID}/actions/${name}`)
      .set(app.adminHeaders)
      .send({ trigger: { type: 'IntentRequest', intent: name }, url });
  const setAllow = (allow: boolean) => request(app.url).patch(`/api/v1/extensions/${ID}`).set(app.adminHeaders).send({ allowPrivateTargets: allow }).expect(200);
  const speak = async (intentName: string) => {
    const raw = JSON.stringify(intentRequest({ extensionId: ID, intent: intentName }));
    const res = await request(app.url).post(`/cek/${ID}`).set('SignatureCEK', app.signer.sign(raw)).set('content-type', 'application/json').send(raw);
    expect(res.status).toBe(200);
    return res.body.response.outputSpeech.values.value as string;
  };
  const forwards = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (const v of (await app.services.metrics.forwards.get()).values) out[String(v.labels['outcome'])] = v.value;
    return out;
  };

  beforeAll(async () => {
    app = await startTestApp({ label: 'actions-prod', env: { NODE_ENV: 'production', PUBLIC_URL: 'https://cek.example.com' } });
    expect(app.config.production).toBe(true);
    tcp = await startConnectionCounter();
    await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: ID, language: 'en' }).expect(201);
  });
  afterAll(async () => {
    await app.close();
    await tcp.close();
  });

  test('an http target is refused at definition time', async () => {
    const res = await put('Http', 'http://api.example.com/points');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_body');
    expect(res.body.error.details).toEqual([{ path: 'url', message: 'must be https:// in production mode' }]);
  });

  test.each([
    'https://127.0.0.1/x',
    'https://[::1]/x',
    'https://10.1.2.3/x',
    'https://169.254.169.254/latest/meta-data',
    'https://[::ffff:192.168.0.1]/x',
    'https://localhost/x',
    'https://api.localhost./x',
    'https://0x7f.1/x',
  ])('a private target is refused at definition time: %s', async (url) => {
    const res = await put('Private', url);
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].path).toBe('url');
    expect(res.body.error.details[0].message).toMatch(/allowPrivateTargets/);
  });

  test('a loopback https target is refused at connect time unless the extension allows private targets', async () => {
    // Defined while allowed, then the permission is withdrawn: the definition stays, the connection is refused.
    await setAllow(true);
    expect((await put('Loopback', `https://127.0.0.1:${tcp.port}/x`)).status).toBe(201);
    await setAllow(false);
    const before = await forwards();
    expect(await speak('Loopback')).toBe(ERROR_TEXT);
    expect((await forwards())['blocked']).toBe((before['blocked'] ?? 0) + 1);
    expect(tcp.connections).toHaveLength(0);

    // Allowed again: the gateway dials it (the TLS handshake with a plain TCP listener then fails).
    await setAllow(true);
    expect(await speak('Loopback')).toBe(ERROR_TEXT);
    expect(tcp.connections.length).toBeGreaterThanOrEqual(1);
    const after = await forwards();
    expect(after['blocked']).toBe((before['blocked'] ?? 0) + 1);
  });

  test('a host name that resolves to loopback is refused on its resolved address, not only on the URL text', async () => {
    await setAllow(true);
    // Defined while allowed (the text check would refuse `localhost`), so only the connect-time
    // lookup stands between the name and 127.0.0.1: the DNS-rebinding case.
    expect((await put('ByName', `https://localhost:${tcp.port}/x`)).status).toBe(201);
    await setAllow(false);
    const seen = tcp.connections.length;
    const before = await forwards();
    expect(await speak('ByName')).toBe(ERROR_TEXT);
    expect((await forwards())['blocked']).toBe((before['blocked'] ?? 0) + 1);
    expect(tcp.connections).toHaveLength(seen);
  });
});
