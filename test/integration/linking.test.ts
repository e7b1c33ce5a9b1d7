import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { stalledBody } from '../helpers/stalledBody.js';
import { vaultOf } from '../helpers/vault.js';
import { FetchBrowser } from '../helpers/browser.js';
import { eventRequest, intentRequest } from '../helpers/cek.js';
import { startProvider, type TestProvider } from '../helpers/provider.js';
import { tokenProbe, speechOf, spokenCode } from '../helpers/tokenProbe.js';
import { clusterAvailable, postgresAvailable, redisAvailable, type StoreKindName } from '../helpers/stores.js';

const EXT = 'com.example.linked';

interface Shape {
  name: string;
  clientAuth: 'basic' | 'body';
  discovery: boolean;
  /** SQLite unless given. */
  store?: StoreKindName;
}

const shapes: Shape[] = [
  { name: 'plain OAuth 2.0, typed URLs, client_secret_basic', clientAuth: 'basic', discovery: false },
  { name: 'plain OAuth 2.0, typed URLs, client_secret_post', clientAuth: 'body', discovery: false },
  { name: 'OIDC with discovery, client_secret_basic', clientAuth: 'basic', discovery: true },
  { name: 'OIDC with discovery, client_secret_post', clientAuth: 'body', discovery: true },
  // The whole flow once on each shared store (the store contract suite covers the stores themselves).
  ...(postgresAvailable ? [{ name: 'OIDC with discovery, client_secret_basic, on PostgreSQL', clientAuth: 'basic' as const, discovery: true, store: 'postgres' as const }] : []),
  ...(redisAvailable ? [{ name: 'OIDC with discovery, client_secret_basic, on Redis', clientAuth: 'basic' as const, discovery: true, store: 'redis' as const }] : []),
  ...(clusterAvailable ? [{ name: 'OIDC with discovery, client_secret_basic, on a Redis Cluster', clientAuth: 'basic' as const, discovery: true, store: 'cluster' as const }] : []),
];

async function setUp(shape: Shape) {
  const app = await startTestApp({ label: 'linking', responders: tokenProbe, ...(shape.store !== undefined ? { store: shape.store } : {}) });
  const provider = await startProvider({ clientAuth: shape.clientAuth, redirectUri: `${app.config.publicUrl}/oauth/callback` });
  await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: EXT, language: 'en' }).expect(201);
  const settings = shape.discovery
    ? { enabled: true, issuer: provider.issuer, clientId: provider.clientId, clientSecret: provider.clientSecret, clientAuth: shape.clientAuth, scope: 'openid offline_access api' }
    : {
        enabled: true,
        loginUrl: provider.authorizationUrl,
        tokenUrl: provider.tokenUrl,
        revocationUrl: provider.revocationUrl,
        clientId: provider.clientId,
        clientSecret: provider.clientSecret,
        clientAuth: shape.clientAuth,
        scope: 'api',
      };
  const put = await request(app.url).put(`/api/v1/extensions/${EXT}/account-linking`).set(app.adminHeaders).send(settings);
  expect(put.status).toBe(200);
  return { app, provider };
}

const voice = (app: TestApp, body: object) => {
  const raw = JSON.stringify(body);
  return request(app.url).post(`/cek/${EXT}`).set('SignatureCEK', app.signer.sign(raw)).send(raw);
};

/** The whole flow over HTTP: voice prompt → code on /link → provider login + consent → callback. */
async function linkUser(app: TestApp, userId: string, browser = new FetchBrowser()): Promise<{ callback: URL; page: string }> {
  const prompt = await voice(app, intentRequest({ extensionId: EXT, intent: 'WhoAmI', userId }));
  const code = spokenCode(speechOf(prompt.body));
  const form = await browser.request(`${app.url}/link`);
  const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? '';
  const posted = await browser.request(`${app.url}/link`, { form: { csrf, code } });
  expect(posted.status).toBe(303);
  const callback = await browser.authorize(posted.location!, `${app.config.publicUrl}/oauth/callback`);
  const done = await browser.request(`${app.url}${callback.pathname}${callback.search}`);
  return { callback, page: `${done.status} ${done.text}` };
}

