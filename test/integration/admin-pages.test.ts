import { brotliCompressSync, gzipSync } from 'node:zlib';
import request from 'supertest';
import { sha256Hex } from '../../src/security/hash.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { cookiePair, csrfOf, send, signIn } from '../helpers/adminSession.js';
import { stalledBody } from '../helpers/stalledBody.js';
import { storeKinds } from '../helpers/stores.js';

/**
 * The admin pages over HTTP (issue 5): protection first (signed out, CSRF, cookie, headers, sessions
 * in the store), then that the pages show errors as pages. The browser suite (test/e2e/admin.e2e.test.ts)
 * drives the same pages in Chromium.
 */

describe.each(storeKinds)('admin pages (%s store)', (kind) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ store: kind, label: 'admin-pages' });
  });
  afterAll(async () => {
    await app.close();
  });

  test('signed out, every page redirects to the sign-in page, GET and POST alike', async () => {
    for (const path of ['/admin', '/admin/extensions', '/admin/extensions/com.example.x', '/admin/extensions/com.example.x/console', '/admin/nowhere']) {
      const res = await send(app, path);
      expect(res.status).toBe(303);
      expect(res.location).toBe(`/admin/login?next=${encodeURIComponent(path)}`);
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
    const post = await send(app, '/admin/extensions', { form: { extensionId: 'com.example.sneaky' } });
    expect(post.status).toBe(303);
    expect(post.location).toBe('/admin/login?unsaved=1');
    expect((await app.services.registry.list()).length).toBe(0);
  });

  test('the sign-in page: strict CSP without inline script, no-store, a form with a CSRF token', async () => {
    const res = await send(app, '/admin/login');
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const directive of ["script-src 'self'", "style-src 'self'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'", "default-src 'none'"]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)/); // no inline script at all
    expect(res.text).not.toMatch(/\son[a-z]+=/i); // no inline event handlers
    expect(csrfOf(res.text)).toMatch(/^[0-9a-z]+\.[A-Za-z0-9_-]{43}$/); // signed: <issued>.<HMAC>
  });

  test('a wrong token is refused on the page and sets no session', async () => {
    const form = await send(app, '/admin/login');
    const loginCookie = cookiePair(form.setCookies.find((c) => c.startsWith('cekgw_admin_login=')));
    const res = await send(app, '/admin/login', { cookie: loginCookie, form: { _csrf: csrfOf(form.text), token: 'not-the-token' } });
    expect(res.status).toBe(401);
    expect(res.text).toContain('That is not the admin token');
    expect(res.setCookies.some((c) => c.startsWith('cekgw_admin='))).toBe(false);
  });

  test('the sign-in form itself needs its CSRF cookie', async () => {
    const res = await send(app, '/admin/login', { form: { token: ADMIN_TOKEN } });
    expect(res.status).toBe(403);
    expect(res.setCookies.some((c) => c.startsWith('cekgw_admin='))).toBe(false);
  });

  test('signing in sets an httpOnly, SameSite=Strict cookie on /admin; the store keeps only the hash of its id, with an 8 h idle TTL', async () => {
    const { cookie, setCookie } = await signIn(app);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).toMatch(/Path=\/admin(;|$)/);
    expect(setCookie).not.toMatch(/Secure/i); // PUBLIC_URL is http here
    const id = cookie.split('=')[1] ?? '';
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const key = `adminsess:${sha256Hex(id)}`;
    const raw = await app.store.get(key);
    expect(raw).not.toBeNull();
    expect(raw).not.toContain(id);
    const rows = await app.store.list('adminsess:');
    expect(rows.some((r) => r.key.includes(id) || r.value.includes(id))).toBe(false);
    const ttl = (await app.store.ttl(key)) ?? 0;
    expect(ttl).toBeGreaterThan(8 * 3600_000 - 60_000);
    expect(ttl).toBeLessThanOrEqual(8 * 3600_000);
  });

  test('the idle expiry slides: a request pushes it back to 8 h', async () => {
    const { cookie } = await signIn(app);
    const key = `adminsess:${sha256Hex(cookie.split('=')[1] ?? '')}`;
    const record = JSON.parse((await app.store.get(key)) ?? '{}') as { seenAt: number };
    record.seenAt -= 5 * 60_000; // last seen 5 minutes ago, 10 minutes left
    await app.store.set(key, JSON.stringify(record), 10 * 60_000);
    expect((await send(app, '/admin/extensions', { cookie })).status).toBe(200);
    expect((await app.store.ttl(key)) ?? 0).toBeGreaterThan(8 * 3600_000 - 60_000);
  });

  test('an expired or unknown session is signed out', async () => {
    const { cookie } = await signIn(app);
    await app.store.delete(`adminsess:${sha256Hex(cookie.split('=')[1] ?? '')}`);
    const res = await send(app, '/admin/extensions', { cookie });
    expect(res.status).toBe(303);
    expect(res.location).toContain('expired=1');
    const login = await send(app, res.location ?? '');
    expect(login.text).toContain('Your session has ended');
  });

  test('a form posted after the session ended: not saved, and the sign-in page says so', async () => {
    const { cookie, csrf } = await signIn(app);
    await app.store.delete(`adminsess:${sha256Hex(cookie.split('=')[1] ?? '')}`);
    const res = await send(app, '/admin/extensions', { cookie, form: { _csrf: csrf, extensionId: 'com.example.late', name: 'Late' } });
    expect(res.status).toBe(303);
    expect(res.location).toBe('/admin/login?expired=1&unsaved=1');
    expect(await app.services.registry.resolve('com.example.late')).toBeUndefined();
    const login = await send(app, res.location ?? '');
    expect(login.text).toContain('Not saved — your session had ended. Sign in again');
    expect(login.text).toContain('data-unsaved-login="1"');
  });

  test('a state-changing form without the CSRF token, or with another one, is refused with a page and changes nothing', async () => {
    const { cookie, csrf } = await signIn(app);
    for (const form of [{ extensionId: 'com.example.csrf' }, { extensionId: 'com.example.csrf', _csrf: 'x'.repeat(43) }, { extensionId: 'com.example.csrf', _csrf: '' }]) {
      const res = await send(app, '/admin/extensions', { cookie, form });
      expect(res.status).toBe(403);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.text).toContain('This form was refused');
    }
    const other = await signIn(app); // another session's token does not work either
    expect((await send(app, '/admin/extensions', { cookie, form: { extensionId: 'com.example.csrf', _csrf: other.csrf } })).status).toBe(403);
    expect(await app.services.registry.list()).toEqual([]);
    const ok = await send(app, '/admin/extensions', { cookie, form: { extensionId: 'com.example.csrf', _csrf: csrf } });
    expect(ok.status).toBe(303);
    await app.services.registry.delete('com.example.csrf');
  });

  test('sign-out deletes the session from the store; the old cookie no longer works', async () => {
    const { cookie, csrf } = await signIn(app);
    const key = `adminsess:${sha256Hex(cookie.split('=')[1] ?? '')}`;
    const out = await send(app, '/admin/logout', { cookie, form: { _csrf: csrf } });
    expect(out.status).toBe(303);
    expect(out.location).toBe('/admin/login?signedOut=1');
    expect(await app.store.get(key)).toBeNull();
    expect((await send(app, '/admin/extensions', { cookie })).status).toBe(303);
  });

  test('errors are pages: an unknown extension is a 404 page, a bad ID is a message next to the field', async () => {
    const { cookie, csrf } = await signIn(app);
    const missing = await send(app, '/admin/extensions/com.example.missing', { cookie });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^text\/html/);
    expect(missing.text).toContain('No extension with ID &quot;com.example.missing&quot;');
    expect(missing.text).not.toContain('{"error"');

    const bad = await send(app, '/admin/extensions', { cookie, form: { _csrf: csrf, extensionId: 'Not An ID', name: '', language: 'en' } });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/class="field-error" id="e-extensionId">Extension IDs are reverse-domain names/);
    expect(bad.text).toContain('value="Not An ID"');
  });

  test('a page address with a method it does not take is a 405 page with Allow; an unknown address stays a 404 page', async () => {
    const { cookie, csrf } = await signIn(app);
    const cases: Array<[string, string, Record<string, string> | undefined, string]> = [
      ['GET', '/admin/extensions/com.example.x/secret', undefined, 'POST'],
      ['GET', '/admin/logout', undefined, 'POST'],
      ['PUT', '/admin/extensions', { _csrf: csrf }, 'GET, HEAD, POST'],
      ['DELETE', '/admin/extensions/com.example.x/webhooks/wh_AAAAAAAAAAAAAAAA', { _csrf: csrf }, 'GET, HEAD, POST'],
    ];
    for (const [method, path, form, allow] of cases) {
      const res = await send(app, path, { cookie, method, ...(form === undefined ? {} : { form }) });
      expect([method, path, res.status, res.headers.get('allow')]).toEqual([method, path, 405, allow]);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.text).toContain(`${method} is not allowed on ${path}: it takes ${allow}.`);
    }
    const unknown = await send(app, '/admin/extensions/com.example.x/nowhere', { cookie });
    expect([unknown.status, unknown.headers.get('allow')]).toEqual([404, null]);
    expect(unknown.text).toContain('There is no admin page at this address.');
    // Signed out, the sign-in page comes first, as for every page.
    expect((await send(app, '/admin/extensions/com.example.x/secret')).status).toBe(303);
  });

  test('an extension name with HTML is escaped everywhere it appears', async () => {
    const { cookie } = await signIn(app);
    const name = '<img src=x onerror=alert(1)><b>Bold</b>';
    await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: 'com.example.html', name }).expect(201);
    for (const path of ['/admin/extensions', '/admin/extensions/com.example.html', '/admin/extensions/com.example.html/actions', '/admin/extensions/com.example.html/delete']) {
      const res = await send(app, path, { cookie });
      expect(res.status).toBe(200);
      expect(res.text).not.toContain('<img src=x');
      expect(res.text).toContain('&lt;img src=x onerror=alert(1)&gt;&lt;b&gt;Bold&lt;/b&gt;');
    }
    await app.services.registry.delete('com.example.html');
  });

  test('a new Chatbot Secret is shown once, and never stored as text in the session', async () => {
    const { cookie, csrf } = await signIn(app);
    const created = await send(app, '/admin/extensions', { cookie, form: { _csrf: csrf, extensionId: 'com.example.once', name: 'Once', language: 'en' } });
    expect(created.status).toBe(303);
    const session = (await app.store.list('adminsess:')).map((r) => r.value).join('\n');
    const first = await send(app, '/admin/extensions/com.example.once', { cookie });
    const secret = /id="new-secret"[^>]*>([^<]+)</.exec(first.text)?.[1];
    expect(secret).toMatch(/^[A-Za-z0-9+/=]{44}$/);
    expect(session).not.toContain(secret);
    const resolved = await app.services.registry.resolve('com.example.once');
    expect(resolved?.liveSecrets()).toEqual([secret]);
    const again = await send(app, '/admin/extensions/com.example.once', { cookie });
    expect(again.text).not.toContain(secret);
    expect(again.text).not.toContain('id="new-secret"');
    await app.services.registry.delete('com.example.once');
  });
});

