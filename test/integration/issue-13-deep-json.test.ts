import request from 'supertest';
import { MAX_JSON_DEPTH } from '../../src/http/jsonLimits.js';
import { adminApi } from '../helpers/adminApi.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { chatbotSignature, intentRequest, launchRequest } from '../helpers/cek.js';
import { reply, startTarget, type TestTarget } from '../helpers/targets.js';

/**
 * Issue 13, item 3: JSON nested thousands of levels deep made `JSON.stringify` overflow the stack
 * when the answer echoed it (a 500). Bodies and target replies are built as text here, because
 * building them with JSON.stringify would overflow in the test itself.
 */
const nested = (levels: number, leaf = '1'): string => `${'{"a":'.repeat(levels)}${leaf}${'}'.repeat(levels)}`;
const ID = 'com.example.deepJson';
const ERROR_TEXT = 'Sorry, something went wrong. Please try again in a moment.';

describe('JSON nested too deep is refused, never a 500', () => {
  let app: TestApp;
  let target: TestTarget;
  let secret: string;

  const cek = (raw: string) => request(app.url).post(`/cek/${ID}`).set('content-type', 'application/json').set('SignatureCEK', app.signer.sign(raw)).send(raw);
  /** A signed LaunchRequest whose sessionAttributes hold `levels` nested objects. */
  const launchWithAttributes = (levels: number): string => JSON.stringify(launchRequest({ extensionId: ID, sessionAttributes: { marker: 1 } })).replace('{"marker":1}', `{"deep":${nested(levels)}}`);

  beforeAll(async () => {
    app = await startTestApp({ label: 'deep-json' });
    target = await startTarget();
    const created = await adminApi(app).post('/extensions', { extensionId: ID, language: 'en' });
    expect(created.status).toBe(201);
    secret = created.body.chatbotSecret as string;
  });
  afterAll(async () => {
    await app.close();
    await target.close();
  });

  test('a signed request with sessionAttributes 8,000 levels deep (16 KB) is 400 invalid_request naming the field', async () => {
    const raw = launchWithAttributes(8_000);
    expect(raw.length).toBeGreaterThan(16_000);
    const res = await cek(raw);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.message).toMatch(/^"session\.sessionAttributes\.deep\.a…" nests deeper than 64 levels\.$/);
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.(js|ts):\d+/);
  });

  test('session attributes within the limit are still echoed as they came', async () => {
    // The body, session and sessionAttributes are the first 3 levels.
    const raw = launchWithAttributes(MAX_JSON_DEPTH - 3);
    const res = await cek(raw);
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.body.sessionAttributes)).toBe(`{"deep":${nested(MAX_JSON_DEPTH - 3)}}`);
    expect((await cek(launchWithAttributes(MAX_JSON_DEPTH - 2))).status).toBe(400);
  });

  test('a target reply nested too deep is a bad reply: the spoken error message, HTTP 200', async () => {
    const put = await adminApi(app).put(`/extensions/${ID}/actions/deep`, { trigger: { type: 'IntentRequest', intent: 'Deep' }, url: `${target.url}/deep` });
    expect([200, 201]).toContain(put.status);
    for (const [path, body] of [
      ['/deep', `{"version":"1.0","sessionAttributes":${nested(8_000)},"response":{"outputSpeech":{},"card":{},"directives":[],"shouldEndSession":false}}`],
      ['/deep', `{"speech":"hi","endSession":false,"sessionAttributes":${nested(8_000)}}`],
      ['/deep', `{"version":"1.0","response":{"outputSpeech":{},"card":${nested(8_000)},"directives":[],"shouldEndSession":true}}`],
    ] as const) {
      target.on(path, reply.text(body, 'application/json'));
      const res = await cek(JSON.stringify(intentRequest({ extensionId: ID, intent: 'Deep' })));
      expect(res.status).toBe(200);
      expect(res.body.response.outputSpeech.values.value).toBe(ERROR_TEXT);
    }
    // Within the limit the reply is passed on as before.
    target.on('/deep', reply.text(`{"speech":"hi","endSession":false,"sessionAttributes":${nested(20)}}`, 'application/json'));
    const ok = await cek(JSON.stringify(intentRequest({ extensionId: ID, intent: 'Deep' })));
    expect(ok.body.response.outputSpeech.values.value).toBe('hi');
    expect(JSON.stringify(ok.body.sessionAttributes)).toBe(nested(20));
  });

  test('a target reply of 256 KiB of text without a space is spoken in time, even eight at once', async () => {
    // Each 200-character piece used to re-split the whole rest of the text: seconds of CPU per reply,
    // during which no other request of the instance was answered.
    const put = await adminApi(app).put(`/extensions/${ID}/actions/long`, { trigger: { type: 'IntentRequest', intent: 'Long' }, url: `${target.url}/long` });
    expect([200, 201]).toContain(put.status);
    target.on('/long', reply.text('a'.repeat(256 * 1024 - 1), 'text/plain; charset=utf-8'));
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 8 }, () => cek(JSON.stringify(intentRequest({ extensionId: ID, intent: 'Long' })))));
    const elapsed = Date.now() - started;
    for (const res of answers) {
      expect(res.status).toBe(200);
      const spoken = res.body.response.outputSpeech.values.value as string;
      // Four 200-character sentences: a fifth would pass the 1000 in all.
      expect(spoken).toBe(Array.from({ length: 4 }, () => `${'a'.repeat(199)}.`).join(' '));
    }
    // CLOVA's 8 s, less the margin the CEK door keeps (7.5 s).
    expect(elapsed).toBeLessThan(7_500);
  });

  test('a messenger message nested too deep is 400 invalid_request naming the field', async () => {
    const raw = `{"version":"v2","userId":"u1","timestamp":1,"bubbles":[{"type":"text","data":{"description":"hi","extra":${nested(8_000)}}}],"event":"send"}`;
    const res = await request(app.url).post(`/chatbot/${ID}`).set('content-type', 'application/json').set('X-NCP-CHATBOT_SIGNATURE', chatbotSignature(secret, raw)).send(raw);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.message).toMatch(/^"bubbles\.0\.data\.extra…" nests deeper than 64 levels\.$/);
  });

  test('an admin API body nested too deep is 400 invalid_body naming the field, on every JSON route', async () => {
    const deep = nested(8_000);
    const send = (method: 'post' | 'put' | 'patch', path: string, raw: string) => request(app.url)[method](`/api/v1${path}`).set(app.adminHeaders).set('content-type', 'application/json').send(raw);
    for (const [method, path, raw] of [
      ['post', '/extensions', `{"extensionId":"com.example.deep2","messages":${deep}}`],
      ['patch', `/extensions/${ID}`, `{"messages":${deep}}`],
      ['put', `/extensions/${ID}/actions/deeper`, `{"trigger":{"type":"LaunchRequest"},"url":"${target.url}/x","headers":${deep}}`],
      ['put', `/extensions/${ID}/gateway`, `{"plans":${deep}}`],
      ['put', `/extensions/${ID}/account-linking`, `{"enabled":${deep}}`],
    ] as const) {
      const res = await send(method, path, raw);
      expect({ path, status: res.status, code: res.body.error?.code }).toEqual({ path, status: 400, code: 'invalid_body' });
      expect(res.body.error.message).toMatch(/nests deeper than 64 levels/);
      expect(res.body.error.details[0].path).toMatch(/^(messages|headers|plans|enabled)\.a\.a\.a…$/);
    }
  });
});