describe.each(shapes)('account linking: $name', (shape) => {
  let app: TestApp;
  let provider: TestProvider;
  beforeAll(async () => {
    ({ app, provider } = await setUp(shape));
  });
  afterAll(async () => {
    await app.close();
    await provider.close();
  });

  test('voice prompt with a spoken code → phone links → the next voice request carries the token', async () => {
    const prompt = await voice(app, intentRequest({ extensionId: EXT, intent: 'WhoAmI', userId: 'alice-clova' }));
    expect(prompt.status).toBe(200);
    const text = speechOf(prompt.body);
    expect(text).toContain(`${app.config.publicUrl}/link`);
    expect(text).toMatch(/code \d \d \d, \d \d \d, \d \d \d, \d \d \d\./);
    expect(prompt.body.response.shouldEndSession).toBe(true);
    // Asking again within the code's life gives the same code.
    const again = await voice(app, intentRequest({ extensionId: EXT, intent: 'WhoAmI', userId: 'alice-clova' }));
    expect(spokenCode(speechOf(again.body))).toBe(spokenCode(text));

    const { page } = await linkUser(app, 'alice-clova');
    expect(page).toMatch(/^200 /);
    expect(page).toContain('Account linked');
    expect(page).toContain('Your account is now linked. You are all set.');
    expect(provider.counts.authorizationCode).toBeGreaterThanOrEqual(1);

    const links = await request(app.url).get(`/api/v1/extensions/${EXT}/links`).set(app.adminHeaders);
    expect(links.status).toBe(200);
    const alice = links.body.links.find((l: { userId: string }) => l.userId === 'alice-clova');
    expect(alice).toMatchObject({ status: 'linked', scope: expect.stringContaining('api') });
    expect(Date.parse(alice.expiresAt)).toBeGreaterThan(Date.now());

    // First request after linking: loginSuccess once, then only the token.
    const first = speechOf((await voice(app, intentRequest({ extensionId: EXT, intent: 'WhoAmI', userId: 'alice-clova' }))).body);
    expect(first).toMatch(/^Your account is now linked\. You are all set\. token \S+/);
    const second = speechOf((await voice(app, intentRequest({ extensionId: EXT, intent: 'WhoAmI', userId: 'alice-clova' }))).body);
    expect(second).toMatch(/^token \S+$/);
    const token = second.slice('token '.length);
    expect(JSON.stringify(links.body)).not.toContain(token);

    // The stored record holds neither token as text.
    const opened = await app.services.linking.accessToken((await app.services.registry.resolve(EXT))!, 'alice-clova');
    expect(opened).toEqual({ status: 'ok', token });
    const raw = await app.store.get(`tok:${EXT}:alice-clova`);
    expect(raw).not.toContain(token);
    const { tokens } = (await vaultOf(app).read(EXT, 'alice-clova'))!;
    expect(tokens.refreshToken).toBeTruthy();
    expect(raw).not.toContain(tokens.refreshToken!);
  });

  test('refresh: an expired token is refreshed once; the old refresh token is kept when none comes back', async () => {
    await linkUser(app, 'bob-clova');
    const vault = vaultOf(app);
    const before = await vault.read(EXT, 'bob-clova');
    await vault.update(EXT, 'bob-clova', (r) => {
      r.expiresAt = Date.now() - 1000;
      delete r.successPending;
    });
    const refreshesBefore = provider.counts.refresh;
    const spoken = speechOf((await voice(app, intentRequest({ extensionId: EXT, intent: 'WhoAmI', userId: 'bob-clova' }))).body);
    expect(provider.counts.refresh).toBe(refreshesBefore + 1);
    const after = await vault.read(EXT, 'bob-clova');
    expect(spoken).toBe(`token ${after!.tokens.accessToken}`);
    expect(after!.tokens.accessToken).not.toBe(before!.tokens.accessToken);
    expect(after!.tokens.refreshToken).toBe(before!.tokens.refreshToken);
    expect(after!.record.refreshedAt).not.toBeNull();
    expect(after!.record.linkedAt).toBe(before!.record.linkedAt);
  });

  test('invalid_grant on refresh marks the link broken and the user hears the prompt again', async () => {
    await linkUser(app, 'carol-clova');
    const vault = vaultOf(app);
    const rec = await vault.read(EXT, 'carol-clova');
    // Revoke the refresh token at the provider for real, then let the access token expire.
    const creds =
      shape.clientAuth === 'basic'
        ? { headers: { authorization: `Basic ${Buffer.from(`${provider.clientId}:${provider.clientSecret}`).toString('base64')}` }, body: {} }
        : { headers: {}, body: { client_id: provider.clientId, client_secret: provider.clientSecret } };
    const revoke = await fetch(provider.revocationUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...creds.headers },
      body: new URLSearchParams({ token: rec!.tokens.refreshToken!, token_type_hint: 'refresh_token', ...creds.body }),
    });
    expect(revoke.status).toBe(200);
    await vault.update(EXT, 'carol-clova', (r) => {
      r.expiresAt = Date.now() - 1000;
      delete r.successPending;
    });
    const spoken = speechOf((await voice(app, intentRequest({ extensionId: EXT, intent: 'WhoAmI', userId: 'carol-clova' }))).body);
    expect(spoken).toMatch(/code \d \d \d, \d \d \d, \d \d \d, \d \d \d/);
    const links = await request(app.url).get(`/api/v1/extensions/${EXT}/links`).set(app.adminHeaders);
    expect(links.body.links.find((l: { userId: string }) => l.userId === 'carol-clova')).toMatchObject({ status: 'broken', brokenReason: expect.stringContaining('invalid_grant') });
  });

  test('unlink from the success page revokes upstream; admin unlink and SkillDisabled remove the link', async () => {
    const browser = new FetchBrowser();
    const { page } = await linkUser(app, 'dave-clova', browser);
    const unlinkUrl = /id="unlink" href="|href="([^"]+)" id="unlink"/.exec(page);
    const href = /href="([^"]*\/link\/unlink\?ticket=[^"]+)"/.exec(page)?.[1];
    expect(unlinkUrl ?? href).toBeTruthy();
    const confirm = await browser.request(`${app.url}${new URL(href!.replace(/&amp;/g, '&')).pathname}${new URL(href!.replace(/&amp;/g, '&')).search}`);
    expect(confirm.status).toBe(200);
    const csrf = /name="csrf" value="([^"]+)"/.exec(confirm.text)?.[1] ?? '';
    const ticket = /name="ticket" value="([^"]+)"/.exec(confirm.text)?.[1] ?? '';
    const revocationsBefore = provider.counts.revocation;
    const done = await browser.request(`${app.url}/link/unlink`, { form: { csrf, ticket } });
    expect(done.status).toBe(200);
    expect(done.text).toContain('Account unlinked');
    expect(provider.counts.revocation).toBeGreaterThan(revocationsBefore);
    expect(await app.store.get(`tok:${EXT}:dave-clova`)).toBeNull();
    // The unlink ticket is single use.
    const replay = await browser.request(`${app.url}/link/unlink`, { form: { csrf, ticket } });
    expect(replay.status).toBe(400);

    await linkUser(app, 'erin-clova');
    const del = await request(app.url).delete(`/api/v1/extensions/${EXT}/links/erin-clova`).set(app.adminHeaders);
    expect(del.status).toBe(204);
    expect((await request(app.url).delete(`/api/v1/extensions/${EXT}/links/erin-clova`).set(app.adminHeaders)).status).toBe(404);

    await linkUser(app, 'frank-clova');
    const disabled = await voice(app, eventRequest({ extensionId: EXT, userId: 'frank-clova', namespace: 'ClovaSkill', name: 'SkillDisabled', nullSession: true }));
    expect(disabled.status).toBe(200);
    expect(disabled.body.response).toEqual({ outputSpeech: {}, card: {}, directives: [], shouldEndSession: true });
    expect(await app.store.get(`tok:${EXT}:frank-clova`)).toBeNull();
  });

  test('a link ticket from the admin API starts the flow once', async () => {
    const minted = await request(app.url).post(`/api/v1/extensions/${EXT}/link-tickets`).set(app.adminHeaders).send({ userId: 'gina-clova' });
    expect(minted.status).toBe(201);
    expect(minted.body.url).toMatch(/\/link\/start\?ticket=/);
    expect(minted.body.code).toMatch(/^\d{12}$/);
    const browser = new FetchBrowser();
    const u = new URL(minted.body.url);
    const start = await browser.request(`${app.url}${u.pathname}${u.search}`);
    expect(start.status).toBe(303);
    const callback = await browser.authorize(start.location!, `${app.config.publicUrl}/oauth/callback`);
    const done = await browser.request(`${app.url}${callback.pathname}${callback.search}`);
    expect(done.text).toContain('Account linked');
    const replay = await browser.request(`${app.url}${u.pathname}${u.search}`);
    expect(replay.status).toBe(400);
    expect(replay.text).toContain('This link does not work');
    // The code minted with the ticket was spent with it.
    const viaCode = await browser.request(`${app.url}/link`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(viaCode.text)?.[1] ?? '';
    expect((await browser.request(`${app.url}/link`, { form: { csrf, code: minted.body.code } })).status).toBe(400);
  });
});