describe('admin pages: forms show the API rules as messages', () => {
  let app: TestApp;
  let session: { cookie: string; csrf: string };
  const EXT = 'com.example.forms';
  const post = (path: string, form: Record<string, string>) => send(app, path, { cookie: session.cookie, form: { _csrf: session.csrf, ...form } });
  /** A console turn: posted, then the transcript page it redirects to (post/redirect/get). */
  const consoleTurn = async (form: Record<string, string>) => {
    const posted = await post(`/admin/extensions/${EXT}/console`, form);
    if (posted.status !== 303) return posted;
    expect(posted.location).toMatch(new RegExp(`^/admin/extensions/${EXT.replaceAll('.', '\\.')}/console#turn-\\d+$`));
    return send(app, posted.location ?? '', { cookie: session.cookie });
  };
  beforeAll(async () => {
    app = await startTestApp({ label: 'admin-pages-forms' });
    await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: EXT, name: 'Forms', language: 'en' }).expect(201);
    session = await signIn(app);
  });
  afterAll(async () => {
    await app.close();
  });

  test('turning account linking on before the server settings are complete names what is missing; nothing is saved', async () => {
    const res = await post(`/admin/extensions/${EXT}/account-linking/messages`, { enabled: '1', loginPromptMessage: 'Open {url}, say {code}.' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('Client ID (Step 3): Is required when account linking is enabled.');
    expect(res.text).toContain('Login URL (Step 3): Is required when account linking is enabled');
    expect(res.text).toContain('Open {url}, say {code}.'); // the typed text is kept
    const saved = await request(app.url).get(`/api/v1/extensions/${EXT}/account-linking`).set(app.adminHeaders).expect(200);
    expect(saved.body).toMatchObject({ enabled: false, loginPromptMessage: null });
  });

  test('keep-alive refresh on the setup page: a whole number of hours is saved and shown, anything else is named on the field, blank turns it off', async () => {
    const bad = await post(`/admin/extensions/${EXT}/account-linking/messages`, { keepAliveHours: '1.5' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('Must be a whole number of hours (blank: off)');
    expect(bad.text).toContain('value="1.5"');
    const tooMany = await post(`/admin/extensions/${EXT}/account-linking/messages`, { keepAliveHours: '9999' });
    expect(tooMany.status).toBe(400);
    expect((await post(`/admin/extensions/${EXT}/account-linking/messages`, { keepAliveHours: '24' })).status).toBe(303);
    expect((await request(app.url).get(`/api/v1/extensions/${EXT}/account-linking`).set(app.adminHeaders)).body.keepAliveHours).toBe(24);
    const page = await send(app, `/admin/extensions/${EXT}`, { cookie: session.cookie });
    expect(page.text).toMatch(/id="f-keepAliveHours" name="keepAliveHours" type="number" value="24"/);
    expect((await post(`/admin/extensions/${EXT}/account-linking/messages`, { keepAliveHours: '' })).status).toBe(303);
    expect((await request(app.url).get(`/api/v1/extensions/${EXT}/account-linking`).set(app.adminHeaders)).body.keepAliveHours).toBeNull();
  });

  test('rotating the Chatbot Secret takes only a grace period the form offers: anything else is named on the field and makes no secret', async () => {
    const before = (await request(app.url).get(`/api/v1/extensions/${EXT}`).set(app.adminHeaders).expect(200)).body.secret;
    for (const graceSeconds of ['7200', '99999999', ' ', '-1', '0x10', 'abc']) {
      const refused = await post(`/admin/extensions/${EXT}/secret`, { graceSeconds });
      expect([graceSeconds, refused.status]).toEqual([graceSeconds, 400]);
      expect(refused.text).toMatch(/id="e-graceSeconds">Choose one of the periods offered \(at once, 1 hour, 1 day or 7 days\)\. No new secret was made\./);
      expect(refused.text).toMatch(/<option value="3600" selected>/);
      expect(refused.text).not.toContain('id="new-secret"');
    }
    expect((await request(app.url).get(`/api/v1/extensions/${EXT}`).set(app.adminHeaders)).body.secret).toEqual(before);
    // An offered one rotates, and so does the field left out (the default, 1 hour).
    const week = await post(`/admin/extensions/${EXT}/secret`, { graceSeconds: '604800' });
    expect(week.status).toBe(303);
    expect((await send(app, `/admin/extensions/${EXT}`, { cookie: session.cookie })).text).toContain('The old secret keeps working for 7 days.');
    expect((await post(`/admin/extensions/${EXT}/secret`, {})).status).toBe(303);
    expect((await send(app, `/admin/extensions/${EXT}`, { cookie: session.cookie })).text).toContain('The old secret keeps working for 1 hour.');
  });

  test('a second action method for the same intent: the conflict is shown on the form', async () => {
    const base = { triggerType: 'IntentRequest', intent: 'Balance', url: 'http://127.0.0.1:9/balance', tokenSource: 'auto', timeoutMs: '3000', headers: '' };
    expect((await post(`/admin/extensions/${EXT}/actions`, { ...base, name: 'Balance' })).status).toBe(303);
    const dup = await post(`/admin/extensions/${EXT}/actions`, { ...base, name: 'Balance2' });
    expect(dup.status).toBe(400);
    expect(dup.text).toContain('Action &quot;Balance&quot; already answers IntentRequest for intent &quot;Balance&quot;');
    const same = await post(`/admin/extensions/${EXT}/actions`, { ...base, name: 'Balance' });
    expect(same.status).toBe(400);
    expect(same.text).toMatch(/id="e-name">An action method named Balance exists already/);
    const badHeader = await post(`/admin/extensions/${EXT}/actions`, { ...base, name: 'Other', intent: 'Other', headers: 'Authorization: Bearer x' });
    expect(badHeader.status).toBe(400);
    expect(badHeader.text).toMatch(/id="e-headers">Authorization is set by the gateway/);
    const badTimeout = await post(`/admin/extensions/${EXT}/actions`, { ...base, name: 'Other', intent: 'Other', timeoutMs: '9000' });
    expect(badTimeout.text).toMatch(/id="e-timeoutMs">Must be at most 7000/);
    const list = await request(app.url).get(`/api/v1/extensions/${EXT}/actions`).set(app.adminHeaders).expect(200);
    expect((list.body as { actions: Array<{ name: string }> }).actions.map((a) => a.name)).toEqual(['Balance']);
    expect((await post(`/admin/extensions/${EXT}/actions/Balance/delete`, {})).status).toBe(303);
  });

  test('the test console: a launch without action methods speaks the welcome message', async () => {
    const res = await consoleTurn({ type: 'LaunchRequest', userId: 'u-1' });
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/id="result-status">HTTP 200</);
    expect(res.text).toContain('Hello. What can I do for you?');
    expect(res.text).toMatch(/id="result-outcome"><span class="pill mono">welcome</);
  });

  test('the test console explains an extension it cannot sign for, and shows the endpoint refusing it', async () => {
    await request(app.url).patch(`/api/v1/extensions/${EXT}`).set(app.adminHeaders).send({ verification: 'cekSignature' }).expect(200);
    const page = await send(app, `/admin/extensions/${EXT}/console`, { cookie: session.cookie });
    expect(page.text).toContain('id="cannot-sign"');
    const res = await consoleTurn({ type: 'IntentRequest', userId: 'u-1', intent: 'Any', slots: 'a=1' });
    expect(res.text).toMatch(/id="result-status">HTTP 401</);
    expect(res.text).toMatch(/id="result-error">The endpoint refused the request: <code>missing_signature<\/code>/);
    await request(app.url).patch(`/api/v1/extensions/${EXT}`).set(app.adminHeaders).send({ verification: 'any' }).expect(200);
  });

  test('Step 2 offers the Swagger document of the gateway as a download, signed in only', async () => {
    const res = await send(app, `/admin/extensions/${EXT}/swagger.json`, { cookie: session.cookie });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${EXT}.swagger.json"`);
    const api = await request(app.url).get(`/api/v1/extensions/${EXT}/swagger.json`).set(app.adminHeaders).expect(200);
    expect(JSON.parse(res.text)).toEqual(api.body);
    expect((await send(app, `/admin/extensions/${EXT}/swagger.json`)).status).toBe(303);
  });

  test('the test console warns when the extension requires an API key it cannot send', async () => {
    await request(app.url).put(`/api/v1/extensions/${EXT}/gateway`).set(app.adminHeaders).send({ requireApiKey: true }).expect(200);
    const page = await send(app, `/admin/extensions/${EXT}/console`, { cookie: session.cookie });
    expect(page.text).toContain('id="needs-api-key"');
    const res = await consoleTurn({ type: 'LaunchRequest', userId: 'u-1' });
    expect(res.text).toMatch(/id="result-error">The endpoint refused the request: <code>missing_api_key<\/code>/);
    await request(app.url).put(`/api/v1/extensions/${EXT}/gateway`).set(app.adminHeaders).send({ requireApiKey: false }).expect(200);
  });

  test('the test console checks its own fields', async () => {
    await post(`/admin/extensions/${EXT}/console/new`, {});
    const res = await post(`/admin/extensions/${EXT}/console`, { type: 'IntentRequest', userId: '', intent: '', slots: 'no equals sign' });
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/id="e-userId">Give a CEK user ID/);
    expect(res.text).toMatch(/id="e-intent">Give the intent name/);
    expect(res.text).toMatch(/id="e-slots">Line 1 must look like name=value/);
    // A CEK user id is one line of text: control characters are named on the field, and nothing is sent.
    for (const userId of ['a\u0000b', 'line\nbreak', '\u001b[31mred', 'tab\there']) {
      const refused = await post(`/admin/extensions/${EXT}/console`, { type: 'LaunchRequest', userId });
      expect([JSON.stringify(userId), refused.status]).toEqual([JSON.stringify(userId), 400]);
      expect(refused.text).toMatch(/id="e-userId">Must not contain control characters/);
      expect(refused.text).not.toContain('id="transcript"');
    }
  });
});

