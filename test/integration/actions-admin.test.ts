import { readFileSync } from 'node:fs';
import request from 'supertest';
import { MAX_ACTIONS } from '../../src/actions/model.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { storeKinds } from '../helpers/stores.js';

const ID = 'com.example.actions';

describe.each(storeKinds)('action method admin API on %s', (kind) => {
  let app: TestApp;
  const api = (path = '') => `/api/v1/extensions/${ID}/actions${path}`;
  const put = (name: string, body: unknown, id = ID) =>
    request(app.url)
      .put(`/api/v1/extensions/${id}/actions/${name}`)
      .set(app.adminHeaders)
      .send(body as object);
  const valid = { trigger: { type: 'IntentRequest', intent: 'CheckPoints' }, url: 'http://127.0.0.1:9/points' };

  beforeAll(async () => {
    app = await startTestApp({ store: kind, label: 'actions-admin' });
    const res = await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: ID, language: 'en' });
    expect(res.status).toBe(201);
  });
  afterAll(async () => {
    await app.close();
  });

  describe('is protected', () => {
    const routes: Array<[string, string]> = [
      ['get', api()],
      ['put', api('/check')],
      ['delete', api('/check')],
      ['get', '/api/v1/extensions/com.unknown.ext/actions'],
    ];
    test.each(routes)('%s %s → 401 without a token or with a wrong one', async (method, path) => {
      for (const auth of [undefined, 'Bearer wrong-token-wrong-token']) {
        const r = request(app.url)[method as 'get'](path);
        if (auth !== undefined) void r.set('authorization', auth);
        const res = await r.send(method === 'put' ? valid : undefined);
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('unauthorized');
      }
    });
  });

  test('PUT creates (201) with the defaults, PUT again replaces (200), GET lists, DELETE removes (204)', async () => {
    const created = await put('check', valid);
    expect(created.status).toBe(201);
    expect(created.headers['location']).toBe(api('/check'));
    expect(created.body).toMatchObject({
      name: 'check',
      trigger: { type: 'IntentRequest', intent: 'CheckPoints' },
      url: 'http://127.0.0.1:9/points',
      useOAuthToken: false,
      tokenSource: 'auto',
      timeoutMs: 3000,
      headers: {},
    });
    const createdAt = created.body.createdAt as string;

    const replaced = await put('check', { ...valid, useOAuthToken: true, tokenSource: 'linked', timeoutMs: 7000, headers: { 'X-Api-Key': 'k1' } });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ useOAuthToken: true, tokenSource: 'linked', timeoutMs: 7000, headers: { 'x-api-key': 'k1' }, createdAt });

    const launch = await put('welcome', { trigger: { type: 'LaunchRequest' }, url: 'https://example.com/launch' });
    expect(launch.status).toBe(201);
    const list = await request(app.url).get(api()).set(app.adminHeaders);
    expect(list.status).toBe(200);
    expect(list.body.actions.map((a: { name: string }) => a.name)).toEqual(['check', 'welcome']);

    // What GET returns (with its name) can be sent back as it is, minus the dates.
    const { createdAt: _c, updatedAt: _u, ...roundTrip } = list.body.actions[0];
    expect((await put('check', roundTrip)).status).toBe(200);

    expect((await request(app.url).delete(api('/welcome')).set(app.adminHeaders)).status).toBe(204);
    const missing = await request(app.url).delete(api('/welcome')).set(app.adminHeaders);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    const after = await request(app.url).get(api()).set(app.adminHeaders);
    expect(after.body.actions.map((a: { name: string }) => a.name)).toEqual(['check']);
  });

  test('the extension itself: unknown → 404 unknown_extension, malformed → 400 invalid_extension_id', async () => {
    for (const res of [
      await request(app.url).get('/api/v1/extensions/com.unknown.ext/actions').set(app.adminHeaders),
      await put('x', valid, 'com.unknown.ext'),
      await request(app.url).delete('/api/v1/extensions/com.unknown.ext/actions/x').set(app.adminHeaders),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('unknown_extension');
    }
    const bad = await put('x', valid, 'NotAnId');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_extension_id');
  });

  test('two actions with the same trigger → 409 conflict naming the other action', async () => {
    expect((await put('event-any', { trigger: { type: 'EventRequest', namespace: 'AudioPlayer' }, url: 'https://example.com/e' })).status).toBe(201);
    // A more specific event trigger is another trigger.
    expect((await put('event-one', { trigger: { type: 'EventRequest', namespace: 'AudioPlayer', name: 'PlayFinished' }, url: 'https://example.com/e' })).status).toBe(201);
    const res = await put('other', { trigger: { type: 'IntentRequest', intent: 'CheckPoints' }, url: 'https://example.com/x' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('conflict');
    expect(res.body.error.message).toContain('"check"');
    expect(res.body.error.message).toContain('CheckPoints');
    const ev = await put('other', { trigger: { type: 'EventRequest', namespace: 'AudioPlayer' }, url: 'https://example.com/x' });
    expect(ev.status).toBe(409);
    expect(ev.body.error.message).toContain('"event-any"');
  });

  test(`at most ${MAX_ACTIONS} action methods: one more is 409 conflict, replacing one still works; the README says so`, async () => {
    const id = 'com.example.many';
    expect((await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: id })).status).toBe(201);
    const action = (i: number | string) => ({ trigger: { type: 'IntentRequest', intent: `Intent${i}` }, url: valid.url });
    for (let i = 0; i < MAX_ACTIONS; i++) expect((await put(`a${i}`, action(i), id)).status).toBe(201);
    const over = await put('one-more', action('more'), id);
    expect([over.status, over.body.error.code, over.body.error.message]).toEqual([409, 'conflict', `An extension has at most ${MAX_ACTIONS} action methods: delete one first.`]);
    expect((await put('a0', { ...action(0), timeoutMs: 2000 }, id)).status).toBe(200);
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`An extension has at most **${MAX_ACTIONS}** action methods`);
    expect(readme.replace(/\s+/g, ' ')).toContain(over.body.error.message);
  });

  describe('every mistake is a 400 invalid_body naming the field', () => {
    const cases: Array<[string, string, unknown, string]> = [
      ['bad name', 'bad name!', valid, 'name'],
      ['too long a name', 'x'.repeat(65), valid, 'name'],
      ['a name of JavaScript objects (__proto__)', '__proto__', valid, 'name'],
      ['a name of JavaScript objects (constructor)', 'constructor', valid, 'name'],
      ['a name of JavaScript objects (prototype)', 'prototype', valid, 'name'],
      ['name differs from the URL', 'check', { ...valid, name: 'other' }, 'name'],
      ['no trigger', 'a1', { url: valid.url }, 'trigger'],
      ['unknown trigger type', 'a1', { ...valid, trigger: { type: 'Whatever' } }, 'trigger.type'],
      ['intent trigger without intent', 'a1', { ...valid, trigger: { type: 'IntentRequest' } }, 'trigger.intent'],
      ['intent on a launch trigger', 'a1', { ...valid, trigger: { type: 'LaunchRequest', intent: 'X' } }, 'trigger'],
      ['no url', 'a1', { trigger: valid.trigger }, 'url'],
      ['relative url', 'a1', { ...valid, url: '/points' }, 'url'],
      ['ftp url', 'a1', { ...valid, url: 'ftp://example.com/x' }, 'url'],
      ['url with credentials', 'a1', { ...valid, url: 'https://u:p@example.com/x' }, 'url'],
      ['url without a host after //', 'a1', { ...valid, url: 'http:///x' }, 'url'],
      ['url without //', 'a1', { ...valid, url: 'https:example.com/x' }, 'url'],
      ['timeout above 7000', 'a1', { ...valid, timeoutMs: 7001 }, 'timeoutMs'],
      ['timeout below 100', 'a1', { ...valid, timeoutMs: 50 }, 'timeoutMs'],
      ['fractional timeout', 'a1', { ...valid, timeoutMs: 1000.5 }, 'timeoutMs'],
      ['bad tokenSource', 'a1', { ...valid, tokenSource: 'cookie' }, 'tokenSource'],
      ['useOAuthToken not a boolean', 'a1', { ...valid, useOAuthToken: 'yes' }, 'useOAuthToken'],
      ['authorization header', 'a1', { ...valid, headers: { Authorization: 'Bearer x' } }, 'headers.Authorization'],
      ['hop-by-hop header', 'a1', { ...valid, headers: { connection: 'close' } }, 'headers.connection'],
      ['transfer-encoding header', 'a1', { ...valid, headers: { 'Transfer-Encoding': 'chunked' } }, 'headers.Transfer-Encoding'],
      ['host header', 'a1', { ...valid, headers: { host: 'evil.example' } }, 'headers.host'],
      ['content-length header', 'a1', { ...valid, headers: { 'content-length': '3' } }, 'headers.content-length'],
      ['x-cek-* header', 'a1', { ...valid, headers: { 'X-CEK-User-Id': 'someone' } }, 'headers.X-CEK-User-Id'],
      ['non-string header value', 'a1', { ...valid, headers: { 'x-n': 1 } }, 'headers.x-n'],
      ['header value with a line break', 'a1', { ...valid, headers: { 'x-n': 'a\r\nx-evil: 1' } }, 'headers.x-n'],
      ['bad header name', 'a1', { ...valid, headers: { 'bad name': 'v' } }, 'headers.bad name'],
      ['__proto__ header', 'a1', JSON.parse(`{"trigger":{"type":"IntentRequest","intent":"CheckPoints"},"url":"https://example.com/x","headers":{"__proto__":"a"}}`) as unknown, 'headers.__proto__'],
      ['unknown field', 'a1', { ...valid, retries: 3 }, '(body)'],
    ];
    test.each(cases)('%s', async (_label, name, body, path) => {
      const res = await put(encodeURIComponent(name), body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_body');
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    });
  });

  test('deleting the extension deletes its actions with it', async () => {
    const id = 'com.example.gone';
    await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: id });
    expect((await put('x', valid, id)).status).toBe(201);
    expect((await request(app.url).delete(`/api/v1/extensions/${id}`).set(app.adminHeaders)).status).toBe(204);
    await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: id });
    const list = await request(app.url).get(`/api/v1/extensions/${id}/actions`).set(app.adminHeaders);
    expect(list.body.actions).toEqual([]);
  });
});
