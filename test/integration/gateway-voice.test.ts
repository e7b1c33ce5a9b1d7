import request from 'supertest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { chatbotSignature, launchRequest } from '../helpers/cek.js';
import { legacyQuotaKey, quotaKey } from '../../src/gateway/limiter.js';
import { exactStoreKinds, keysOutsideFamilies } from '../helpers/stores.js';

describe.each(exactStoreKinds)('gateway on the voice route (POST /cek/:extensionId) on %s', (kind) => {
  let app: TestApp;
  const ID = 'com.example.voice';
  const OTHER = 'com.example.neighbour';
  const secrets: Record<string, string> = {};
  const admin = {
    put: (p: string, body: object) => request(app.url).put(`/api/v1${p}`).set(app.adminHeaders).send(body),
    post: (p: string, body: object) => request(app.url).post(`/api/v1${p}`).set(app.adminHeaders).send(body),
    patch: (p: string, body: object) => request(app.url).patch(`/api/v1${p}`).set(app.adminHeaders).send(body),
    get: (p: string) => request(app.url).get(`/api/v1${p}`).set(app.adminHeaders),
  };
  const voice = (apiKey?: string, id = ID) => {
    const raw = JSON.stringify(launchRequest({ extensionId: id }));
    const r = request(app.url).post(`/cek/${id}`).set('content-type', 'application/json').set('X-NCP-CHATBOT_SIGNATURE', chatbotSignature(secrets[id]!, raw));
    if (apiKey !== undefined) void r.set('x-ncp-apigw-api-key', apiKey);
    return r.send(raw);
  };
  const expectError = (res: request.Response, status: number, code: string) => {
    expect([res.status, res.body.error?.code]).toEqual([status, code]);
  };

  beforeAll(async () => {
    app = await startTestApp({ store: kind, label: 'gw-voice' });
    for (const id of [ID, OTHER]) {
      const res = await admin.post('/extensions', { extensionId: id, language: 'en' });
      secrets[id] = res.body.chatbotSecret as string;
    }
  });
  afterAll(async () => {
    await app.close();
  });

  test('without key enforcement, calls need no key and are counted', async () => {
    expect((await voice()).status).toBe(200);
    expect((await voice('anything')).status).toBe(200); // the header is not read
  });

  test("keys: missing → 401, wrong, disabled or another extension's → 403; primary and secondary both work", async () => {
    const key = (await admin.post(`/extensions/${ID}/keys`, { name: 'a' })).body;
    const disabled = (await admin.post(`/extensions/${ID}/keys`, { name: 'b' })).body;
    await admin.patch(`/extensions/${ID}/keys/${disabled.id}`, { enabled: false });
    const neighbours = (await admin.post(`/extensions/${OTHER}/keys`, { name: 'n' })).body;
    await admin.put(`/extensions/${ID}/gateway`, { requireApiKey: true });

    expectError(await voice(), 401, 'missing_api_key');
    expectError(await voice('   '), 401, 'missing_api_key');
    expectError(await voice('not-a-key'), 403, 'invalid_api_key');
    expectError(await voice(`${key.primary.value}x`), 403, 'invalid_api_key');
    expectError(await voice(neighbours.primary.value), 403, 'invalid_api_key');
    expectError(await voice(disabled.primary.value), 403, 'invalid_api_key');
    expect((await voice(disabled.primary.value)).body.error.message).toContain('disabled');
    expect((await voice(key.primary.value)).status).toBe(200);
    expect((await voice(key.secondary.value)).status).toBe(200);

    // Regenerating the primary value: the old one stops working at once, the secondary keeps working.
    const regen = (await admin.post(`/extensions/${ID}/keys/${key.id}/regenerate`, { which: 'primary' })).body;
    expectError(await voice(key.primary.value), 403, 'invalid_api_key');
    expect((await voice(regen.primary.value)).status).toBe(200);
    expect((await voice(key.secondary.value)).status).toBe(200);

    // The key check comes before the signature: a refused caller costs no body read or verification.
    const unsigned = await request(app.url).post(`/cek/${ID}`).send('{}');
    expectError(unsigned, 401, 'missing_api_key');

    // Usage by key, and the refusals by code.
    const usage = (await admin.get(`/extensions/${ID}/usage`)).body;
    const today = usage.days[usage.days.length - 1];
    expect(today.byKey[key.id]).toBe(4);
    expect(today.refused.missing_api_key).toBe(3);
    expect(today.refused.invalid_api_key).toBe(6);
    expect(today.calls).toBe(6); // 2 before enforcement + 4 with the key
    expect(today.byOutcome['2xx']).toBe(6); // classified by the final status (the handler's finish hook)
    await admin.put(`/extensions/${ID}/gateway`, { requireApiKey: false });
  });

  test('extension plan: a day quota refuses with 429 quota_exceeded and the RateLimit headers', async () => {
    const id = 'com.example.quota-voice';
    secrets[id] = (await admin.post('/extensions', { extensionId: id, language: 'en' })).body.chatbotSecret as string;
    await admin.put(`/extensions/${id}/gateway`, { usagePlan: { dayQuota: 3 } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await voice(undefined, id)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const res = await voice(undefined, id);
    expectError(res, 429, 'quota_exceeded');
    const midnight = new Date();
    midnight.setUTCHours(24, 0, 0, 0);
    const expected = Math.ceil((midnight.getTime() - Date.now()) / 1000);
    expect(Math.abs(Number(res.headers['retry-after']) - expected)).toBeLessThanOrEqual(2);
    expect(res.headers['ratelimit-limit']).toBe('3');
    expect(res.headers['ratelimit-remaining']).toBe('0');
    expect(res.headers['ratelimit-reset']).toBe(res.headers['retry-after']);

    const usage = (await admin.get(`/extensions/${id}/usage`)).body;
    expect(usage.usagePlan.counted).toEqual({ day: 3, month: 3 });
    expect(usage.days[usage.days.length - 1].refused.quota_exceeded).toBe(3);
    expect(usage.freeAllowance.used).toBe(3);

    // Raising the quota admits again (the counters hold the counted calls only).
    await admin.put(`/extensions/${id}/gateway`, { usagePlan: { dayQuota: 4 } });
    expect((await voice(undefined, id)).status).toBe(200);
    expect((await voice(undefined, id)).status).toBe(429);
  });

  test('calls that fail authentication do not use up the quota or the free allowance (whoever knows the URL cannot lock CLOVA out)', async () => {
    const id = 'com.example.forged-voice';
    secrets[id] = (await admin.post('/extensions', { extensionId: id, language: 'en' })).body.chatbotSecret as string;
    await admin.put(`/extensions/${id}/gateway`, { usagePlan: { dayQuota: 3, monthQuota: 10 } });
    const raw = JSON.stringify(launchRequest({ extensionId: id }));
    const forged = [
      () => request(app.url).post(`/cek/${id}`).set('content-type', 'application/json').send(raw),
      () => request(app.url).post(`/cek/${id}`).set('content-type', 'application/json').set('X-NCP-CHATBOT_SIGNATURE', 'AAAA').send(raw),
      () => request(app.url).post(`/cek/${id}`).set('content-type', 'application/json').set('X-NCP-CHATBOT_SIGNATURE', chatbotSignature(secrets[OTHER]!, raw)).send(raw),
    ];
    for (let i = 0; i < 3; i++) for (const call of forged) expect((await call()).status).toBe(401);
    // Signed with this extension's secret but for another extension: 403, not counted either.
    const foreign = JSON.stringify(launchRequest({ extensionId: OTHER }));
    const mismatch = await request(app.url).post(`/cek/${id}`).set('content-type', 'application/json').set('X-NCP-CHATBOT_SIGNATURE', chatbotSignature(secrets[id], foreign)).send(foreign);
    expectError(mismatch, 403, 'application_id_mismatch');

    // The genuine caller still has its whole quota.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await voice(undefined, id)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const usage = (await admin.get(`/extensions/${id}/usage`)).body;
    expect(usage.usagePlan.counted).toEqual({ day: 3, month: 3 });
    expect(usage.freeAllowance.used).toBe(3);
    const today = usage.days[usage.days.length - 1];
    expect(today.refused.missing_signature).toBe(3);
    expect(today.refused.invalid_signature).toBe(6);
    expect(today.refused.application_id_mismatch).toBe(1);
  });

  test('a month quota counts the earlier days of the month too, in both key shapes (before and after the hash tag)', async () => {
    const id = 'com.example.month-voice';
    secrets[id] = (await admin.post('/extensions', { extensionId: id, language: 'en' })).body.chatbotSecret as string;
    await admin.put(`/extensions/${id}/gateway`, { usagePlan: { monthQuota: 5 } });
    const today = new Date();
    if (today.getUTCDate() > 1) {
      // 4 calls counted on the 1st of this month, as earlier instances would have left them: 2 by
      // this version, 2 by the one before the hash-tagged keys.
      const first = `${today.toISOString().slice(0, 8)}01`;
      await app.store.increment(quotaKey(id, 'x', first), 2, 86_400_000);
      await app.store.increment(legacyQuotaKey(id, 'x', first), 2, 86_400_000);
      expect((await voice(undefined, id)).status).toBe(200);
      expectError(await voice(undefined, id), 429, 'quota_exceeded');
    } else {
      // 2 calls counted today by the version before the hash-tagged keys.
      await app.store.increment(legacyQuotaKey(id, 'x', today.toISOString().slice(0, 10)), 2, 86_400_000);
      for (let i = 0; i < 3; i++) expect((await voice(undefined, id)).status).toBe(200);
      expectError(await voice(undefined, id), 429, 'quota_exceeded');
    }
    const usage = (await admin.get(`/extensions/${id}/usage`)).body;
    expect(usage.usagePlan.counted.month).toBe(5);
  });

  test("a key's own plan replaces the extension's, counted per key; regenerating keeps its counters", async () => {
    const id = 'com.example.keyplan';
    secrets[id] = (await admin.post('/extensions', { extensionId: id, language: 'en' })).body.chatbotSecret as string;
    const limited = (await admin.post(`/extensions/${id}/keys`, { name: 'limited', usagePlan: { dayQuota: 2 } })).body;
    const shared = (await admin.post(`/extensions/${id}/keys`, { name: 'shared' })).body;
    await admin.put(`/extensions/${id}/gateway`, { requireApiKey: true, usagePlan: { dayQuota: 100 } });

    expect((await voice(limited.primary.value, id)).status).toBe(200);
    // The regenerated key is the same key: its counter goes on.
    const regen = (await admin.post(`/extensions/${id}/keys/${limited.id}/regenerate`, { which: 'primary' })).body;
    expect((await voice(regen.primary.value, id)).status).toBe(200);
    expectError(await voice(regen.primary.value, id), 429, 'quota_exceeded');
    expectError(await voice(limited.secondary.value, id), 429, 'quota_exceeded');
    // Other keys use the extension's plan, unaffected.
    expect((await voice(shared.primary.value, id)).status).toBe(200);

    const usage = (await admin.get(`/extensions/${id}/usage`)).body;
    expect(usage.usagePlan.counted.day).toBe(1);
    expect(usage.keys.find((k: { id: string }) => k.id === limited.id).usagePlan.counted.day).toBe(2);
    expect(usage.days[usage.days.length - 1].byKey).toEqual({ [limited.id]: 2, [shared.id]: 1 });
  });

  test('every key the gateway wrote belongs to a family of store/keys.ts', async () => {
    expect(await keysOutsideFamilies(app.store)).toEqual([]);
  });

  test('rate: more than rateRps calls in one second → 429 rate_limited with Retry-After 1', async () => {
    const id = 'com.example.rate-voice';
    secrets[id] = (await admin.post('/extensions', { extensionId: id, language: 'en' })).body.chatbotSecret as string;
    await admin.put(`/extensions/${id}/gateway`, { usagePlan: { rateRps: 3 } });
    // Start early in a second so that the burst stays in one window.
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    const results = await Promise.all(Array.from({ length: 6 }, () => voice(undefined, id)));
    const limited = results.filter((r) => r.status === 429);
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    expect(limited).toHaveLength(3);
    expect(limited[0]!.body.error.code).toBe('rate_limited');
    expect(limited[0]!.headers['retry-after']).toBe('1');
    expect(limited[0]!.headers['ratelimit-limit']).toBe('3');
    await new Promise((r) => setTimeout(r, 1000));
    expect((await voice(undefined, id)).status).toBe(200);
  });
});