describe('admin pages: instances sharing one store and key', () => {
  test('a session made on one instance is served by another', async () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const first = await startTestApp({ label: 'admin-pages-shared', encryptionKey: key, ...(storeKinds.includes('redis') ? { store: 'redis' as const } : {}) });
    const second = await startTestApp({ sharedStore: { store: first.store }, encryptionKey: key });
    try {
      const { cookie } = await signIn(first);
      const res = await send(second, '/admin/extensions', { cookie });
      expect(res.status).toBe(200);
      expect(res.text).toContain('Create an extension');
    } finally {
      await second.close();
      await first.close();
    }
  });

  test('a new ADMIN_TOKEN ends the sessions signed in with the old one', async () => {
    const key = Buffer.alloc(32, 9).toString('base64');
    const first = await startTestApp({ label: 'admin-pages-token', encryptionKey: key });
    const second = await startTestApp({ sharedStore: { store: first.store }, encryptionKey: key, env: { ADMIN_TOKEN: 'another-admin-token-0123456789abcdef' } });
    try {
      const { cookie } = await signIn(first);
      expect((await send(second, '/admin/extensions', { cookie })).status).toBe(303);
    } finally {
      await second.close();
      await first.close();
    }
  });

  test('https PUBLIC_URL: the session cookie is Secure', async () => {
    const app = await startTestApp({ label: 'admin-pages-https', env: { PUBLIC_URL: 'https://cek.example.com' } });
    try {
      const { setCookie } = await signIn(app);
      expect(setCookie).toMatch(/;\s*Secure/i);
    } finally {
      await app.close();
    }
  });

  test('after 10 wrong tokens from one address, sign-in is locked for a while (429)', async () => {
    const app = await startTestApp({ label: 'admin-pages-limit' });
    try {
      const form = await send(app, '/admin/login');
      const loginCookie = cookiePair(form.setCookies.find((c) => c.startsWith('cekgw_admin_login=')));
      const csrf = csrfOf(form.text);
      for (let i = 0; i < 10; i++) expect((await send(app, '/admin/login', { cookie: loginCookie, form: { _csrf: csrf, token: `wrong-${i}` } })).status).toBe(401);
      const locked = await send(app, '/admin/login', { cookie: loginCookie, form: { _csrf: csrf, token: ADMIN_TOKEN } });
      expect(locked.status).toBe(429);
      expect(locked.text).toContain('Too many wrong tokens');
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  });
});

