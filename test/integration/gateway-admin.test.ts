import SwaggerParser from '@apidevtools/swagger-parser';
import request from 'supertest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { storeKinds } from '../helpers/stores.js';

describe.each(storeKinds)('gateway admin API on %s', (kind) => {
  let app: TestApp;
  const ID = 'com.example.gw';
  const api = () => ({
    get: (p: string) => request(app.url).get(`/api/v1${p}`).set(app.adminHeaders),
    put: (p: string, body: unknown) =>
      request(app.url)
        .put(`/api/v1${p}`)
        .set(app.adminHeaders)
        .send(body as object),
    post: (p: string, body: unknown) =>
      request(app.url)
        .post(`/api/v1${p}`)
        .set(app.adminHeaders)
        .send(body as object),
    patch: (p: string, body: unknown) =>
      request(app.url)
        .patch(`/api/v1${p}`)
        .set(app.adminHeaders)
        .send(body as object),
    delete: (p: string) => request(app.url).delete(`/api/v1${p}`).set(app.adminHeaders),
  });

  beforeAll(async () => {
    app = await startTestApp({ store: kind, label: 'gw-admin' });
    expect((await api().post('/extensions', { extensionId: ID, name: 'Gateway test', language: 'en' })).status).toBe(201);
  });
  afterAll(async () => {
    await app.close();
  });

  describe('is protected', () => {
    const routes: Array<[string, string]> = [
      ['get', `/api/v1/extensions/${ID}/gateway`],
      ['put', `/api/v1/extensions/${ID}/gateway`],
      ['get', `/api/v1/extensions/${ID}/keys`],
      ['post', `/api/v1/extensions/${ID}/keys`],
      ['patch', `/api/v1/extensions/${ID}/keys/k_x`],
      ['post', `/api/v1/extensions/${ID}/keys/k_x/regenerate`],
      ['delete', `/api/v1/extensions/${ID}/keys/k_x`],
      ['get', `/api/v1/extensions/${ID}/usage`],
      ['get', `/api/v1/extensions/${ID}/swagger.json`],
    ];
    test.each(routes)('%s %s → 401 without a token or with a wrong one', async (method, path) => {
      for (const auth of [undefined, 'Bearer wrong-token']) {
        const r = request(app.url)[method as 'get'](path);
        if (auth !== undefined) void r.set('authorization', auth);
        const res = await r;
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('unauthorized');
      }
    });
  });

  test('settings: defaults, set, partial update, clear with null', async () => {
    const initial = await api().get(`/extensions/${ID}/gateway`);
    expect(initial.status).toBe(200);
    expect(initial.body).toMatchObject({
      extensionId: ID,
      requireApiKey: false,
      usagePlan: null,
      messengerVerifyTokenSet: false,
      freeMonthlyCalls: 1_000_000,
      freeMonthlyCallsOverridden: false,
      keyCount: 0,
      messengerUrl: `http://127.0.0.1:3000/chatbot/${ID}`,
    });

    const set = await api().put(`/extensions/${ID}/gateway`, {
      requireApiKey: true,
      usagePlan: { rateRps: 10, dayQuota: 100, monthQuota: 1000, quotaCondition: ['4xx', '2xx'] },
      messengerVerifyToken: 'verify-me-please',
      freeMonthlyCalls: 5000,
    });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({
      requireApiKey: true,
      usagePlan: { rateRps: 10, dayQuota: 100, monthQuota: 1000, quotaCondition: ['2xx', '4xx'] },
      messengerVerifyTokenSet: true,
      freeMonthlyCalls: 5000,
      freeMonthlyCallsOverridden: true,
    });
    expect(JSON.stringify(set.body)).not.toContain('verify-me-please');

    const partial = await api().put(`/extensions/${ID}/gateway`, { requireApiKey: false });
    expect(partial.body.usagePlan).toEqual(set.body.usagePlan);
    expect(partial.body.messengerVerifyTokenSet).toBe(true);

    const cleared = await api().put(`/extensions/${ID}/gateway`, { usagePlan: null, messengerVerifyToken: null, freeMonthlyCalls: null });
    expect(cleared.body).toMatchObject({ usagePlan: null, messengerVerifyTokenSet: false, freeMonthlyCalls: 1_000_000, freeMonthlyCallsOverridden: false });
  });

  test('settings: bad input → 400 invalid_body naming each field; unknown extension → 404', async () => {
    const bad = await api().put(`/extensions/${ID}/gateway`, {
      requireApiKey: 'yes',
      usagePlan: { rateRps: 0, dayQuota: 1.5, quotaCondition: ['6xx'], burst: 3 },
      messengerVerifyToken: 'short',
      extra: true,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_body');
    const paths = (bad.body.error.details as Array<{ path: string }>).map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['requireApiKey', 'usagePlan', 'messengerVerifyToken', '(body)']));

    // zod's own wording is not repeated after the summary's "Invalid input:".
    const typed = await api().put(`/extensions/${ID}/gateway`, { requireApiKey: 'yes' });
    expect(typed.body.error.message).toBe('Invalid input: requireApiKey must be true or false.');
    const nameless = await api().post(`/extensions/${ID}/keys`, {});
    expect([nameless.status, nameless.body.error.message, nameless.body.error.details]).toEqual([400, 'Invalid input: name is required.', [{ path: 'name', message: 'is required' }]]);
    const numbered = await api().post(`/extensions/${ID}/keys`, { name: 7 });
    expect(numbered.body.error.message).toBe('Invalid input: name must be a string.');

    const empty = await api().put(`/extensions/${ID}/gateway`, { usagePlan: {} });
    expect(empty.status).toBe(400);
    expect(empty.body.error.message).toContain('at least one of rateRps, dayQuota, monthQuota');
    const repeated = await api().put(`/extensions/${ID}/gateway`, { usagePlan: { dayQuota: 5, quotaCondition: ['2xx', '2xx'] } });
    expect(repeated.status).toBe(400);
    const smallMonth = await api().put(`/extensions/${ID}/gateway`, { usagePlan: { dayQuota: 5, monthQuota: 2 } });
    expect(smallMonth.status).toBe(400);
    expect(smallMonth.body.error.details).toEqual([{ path: 'usagePlan.monthQuota', message: 'must be at least dayQuota (a month has every day in it)' }]);

    for (const res of [
      await api().get('/extensions/com.example.nope/gateway'),
      await api().put('/extensions/com.example.nope/gateway', { bogus: 1 }),
      await api().get('/extensions/com.example.nope/keys'),
      await api().post('/extensions/com.example.nope/keys', { name: 'x' }),
      await api().get('/extensions/com.example.nope/usage'),
      await api().get('/extensions/com.example.nope/swagger.json'),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('unknown_extension');
    }
  });

  test('keys: created with both values shown once, listed masked, patched, regenerated, deleted', async () => {
    const created = await api().post(`/extensions/${ID}/keys`, { name: 'mobile app', usagePlan: { dayQuota: 10 } });
    expect(created.status).toBe(201);
    expect(created.headers['location']).toBe(`/api/v1/extensions/${ID}/keys/${created.body.id}`);
    const primary = created.body.primary.value as string;
    const secondary = created.body.secondary.value as string;
    expect(primary).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(secondary).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(primary).not.toBe(secondary);
    expect(created.body).toMatchObject({ name: 'mobile app', enabled: true, usagePlan: { dayQuota: 10 } });
    expect(created.body.primary.masked).toBe(`********${primary.slice(-4)}`);

    const list = await api().get(`/extensions/${ID}/keys`);
    expect(list.status).toBe(200);
    expect(list.body.keys).toHaveLength(1);
    const listed = JSON.stringify(list.body);
    expect(listed).not.toContain(primary);
    expect(listed).not.toContain(secondary);
    expect(listed).not.toMatch(/hash/);
    expect(list.body.keys[0].primary).toEqual({ masked: `********${primary.slice(-4)}`, createdAt: created.body.primary.createdAt });
    // Nor is anything secret in the extension itself.
    expect(JSON.stringify((await api().get(`/extensions/${ID}`)).body)).not.toContain(primary.slice(0, 20));

    const id = created.body.id as string;
    const patched = await api().patch(`/extensions/${ID}/keys/${id}`, { enabled: false, name: 'renamed', usagePlan: null });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id, name: 'renamed', enabled: false, usagePlan: null });
    expect((await api().patch(`/extensions/${ID}/keys/${id}`, { enabled: 'no' })).status).toBe(400);

    const regen = await api().post(`/extensions/${ID}/keys/${id}/regenerate`, { which: 'secondary' });
    expect(regen.status).toBe(200);
    expect(regen.body.id).toBe(id);
    expect(regen.body.secondary.value).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(regen.body.secondary.value).not.toBe(secondary);
    expect(regen.body.primary.value).toBeUndefined();
    expect(regen.body.primary.masked).toBe(created.body.primary.masked);
    const badWhich = await api().post(`/extensions/${ID}/keys/${id}/regenerate`, { which: 'tertiary' });
    expect(badWhich.status).toBe(400);
    expect(badWhich.body.error.details[0].path).toBe('which');

    expect((await api().post(`/extensions/${ID}/keys`, { name: '' })).status).toBe(400);
    expect((await api().post(`/extensions/${ID}/keys`, { name: 'x', id: 'mine' })).status).toBe(400);

    const missing = await api().delete(`/extensions/${ID}/keys/k_missing`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    expect((await api().delete(`/extensions/${ID}/keys/${id}`)).status).toBe(204);
    expect((await api().get(`/extensions/${ID}/keys`)).body.keys).toEqual([]);
  });

  test('usage: the shape of the report, with the free allowance', async () => {
    const res = await api().get(`/extensions/${ID}/usage`);
    expect(res.status).toBe(200);
    expect(res.body.days).toHaveLength(31);
    expect(res.body.months).toHaveLength(12);
    const today = new Date().toISOString().slice(0, 10);
    expect(res.body.days[30].date).toBe(today);
    expect(res.body.months[11].month).toBe(today.slice(0, 7));
    expect(res.body.days[30]).toEqual({
      date: today,
      calls: 0,
      byOutcome: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, unclassified: 0 },
      refused: { missing_api_key: 0, invalid_api_key: 0, rate_limited: 0, quota_exceeded: 0, missing_signature: 0, invalid_signature: 0, application_id_mismatch: 0 },
      byKey: {},
    });
    expect(res.body.freeAllowance).toEqual({ monthlyCalls: 1_000_000, used: 0, remaining: 1_000_000, overage: 0 });
  });

  test("swagger.json is a valid Swagger 2.0 document in the shape of NAVER's API Gateway export", async () => {
    await api().put(`/extensions/${ID}/gateway`, { requireApiKey: true });
    const res = await api().get(`/extensions/${ID}/swagger.json`);
    expect(res.status).toBe(200);
    const doc = res.body;
    // Throws with the schema violations when the document is not valid Swagger 2.0.
    await SwaggerParser.validate(structuredClone(doc));
    expect(doc).toMatchObject({
      swagger: '2.0',
      host: '127.0.0.1:3000',
      basePath: '/',
      schemes: ['http'],
      securityDefinitions: { 'x-ncp-apigw-api-key': { type: 'apiKey', name: 'x-ncp-apigw-api-key', in: 'header' } },
    });
    expect(Object.keys(doc.paths).sort()).toEqual([`/cek/${ID}`, `/chatbot/${ID}`, `/chatbot/${ID}/keyboard`, `/chatbot/${ID}/message`]);
    const cek = doc.paths[`/cek/${ID}`].post;
    expect(cek['x-ncp-apigateway-endpoint']).toEqual({ HTTP: { stream: true, method: 'POST', url: `http://127.0.0.1:3000/cek/${ID}` } });
    expect(cek['x-ncp-apigateway-filters'].apiKey).toEqual({ required: true });
    expect(cek.security).toEqual([{ 'x-ncp-apigw-api-key': [] }]);
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>)) {
      for (const [method, op] of Object.entries(ops)) {
        expect([path, method, typeof op['x-ncp-apigateway-endpoint']]).toEqual([path, method, 'object']);
      }
    }
    // The verification GET needs no key: the webhook provider cannot send one.
    expect(doc.paths[`/chatbot/${ID}`].get.security).toEqual([]);

    await api().put(`/extensions/${ID}/gateway`, { requireApiKey: false });
    const open = (await api().get(`/extensions/${ID}/swagger.json`)).body;
    await SwaggerParser.validate(structuredClone(open));
    expect(open.paths[`/cek/${ID}`].post['x-ncp-apigateway-filters'].apiKey).toEqual({ required: false });
  });
});

describe('swagger.json with a PUBLIC_URL that has a path', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ label: 'gw-swagger', env: { PUBLIC_URL: 'https://cek.example.com/gw' } });
    await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: 'com.example.sw' });
  });
  afterAll(async () => {
    await app.close();
  });

  test('host, basePath, schemes and the endpoint URLs come from PUBLIC_URL', async () => {
    const doc = (await request(app.url).get('/api/v1/extensions/com.example.sw/swagger.json').set(app.adminHeaders)).body;
    await SwaggerParser.validate(structuredClone(doc));
    expect(doc).toMatchObject({ host: 'cek.example.com', basePath: '/gw', schemes: ['https'] });
    expect(doc.paths['/chatbot/com.example.sw/message'].post['x-ncp-apigateway-endpoint'].HTTP.url).toBe('https://cek.example.com/gw/chatbot/com.example.sw/message');
  });
});
