import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { send, signIn } from '../helpers/adminSession.js';
import { reply, startTarget, type TargetCall, type TestTarget } from '../helpers/targets.js';
import { waitFor } from '../helpers/wait.js';

/** Until `check` holds (the worker sends on its own schedule); 15 s at most. */
const eventually = (check: () => boolean | Promise<boolean>): Promise<void> => waitFor(async () => check(), 15_000);

/**
 * The Webhooks tab of the admin pages over HTTP (issue 16): protection first (signed out, CSRF),
 * then that every form does what the admin API does (the API is the oracle), the signing secret
 * shown once (sealed in the session meanwhile) and verifying a real delivery, errors as messages
 * next to the fields, never a 500, and the deliveries paged. The browser suite drives the same
 * pages in Chromium (test/e2e/admin.e2e.test.ts).
 */
const EXT = 'com.example.whpages';

describe('admin pages: the Webhooks tab', () => {
  let app: TestApp;
  let receiver: TestTarget;
  let session: { cookie: string; csrf: string };
  const path = (p = '') => `/admin/extensions/${EXT}/webhooks${p}`;
  const get = (p = '') => send(app, path(p), { cookie: session.cookie });
  const post = (p: string, form: Record<string, string | string[]>) => send(app, path(p), { cookie: session.cookie, form: { _csrf: session.csrf, ...form } });
  const api = (p = '') => request(app.url).get(`/api/v1/extensions/${EXT}/webhooks${p}`).set(app.adminHeaders);
  const secretOn = (html: string) => /id="new-webhook-secret"[^>]*>([^<]+)</.exec(html)?.[1];
  const verify = (secret: string, call: TargetCall) =>
    new Webhook(secret).verify(call.body.toString('utf8'), {
      'webhook-id': String(call.headers['webhook-id']),
      'webhook-timestamp': String(call.headers['webhook-timestamp']),
      'webhook-signature': String(call.headers['webhook-signature']),
    });
  /** Adds an endpoint through the form; returns its id (from the redirect) and the page that shows the secret. */
  const add = async (url: string, events: string[]): Promise<{ id: string; secret: string }> => {
    const created = await post('', { url, events, enabled: '1' });
    expect(created.status).toBe(303);
    const id = /\/webhooks\/(wh_[A-Za-z0-9_-]{16})$/.exec(created.location ?? '')?.[1];
    if (id === undefined) throw new Error(`no endpoint in ${created.location}`);
    const secret = secretOn((await get(`/${id}`)).text);
    if (secret === undefined) throw new Error('no secret shown');
    return { id, secret };
  };

  beforeAll(async () => {
    app = await startTestApp({ label: 'admin-webhooks-pages' });
    receiver = await startTarget({ '/hooks': reply.status(204) });
    await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: EXT, name: 'Webhook pages', language: 'en' }).expect(201);
    session = await signIn(app);
  });
  afterAll(async () => {
    await app.close();
    await receiver.close();
  });

  test('signed out, the tab and its forms lead to the sign-in page; without the CSRF token no form changes anything', async () => {
    const signedOut = await send(app, path());
    expect(signedOut.status).toBe(303);
    expect(signedOut.location).toBe(`/admin/login?next=${encodeURIComponent(path())}`);
    expect((await send(app, path(), { form: { url: `${receiver.url}/hooks`, events: 'link.created' } })).status).toBe(303);

    const refused = await send(app, path(), { cookie: session.cookie, form: { url: `${receiver.url}/hooks`, events: 'link.created' } });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('This form was refused');
    const wrong = await send(app, path(), { cookie: session.cookie, form: { _csrf: `${session.csrf}x`, url: `${receiver.url}/hooks`, events: 'link.created' } });
    expect(wrong.status).toBe(403);
    expect((await api().expect(200)).body.webhooks).toEqual([]);

    // The same for the forms of an endpoint: rotate, edit, delete, test.
    const created = await request(app.url)
      .post(`/api/v1/extensions/${EXT}/webhooks`)
      .set(app.adminHeaders)
      .send({ url: `${receiver.url}/hooks`, events: ['link.created'] })
      .expect(201);
    const id = created.body.id as string;
    for (const p of ['', '/secret', '/delete', '/test']) {
      const res = await send(app, path(`/${id}${p}`), { cookie: session.cookie, form: { url: 'http://127.0.0.1:1/x', events: 'link.broken' } });
      expect(res.status).toBe(403);
    }
    const after = (await api(`/${id}`).expect(200)).body;
    expect(after).toMatchObject({ url: `${receiver.url}/hooks`, events: ['link.created'], secretCreatedAt: created.body.secretCreatedAt });
    expect((await api(`/${id}/deliveries`)).body.deliveries).toEqual([]);
    await request(app.url).delete(`/api/v1/extensions/${EXT}/webhooks/${id}`).set(app.adminHeaders).expect(204);
  });

  test('the tab is among the extension tabs; no inline script, style or handler; an empty list says so', async () => {
    const res = await get();
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.text).toMatch(/<a href="\/admin\/extensions\/com\.example\.whpages\/webhooks" class="active" aria-current="page">/);
    expect(res.text).toContain('id="no-webhooks"');
    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(res.text).not.toMatch(/\sstyle=/i);
    expect(res.text).not.toMatch(/\son[a-z]+=/i);
    for (const ev of ['link.created', 'link.broken', 'link.recovered', 'link.unlinked', 'linking.misconfigured', 'linking.recovered']) expect(res.text).toContain(`value="${ev}"`);
  });

  test('adding: the secret is shown once (sealed in the session meanwhile), verifies a real ping, and is never listed', async () => {
    const created = await post('', { url: `${receiver.url}/hooks`, events: ['link.created', 'link.broken'], enabled: '1' });
    expect(created.status).toBe(303);
    const id = /\/webhooks\/(wh_[A-Za-z0-9_-]{16})$/.exec(created.location ?? '')?.[1] ?? '';
    const sessionRows = (await app.store.list('adminsess:')).map((r) => r.value).join('\n');

    const first = await get(`/${id}`);
    expect(first.status).toBe(200);
    const secret = secretOn(first.text) ?? '';
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(first.text).toContain('Copy its signing secret now');
    expect(sessionRows).not.toContain(secret.slice(6));
    // Once: gone on the next view, and on no other page.
    const second = await get(`/${id}`);
    expect(secretOn(second.text)).toBeUndefined();
    expect(second.text).not.toContain(secret.slice(6, 26));
    expect((await get()).text).not.toContain(secret.slice(6, 26));

    const listed = (await api(`/${id}`).expect(200)).body;
    expect(listed).toMatchObject({ url: `${receiver.url}/hooks`, events: ['link.created', 'link.broken'], enabled: true });
    const list = await get();
    expect(list.text).toContain(`data-webhook="${id}"`);
    expect(list.text).toContain('<span class="badge ok">enabled</span>');

    // The secret verifies what the endpoint receives.
    const pinged = await post(`/${id}/test`, {});
    expect(pinged.status).toBe(303);
    expect(pinged.location).toBe(path(`/${id}#deliveries`));
    await eventually(() => receiver.calls.some((c) => String(c.body).includes('"ping"')));
    expect(
      verify(
        secret,
        receiver.calls.find((c) => String(c.body).includes('"ping"'))!,
      ),
    ).toMatchObject({ type: 'ping', data: { extensionId: EXT } });
    await eventually(async () => (await get(`/${id}`)).text.includes('data-status="delivered"'));
    const page = (await get(`/${id}`)).text;
    expect(page).toContain('HTTP 204');
    expect(page).toMatch(/<code class="small">ping<\/code>/);
  });

  test('bad input is shown next to the fields (400, the form filled in again); an unknown or malformed id is a page, never a 500', async () => {
    const noEvents = await post('', { url: `${receiver.url}/hooks`, enabled: '1' });
    expect(noEvents.status).toBe(400);
    expect(noEvents.text).toContain('id="e-events"');
    expect(noEvents.text).toContain('Must name at least one event type.');
    expect(noEvents.text).toContain(`value="${receiver.url}/hooks"`);
    const badUrl = await post('', { url: 'ftp://example.com/x', events: 'link.created' });
    expect(badUrl.status).toBe(400);
    expect(badUrl.text).toContain('id="e-url"');
    expect(badUrl.text).toMatch(/id="f-ev-link\.created" name="events" value="link\.created" checked/);
    const badEvent = await post('', { url: `${receiver.url}/hooks`, events: 'link.exploded' });
    expect(badEvent.status).toBe(400);
    expect(badEvent.text).toContain('id="e-events"');

    const unknown = await get('/wh_AAAAAAAAAAAAAAAA');
    expect(unknown.status).toBe(404);
    expect(unknown.text).toContain('has no webhook endpoint');
    expect((await get('/not-an-id')).status).toBe(400);
    expect((await post('/wh_AAAAAAAAAAAAAAAA/test', {})).status).toBe(404);
    expect((await post('/wh_AAAAAAAAAAAAAAAA/deliveries/msg_AAAAAAAAAAAAAAAAAAAAAAAA/redeliver', {})).status).toBe(404);
    expect((await send(app, '/admin/extensions/com.example.none/webhooks', { cookie: session.cookie })).status).toBe(404);
    const { id } = await add(`${receiver.url}/hooks`, ['link.created']);
    expect((await get(`/${id}?after=nope`)).status).toBe(400);
    expect((await post(`/${id}/deliveries/msg_AAAAAAAAAAAAAAAAAAAAAAAA/redeliver`, {})).status).toBe(404);
    await post(`/${id}/delete`, {});
  });

  test('editing is the API PATCH: url, events and enabled change, the secret stays; errors re-render the form', async () => {
    const { id, secret } = await add(`${receiver.url}/hooks`, ['link.created']);
    const before = (await api(`/${id}`)).body;
    const bad = await post(`/${id}`, { url: `${receiver.url}/hooks`, enabled: '1' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('id="e-events"');
    expect((await api(`/${id}`)).body).toEqual(before);

    const saved = await post(`/${id}`, { url: `${receiver.url}/hooks?edited=1`, events: ['link.unlinked', 'linking.misconfigured'] });
    expect(saved.status).toBe(303);
    const after = (await api(`/${id}`)).body;
    expect(after).toMatchObject({ url: `${receiver.url}/hooks?edited=1`, events: ['link.unlinked', 'linking.misconfigured'], enabled: false, secretCreatedAt: before.secretCreatedAt });
    const page = await get(`/${id}`);
    expect(page.text).toContain('It is disabled');
    expect(page.text).not.toMatch(/id="f-enabled"[^>]*checked/);
    expect(page.text).toMatch(/value="linking\.misconfigured" checked/);

    // The secret is the one shown at creation: a ping to the edited url verifies with it.
    const n = receiver.calls.length;
    await post(`/${id}`, { url: `${receiver.url}/hooks`, events: 'link.created', enabled: '1' });
    await post(`/${id}/test`, {});
    await eventually(() => receiver.calls.length > n);
    expect(verify(secret, receiver.calls.at(-1)!)).toMatchObject({ type: 'ping' });
    await post(`/${id}/delete`, {});
  });

  test('rotating shows the new secret once and says the old one stays valid for the grace period; both sign meanwhile', async () => {
    const { id, secret: old } = await add(`${receiver.url}/hooks`, ['link.created']);
    const rotated = await post(`/${id}/secret`, { graceSeconds: '3600' });
    expect(rotated.status).toBe(303);
    const page = await get(`/${id}`);
    const fresh = secretOn(page.text) ?? '';
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(old);
    expect(page.text).toContain('the old one stays valid next to it for 1 hour');
    expect(page.text).toMatch(/id="previous-webhook-secret">still signs until/);
    expect(secretOn((await get(`/${id}`)).text)).toBeUndefined();
    const n = receiver.calls.length;
    await post(`/${id}/test`, {});
    await eventually(() => receiver.calls.length > n);
    const call = receiver.calls.at(-1)!;
    expect(verify(fresh, call)).toMatchObject({ type: 'ping' });
    expect(verify(old, call)).toMatchObject({ type: 'ping' });

    // A grace period the form does not offer (a hand-made form) is named on the field, never replaced
    // by the default: no new secret.
    const before = (await api(`/${id}`)).body;
    for (const graceSeconds of ['99999999', '7200', ' ', '1e3', 'abc']) {
      const refused = await post(`/${id}/secret`, { graceSeconds });
      expect([graceSeconds, refused.status]).toEqual([graceSeconds, 400]);
      expect(refused.text).toMatch(/id="e-graceSeconds">Choose one of the periods offered \(none, 1 hour, 1 day or 7 days\)\. No new secret was made\./);
      expect(refused.text).toMatch(/<option value="86400" selected>/);
      expect(secretOn(refused.text)).toBeUndefined();
    }
    expect((await api(`/${id}`)).body).toEqual(before);
    // Left out, it is the default, a day.
    await post(`/${id}/secret`, {});
    expect((await get(`/${id}`)).text).toContain('for 1 day');
    await post(`/${id}/delete`, {});
  });

  test('deleting removes the endpoint and its deliveries; redeliver sends a delivery again', async () => {
    const { id } = await add(`${receiver.url}/hooks`, ['link.created']);
    await post(`/${id}/test`, {});
    await eventually(async () => (await api(`/${id}/deliveries`)).body.deliveries[0]?.status === 'delivered');
    const [delivery] = (await api(`/${id}/deliveries`)).body.deliveries as Array<{ id: string }>;
    const again = await post(`/${id}/deliveries/${delivery!.id}/redeliver`, {});
    expect(again.status).toBe(303);
    const deliveries = (await api(`/${id}/deliveries`)).body.deliveries as Array<{ redeliveryOf: string | null }>;
    expect(deliveries[0]?.redeliveryOf).toBe(delivery!.id);
    expect((await get(`/${id}`)).text).toContain('Sent again as a new delivery');

    const deleted = await post(`/${id}/delete`, {});
    expect(deleted.status).toBe(303);
    expect(deleted.location).toBe(path());
    expect((await api(`/${id}`)).status).toBe(404);
    expect((await get()).text).toContain('deleted, with what was queued for it');
  });

  test('the deliveries view pages (20 a page, newest first, an "Older deliveries" link)', async () => {
    const { id } = await add(`${receiver.url}/hooks`, ['link.created']);
    const ids: string[] = [];
    for (let i = 0; i < 23; i++) ids.push((await request(app.url).post(`/api/v1/extensions/${EXT}/webhooks/${id}/test`).set(app.adminHeaders).send({}).expect(202)).body.id as string);
    const rowsOf = (html: string) => [...html.matchAll(/data-delivery="(msg_[A-Za-z0-9_-]{24})"/g)].map((m) => m[1]!);
    const first = await get(`/${id}`);
    const firstRows = rowsOf(first.text);
    expect(firstRows).toHaveLength(20);
    const older = /id="older-deliveries" href="([^"]+)"/.exec(first.text)?.[1]?.replace(/&amp;/g, '&') ?? '';
    expect(older).toMatch(/\?after=msg_/);
    const second = await send(app, older, { cookie: session.cookie });
    expect(second.status).toBe(200);
    const secondRows = rowsOf(second.text);
    expect(secondRows).toHaveLength(3);
    expect(second.text).not.toContain('id="older-deliveries"');
    expect(second.text).toContain('>Newest</a>');
    expect([...firstRows, ...secondRows].sort()).toEqual([...ids].sort());
    await post(`/${id}/delete`, {});
  });
});