describe('admin pages: form bodies that cannot be read are error pages, never a 500', () => {
  let app: TestApp;
  let session: { cookie: string; csrf: string };
  beforeAll(async () => {
    app = await startTestApp({ label: 'admin-pages-bodies' });
    session = await signIn(app);
  });
  afterAll(async () => {
    await app.close();
  });

  const postCoded = (path: string, encoding: string, body: Buffer, cookie?: string) =>
    fetch(`${app.url}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': encoding, ...(cookie === undefined ? {} : { cookie }) },
      body,
    });

  test('a compressed form that does not decompress is a 400 page, another coding a 415 page: signed in or not, before the session check', async () => {
    const form = Buffer.from(`_csrf=${session.csrf}&extensionId=com.example.coded&language=en`);
    for (const cookie of [undefined, session.cookie]) {
      for (const path of ['/admin/login', '/admin/extensions']) {
        for (const [encoding, body] of [
          ['gzip', Buffer.from('xx')],
          ['deflate', form],
          ['br', brotliCompressSync(form).subarray(0, 8)],
        ] as const) {
          const res = await postCoded(path, encoding, body, cookie);
          expect([path, encoding, res.status, res.headers.get('content-type')]).toEqual([path, encoding, 400, 'text/html; charset=utf-8']);
          const html = await res.text();
          expect(html).toContain('The request body could not be read: it does not decode as its content-encoding says.');
          expect(html).not.toContain('Something went wrong');
        }
        const other = await postCoded(path, 'compress', form, cookie);
        expect([path, other.status]).toEqual([path, 415]);
        expect(await other.text()).toContain('Unsupported content-encoding: send the body uncompressed, or as gzip, deflate or br.');
      }
    }
    // A form compressed as it says is read like any other.
    const created = await postCoded('/admin/extensions', 'gzip', gzipSync(form), session.cookie);
    expect([created.status, created.headers.get('location')]).toEqual([303, '/admin/extensions/com.example.coded#secret']);
  });

  // Node's own limit would hold them for 5 minutes, then answer a bare 408.
  test('a form body that never finishes is a 408 page after 10 s, and the connection is closed', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const answers = await Promise.all([
      stalledBody(app.url, { path: '/admin/login', headers: form }),
      stalledBody(app.url, { path: '/admin/extensions', headers: { ...form, cookie: session.cookie } }),
    ]);
    for (const answer of answers) {
      expect([answer.status, answer.headers['connection'], answer.headers['content-type']]).toEqual([408, 'close', 'text/html; charset=utf-8']);
      expect(answer.body).toContain('The request body did not arrive within 10 s.');
    }
    expect((await send(app, '/admin/extensions', { cookie: session.cookie })).status).toBe(200);
  }, 30_000);
});