describe('account linking failures end on a clear page, nothing half-stored', () => {
  let app: TestApp;
  let provider: TestProvider;
  let broken: Server;
  let brokenUrl: string;
  let mode: '500' | 'html' | 'hang' = '500';
  beforeAll(async () => {
    ({ app, provider } = await setUp({ name: 'failures', clientAuth: 'basic', discovery: false }));
    broken = createServer((req, res) => {
      req.resume();
      if (mode === 'hang') return; // never answers: the client's timeout must end it
      if (mode === 'html') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body>Maintenance</body></html>');
        return;
      }
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"server_error"}');
    });
    await new Promise<void>((r) => broken.listen(0, '127.0.0.1', r));
    brokenUrl = `http://127.0.0.1:${(broken.address() as AddressInfo).port}/token`;
  });
  afterAll(async () => {
    broken.closeAllConnections();
    await new Promise((r) => broken.close(r));
    await app.close();
    await provider.close();
  });

  const codeForm = async (browser: FetchBrowser, code: string) => {
    const form = await browser.request(`${app.url}/link`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? '';
    return browser.request(`${app.url}/link`, { form: { csrf, code } });
  };
  const pageText = (html: string) => html.replace(/<[^>]+>/g, ' ');
  const noInternals = (html: string) => expect(html).not.toMatch(/\bat \w+ \(|node_modules|Error:|stack/);

  test('a wrong code, a reused code and a code without the form token', async () => {
    const browser = new FetchBrowser();
    const wrong = await codeForm(browser, '000000000000');
    expect(wrong.status).toBe(400);
    expect(pageText(wrong.text)).toContain('That code did not work');
    const prompt = await voice(app, intentRequest({ extensionId: EXT, intent: 'WhoAmI', userId: 'u-reuse' }));
    const code = spokenCode(speechOf(prompt.body));
    expect((await codeForm(browser, code)).status).toBe(303);
    const reused = await codeForm(browser, code);
    expect(reused.status).toBe(400);
    noInternals(reused.text);
    const noCsrf = await new FetchBrowser().request(`${app.url}/link`, { form: { code: '123456' } });
    expect(noCsrf.status).toBe(403);
  });

  test('an expired code is refused', async () => {
    const prompt = await voice(app, intentRequest({ extensionId: EXT, intent: 'WhoAmI', userId: 'u-expired' }));
    const code = spokenCode(speechOf(prompt.body));
    // Expire it in the store the way its TTL would.
    for (const { key } of await app.store.list('pair:')) {
      const ttl = await app.store.ttl(key);
      if (ttl !== null) await app.store.set(key, (await app.store.get(key))!, 1);
    }
    await new Promise((r) => setTimeout(r, 20));
    const res = await codeForm(new FetchBrowser(), code);
    expect(res.status).toBe(400);
    expect(pageText(res.text)).toContain('expired');
  });

  test('a form that cannot be read (compressed wrong, another coding, too large) is a page with its status, never a 500 or JSON', async () => {
    const page = await fetch(`${app.url}/link`);
    const cookie = (page.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
    const form = Buffer.from(new URLSearchParams({ csrf, code: '000000000000' }).toString());
    const post = (path: string, encoding: string, body: Buffer) =>
      fetch(`${app.url}${path}`, { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': encoding }, body });
    for (const path of ['/link', '/link/unlink']) {
      for (const [encoding, body, status, says] of [
        ['gzip', Buffer.from('xx'), 400, 'it does not decode as its content-encoding says'],
        ['deflate', form, 400, 'it does not decode as its content-encoding says'],
        ['compress', form, 415, 'Unsupported content-encoding'],
        ['identity', Buffer.from(`code=${'1'.repeat(9_000)}`), 413, 'The request body is too large.'],
      ] as const) {
        const res = await post(path, encoding, body);
        expect([path, encoding, res.status, res.headers.get('content-type')]).toEqual([path, encoding, status, 'text/html; charset=utf-8']);
        const html = await res.text();
        expect(pageText(html)).toContain('The form did not arrive');
        expect(pageText(html)).toContain(says);
        noInternals(html);
      }
    }
    // Compressed as it says, the form is read like any other: here, a wrong code.
    const read = await post('/link', 'gzip', gzipSync(form));
    expect(read.status).toBe(400);
    expect(pageText(await read.text())).toContain('That code did not work');
  });

  // Node's own limit would hold it for 5 minutes, then answer a bare 408.
  test('a code form that never finishes is a 408 page after 10 s, and the connection is closed', async () => {
    const answer = await stalledBody(app.url, { path: '/link', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect([answer.status, answer.headers['connection'], answer.headers['content-type']]).toEqual([408, 'close', 'text/html; charset=utf-8']);
    expect(pageText(answer.body)).toContain('The request body did not arrive within 10 s.');
    expect((await fetch(`${app.url}/link`)).status).toBe(200);
  }, 30_000);

  const clearLocks = async () => {
    for (const { key } of await app.store.list('pair:fail:')) await app.store.delete(key);
  };
  beforeEach(clearLocks);

  test('five wrong tries lock the client, even for a right code', async () => {
    const browser = new FetchBrowser();
    const prompt = await voice(app, intentRequest({ extensionId: EXT, intent: 'WhoAmI', userId: 'u-locked' }));
    const code = spokenCode(speechOf(prompt.body));
    // Typing slips (empty, letters, too short) are told so and cost no try.
    for (const slip of ['', 'abcdef', '12345678901', '1234567890123']) {
      const res = await codeForm(browser, slip);
      expect(res.status).toBe(400);
      expect(pageText(res.text)).toContain('Enter the 12-digit code');
    }
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await codeForm(browser, `99999999999${i}`)).status);
    expect(statuses.slice(0, 4)).toEqual([400, 400, 400, 400]);
    expect(statuses[4]).toBe(429);
    const right = await codeForm(browser, code);
    expect(right.status).toBe(429);
    expect(pageText(right.text)).toContain('Too many tries');
  });

  test('denied consent, tampered state and a replayed callback', async () => {
    const browser = new FetchBrowser();
    const prompt = await voice(app, intentRequest({ extensionId: EXT, intent: 'WhoAmI', userId: 'u-deny' }));
    const started = await codeForm(browser, spokenCode(speechOf(prompt.body)));
    const callback = await browser.authorize(started.location!, `${app.config.publicUrl}/oauth/callback`, { deny: true });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    const denied = await browser.request(`${app.url}${callback.pathname}${callback.search}`);
    expect(denied.status).toBe(400);
    expect(pageText(denied.text)).toContain('Linking was cancelled');
    expect(await app.store.get(`tok:${EXT}:u-deny`)).toBeNull();

    const tampered = await browser.request(`${app.url}/oauth/callback?code=abc&state=not-a-state`);
    expect(tampered.status).toBe(400);
    expect(pageText(tampered.text)).toContain('This sign-in has expired');

    const { callback: good } = await linkUser(app, 'u-replay', browser);
    const replay = await browser.request(`${app.url}${good.pathname}${good.search}`);
    expect(replay.status).toBe(400);
    expect(pageText(replay.text)).toContain('This sign-in has expired');
    const missing = await browser.request(`${app.url}/oauth/callback`);
    expect(missing.status).toBe(400);
    noInternals(missing.text);
  });

  test.each(['500', 'html', 'hang'] as const)(
    'a token endpoint that answers %s → error page, nothing stored',
    async (m) => {
      mode = m;
      await request(app.url).put(`/api/v1/extensions/${EXT}/account-linking`).set(app.adminHeaders).send({ enabled: true, tokenUrl: brokenUrl }).expect(200);
      try {
        const browser = new FetchBrowser();
        const user = `u-broken-${m}`;
        const prompt = await voice(app, intentRequest({ extensionId: EXT, intent: 'WhoAmI', userId: user }));
        const started = await codeForm(browser, spokenCode(speechOf(prompt.body)));
        const callback = await browser.authorize(started.location!, `${app.config.publicUrl}/oauth/callback`);
        const page = await browser.request(`${app.url}${callback.pathname}${callback.search}`);
        expect(page.status).toBe(502);
        expect(pageText(page.text)).toContain(m === 'hang' ? 'is not answering' : 'refused the request');
        noInternals(page.text);
        expect(await app.store.get(`tok:${EXT}:${user}`)).toBeNull();
      } finally {
        await request(app.url).put(`/api/v1/extensions/${EXT}/account-linking`).set(app.adminHeaders).send({ enabled: true, tokenUrl: provider.tokenUrl }).expect(200);
      }
    },
    20_000,
  );

  test('a provider that is down → error page', async () => {
    const down = await startProvider({ clientAuth: 'basic', redirectUri: `${app.config.publicUrl}/oauth/callback` });
    const browser = new FetchBrowser();
    const prompt = await voice(app, intentRequest({ extensionId: EXT, intent: 'WhoAmI', userId: 'u-down' }));
    const started = await codeForm(browser, spokenCode(speechOf(prompt.body)));
    const callback = await browser.authorize(started.location!, `${app.config.publicUrl}/oauth/callback`);
    await request(app.url).put(`/api/v1/extensions/${EXT}/account-linking`).set(app.adminHeaders).send({ enabled: true, tokenUrl: down.tokenUrl }).expect(200);
    await down.close();
    try {
      const page = await browser.request(`${app.url}${callback.pathname}${callback.search}`);
      expect(page.status).toBe(502);
      expect(pageText(page.text)).toContain('is not answering');
      expect(await app.store.get(`tok:${EXT}:u-down`)).toBeNull();
    } finally {
      await request(app.url).put(`/api/v1/extensions/${EXT}/account-linking`).set(app.adminHeaders).send({ enabled: true, tokenUrl: provider.tokenUrl }).expect(200);
    }
  });
});
