import request from 'supertest';
import { EXTENSION_ID } from '../../src/extensions/model.js';
import { send, signIn } from '../helpers/adminSession.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { intentRequest, launchRequest } from '../helpers/cek.js';
import { storeKinds } from '../helpers/stores.js';

/**
 * Issue 13, item 1: CLOVA issues Extension IDs with upper case and underscores (genuine signed
 * traffic came from `com.keno42.worldClock` and `com.line-apps.air_quality`). The IDs below are
 * written here in the same shapes, not copied from any capture.
 */
const REAL_SHAPES = ['com.keno42.worldClock', 'com.line-apps.air_quality', 'jp.Example_Co.MyClock', 'com.-dash.x_', 'A.B', `com.${'a'.repeat(251)}`];

describe.each(storeKinds)('Extension IDs as CLOVA issues them on %s', (kind) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ store: kind, label: 'ext-ids' });
  });
  afterAll(async () => {
    await app.close();
  });

  const create = (extensionId: unknown) => request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId, language: 'en' });
  const signed = (id: string, body: object) => {
    const raw = JSON.stringify(body);
    return request(app.url).post(`/cek/${id}`).set('content-type', 'application/json').set('SignatureCEK', app.signer.sign(raw)).send(raw);
  };

  test('the create API accepts letters of either case, digits, "-" and "_" in dot-separated segments', async () => {
    for (const id of REAL_SHAPES) {
      const res = await create(id);
      expect({ id, status: res.status }).toEqual({ id, status: 201 });
      expect(res.body.extensionId).toBe(id);
      expect(res.body.invokeUrl).toBe(`http://127.0.0.1:3000/cek/${id}`);
      const got = await request(app.url).get(`/api/v1/extensions/${id}`).set(app.adminHeaders);
      expect(got.status).toBe(200);
    }
  });

  test('IDs that differ only in case are different extensions', async () => {
    expect((await create('com.example.CaseTwin')).status).toBe(201);
    expect((await create('com.example.casetwin')).status).toBe(201);
    expect((await request(app.url).get('/api/v1/extensions/com.example.CASETWIN').set(app.adminHeaders)).status).toBe(404);
  });

  test('a signed request to such an extension is served at its invoke URL (also with a trailing slash)', async () => {
    const id = 'com.keno42.worldClock';
    const launch = await signed(id, launchRequest({ extensionId: id }));
    expect(launch.status).toBe(200);
    expect(launch.body.response.outputSpeech.values.value).toBe('Hello. What can I do for you?');
    const intent = await signed(`${id}/`, intentRequest({ extensionId: id, intent: 'Clock' }));
    expect(intent.status).toBe(200);
    const underscored = await signed('com.line-apps.air_quality', launchRequest({ extensionId: 'com.line-apps.air_quality' }));
    expect(underscored.status).toBe(200);
  });

  test('the applicationId match stays exact: another case is 403 application_id_mismatch', async () => {
    for (const applicationId of ['com.keno42.worldclock', 'COM.KENO42.WORLDCLOCK', 'com.keno42.worldClock ']) {
      const res = await signed('com.keno42.worldClock', launchRequest({ extensionId: applicationId }));
      expect({ applicationId, status: res.status }).toEqual({ applicationId, status: 403 });
      expect(res.body.error.code).toBe('application_id_mismatch');
    }
  });

  test('bad IDs are 400 invalid_extension_id with a sentence saying the rule', async () => {
    const bad = ['nodots', 'com..example', 'com.example.', '.com.example', '', 'com.exam ple', 'com.example!', 'com.exämple', 'com.example/x', 'com.example:x', `com.${'a'.repeat(252)}`];
    for (const extensionId of bad) {
      const res = await create(extensionId);
      expect({ extensionId, status: res.status }).toEqual({ extensionId, status: 400 });
      expect(res.body.error.code).toBe('invalid_extension_id');
      expect(res.body.error.message).toMatch(/letters, digits, "-" and "_" in at least two parts separated by dots, no empty part, at most 255 characters/);
      expect(res.body.error.message).not.toMatch(/\[A-Za-z/);
    }
    expect(`com.${'a'.repeat(252)}`).toHaveLength(256);
  });

  test('an ID the rule refuses is never routed at the CEK path: 400 with the rule, as in the admin API', async () => {
    const res = await signed('com..worldClock', launchRequest({ extensionId: 'com..worldClock' }));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_extension_id');
  });
});

describe('the admin form checks the same rule the server does', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ label: 'ext-ids-form' });
  });
  afterAll(async () => {
    await app.close();
  });

  test('the page carries the server regex and the rule as a sentence, not a second copy', async () => {
    const { cookie } = await signIn(app);
    const res = await send(app, '/admin/extensions', { cookie });
    expect(res.status).toBe(200);
    const input = /<input id="f-extensionId"[^>]*>/.exec(res.text)?.[0] ?? '';
    const attr = (name: string) => decode(new RegExp(`${name}="([^"]*)"`).exec(input)?.[1] ?? '');
    expect(attr('data-id-pattern')).toBe(EXTENSION_ID.source);
    expect(attr('data-id-rule')).toMatch(/^Extension IDs are reverse-domain names/);
    // What the page's live check would say, for IDs the server accepts and refuses.
    const live = new RegExp(attr('data-id-pattern'));
    for (const id of REAL_SHAPES) expect(live.test(id)).toBe(true);
    for (const id of ['com..x', 'x', 'com.x!', `com.${'a'.repeat(252)}`]) expect(live.test(id)).toBe(false);
  });

  test('the action form, too: the name rule comes from the server, and what the page accepts the API accepts', async () => {
    const { cookie } = await signIn(app);
    const id = 'com.example.FormRules';
    expect((await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: id })).status).toBe(201);
    const res = await send(app, `/admin/extensions/${id}/actions/new`, { cookie });
    expect(res.status).toBe(200);
    const input = /<input id="f-name"[^>]*>/.exec(res.text)?.[0] ?? '';
    const attr = (name: string) => decode(new RegExp(`${name}="([^"]*)"`).exec(input)?.[1] ?? '');
    expect(attr('data-name-rule')).toBe('Action names are 1 to 64 letters, digits, "_", "." or "-", and not "__proto__", "constructor" or "prototype".');
    const live = new RegExp(attr('data-name-pattern'));
    for (const name of ['Check.Points_2-x', '__proto__', 'constructor', 'prototype', 'toString', 'a b', '', 'x'.repeat(65), 'x'.repeat(64)]) {
      const put = await request(app.url)
        .put(`/api/v1/extensions/${id}/actions/${encodeURIComponent(name === '' ? ' ' : name)}`)
        .set(app.adminHeaders)
        .send({ trigger: { type: 'IntentRequest', intent: `I${name.length}${name.slice(0, 3).replace(/\W/g, '')}` }, url: 'http://127.0.0.1:9/x' });
      expect({ name, pageSays: live.test(name), apiSays: put.status < 300 }).toEqual({ name, pageSays: put.status < 300, apiSays: put.status < 300 });
      if (put.status >= 300) expect(put.body.error.message).toBe('Action names are 1 to 64 letters, digits, "_", "." or "-", and not "__proto__", "constructor" or "prototype".');
    }
  });

  test('an extension with such an ID is created through the form and has its pages', async () => {
    const { cookie, csrf } = await signIn(app);
    const id = 'com.keno42.world_Clock';
    const created = await send(app, '/admin/extensions', { cookie, form: { _csrf: csrf, extensionId: id, name: '', language: 'en' } });
    expect(created.status).toBe(303);
    expect(created.location).toBe(`/admin/extensions/${id}#secret`);
    const page = await send(app, `/admin/extensions/${id}`, { cookie });
    expect(page.status).toBe(200);
    expect(page.text).toContain(`http://127.0.0.1:3000/cek/${id}`);
    const refused = await send(app, '/admin/extensions', { cookie, form: { _csrf: csrf, extensionId: 'com..Clock', name: '', language: 'en' } });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('no empty part');
  });
});

function decode(html: string): string {
  return html
    .replace(/&#92;/g, '\\')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
