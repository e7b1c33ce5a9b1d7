import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { adminApi } from '../helpers/adminApi.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { eventRequest, intentRequest, launchRequest, sessionEndedRequest } from '../helpers/cek.js';
import { reply, startTarget, type TestTarget } from '../helpers/targets.js';
import { vaultOf } from '../helpers/vault.js';

/**
 * `POST /api/v1/extensions/:id/test-requests` (issue 17, the scenario runner's door): one CEK
 * request signed with the Chatbot Secret, sent through the instance's own invoke URL, and what
 * answered it, on a real instance with a real action target.
 */
const ID = 'com.example.testreq';
const STRICT = 'com.example.testreq.strict';

describe('POST /api/v1/extensions/:id/test-requests', () => {
  let app: TestApp;
  let target: TestTarget;
  const api = () => adminApi(app);
  const send = (id: string, body: object) => api().post(`/extensions/${id}/test-requests`, body);

  beforeAll(async () => {
    app = await startTestApp({ label: 'test-requests' });
    target = await startTarget({ '/points': reply.json({ speech: 'You have 120 points.', endSession: false, sessionAttributes: { step: 2 } }) });
    expect((await api().post('/extensions', { extensionId: ID, language: 'en' })).status).toBe(201);
    expect((await api().post('/extensions', { extensionId: STRICT, verification: 'cekSignature' })).status).toBe(201);
    expect(
      (
        await api().put(`/extensions/${ID}/account-linking`, {
          enabled: true,
          loginUrl: `${target.url}/authorize`,
          tokenUrl: `${target.url}/token`,
          clientId: 'client-1',
          clientSecret: 'client-secret-1',
        })
      ).status,
    ).toBe(200);
    const action = await api().put(`/extensions/${ID}/actions/CheckPoints`, {
      trigger: { type: 'IntentRequest', intent: 'CheckPoints' },
      url: `${target.url}/points`,
      useOAuthToken: true,
      tokenSource: 'linked',
    });
    expect(action.status).toBe(201);
    await vaultOf(app).link(ID, 'linked-user', { accessToken: 'access-1' }, { expiresAt: Date.now() + 3_600_000, scope: null, tokenType: 'Bearer' });
  });
  afterAll(async () => {
    await app.close();
    await target.close();
  });

  test('should be protected: no admin token is 401', async () => {
    const res = await fetch(`${app.url}/api/v1/extensions/${ID}/test-requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request: launchRequest({ extensionId: ID }) }),
    });
    expect(res.status).toBe(401);
  });

  test('bad input is a 400 naming the field', async () => {
    const missing = await send(ID, {});
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('invalid_body');
    expect(missing.body.error.details[0].path).toBe('request');
    const notObject = await send(ID, { request: 'LaunchRequest' });
    expect(notObject.status).toBe(400);
    expect(notObject.body.error.details[0]).toEqual({ path: 'request', message: 'must be a CEK request (a JSON object)' });
    const extra = await send(ID, { request: {}, user: 'x' });
    expect(extra.status).toBe(400);
    expect(extra.body.error.details[0].message).toBe('unknown field(s): user');
    expect((await send('not an id', { request: {} })).body.error.code).toBe('invalid_extension_id');
  });

  test('a CEK user id with control characters is a 400 naming where it is; nothing is sent', async () => {
    const before = target.calls.length;
    for (const userId of ['a\u0000b', 'line\nbreak', '\u001b[31mred', 'tab\there', 'del\u007f']) {
      const inSession = intentRequest({ extensionId: ID, intent: 'CheckPoints', userId });
      const res = await send(ID, { request: inSession });
      expect([JSON.stringify(userId), res.status, res.body.error?.code]).toEqual([JSON.stringify(userId), 400, 'invalid_body']);
      expect(res.body.error.details).toEqual([
        { path: 'request.session.user.userId', message: 'must not contain control characters (it is the CEK user ID)' },
        { path: 'request.context.System.user.userId', message: 'must not contain control characters (it is the CEK user ID)' },
      ]);
    }
    // Only in context.System.user (an event without a session).
    const res = await send(ID, { request: eventRequest({ extensionId: ID, userId: 'bad\ruser', namespace: 'ClovaSkill', name: 'SkillEnabled', nullSession: true }) });
    expect([res.status, res.body.error.details]).toEqual([400, [{ path: 'request.context.System.user.userId', message: 'must not contain control characters (it is the CEK user ID)' }]]);
    expect(target.calls.length).toBe(before);
    // Any other text is a user id as it is.
    expect((await send(ID, { request: launchRequest({ extensionId: ID, userId: 'user 김 🙂' }) })).status).toBe(200);
  });

  test('an unknown extension is 404', async () => {
    const res = await send('com.example.nowhere', { request: launchRequest({ extensionId: 'com.example.nowhere' }) });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('unknown_extension');
  });

  test('an extension that takes only CLOVA signatures cannot be tested this way: 409 saying why', async () => {
    const res = await send(STRICT, { request: launchRequest({ extensionId: STRICT }) });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/cekSignature/);
  });

  test('a launch: the welcome message, outcome welcome, no action', async () => {
    const res = await send(ID, { request: launchRequest({ extensionId: ID, userId: 'linked-user' }) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 200, outcome: 'welcome', response: { response: { shouldEndSession: false } } });
    expect(res.body.action).toBeUndefined();
    expect(res.body.requestId).toMatch(/^admin-api-/);
  });

  test('an extension that requires an API key: refused without one (as CLOVA would be), answered with the key given as apiKey; a key that is no header value is 400', async () => {
    const KEYED = 'com.example.testreq.keyed';
    expect((await api().post('/extensions', { extensionId: KEYED, language: 'en' })).status).toBe(201);
    const key = (await api().post(`/extensions/${KEYED}/keys`, { name: 'ci' })).body.primary.value as string;
    expect((await api().put(`/extensions/${KEYED}/gateway`, { requireApiKey: true })).status).toBe(200);
    const without = await send(KEYED, { request: launchRequest({ extensionId: KEYED }) });
    expect([without.status, without.body.status, without.body.response.error.code, without.body.outcome]).toEqual([200, 401, 'missing_api_key', null]);
    const wrong = await send(KEYED, { request: launchRequest({ extensionId: KEYED }), apiKey: 'not-the-key' });
    expect([wrong.body.status, wrong.body.response.error.code]).toEqual([403, 'invalid_api_key']);
    const withKey = await send(KEYED, { request: launchRequest({ extensionId: KEYED }), apiKey: key });
    expect([withKey.body.status, withKey.body.outcome]).toEqual([200, 'welcome']);
    const bad = await send(KEYED, { request: launchRequest({ extensionId: KEYED }), apiKey: 'a\r\nb' });
    expect([bad.status, bad.body.error.code, bad.body.error.details[0].path]).toEqual([400, 'invalid_body', 'apiKey']);
  });

  test('an intent for a linked user: the target is called with the bearer token, its answer and attributes come back', async () => {
    const before = target.callsTo('/points').length;
    const res = await send(ID, { request: intentRequest({ extensionId: ID, userId: 'linked-user', intent: 'CheckPoints' }) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 200, outcome: 'action', action: { name: 'CheckPoints', forwarded: true, tokenSent: true }, response: { sessionAttributes: { step: 2 } } });
    expect(target.callsTo('/points').length).toBe(before + 1);
    expect(target.callsTo('/points').at(-1)?.headers['authorization']).toBe('Bearer access-1');
  });

  test('an unlinked user: the login prompt, the target not called', async () => {
    const before = target.callsTo('/points').length;
    const res = await send(ID, { request: intentRequest({ extensionId: ID, userId: 'nobody', intent: 'CheckPoints' }) });
    expect(res.body).toMatchObject({ status: 200, outcome: 'login_prompt', action: { name: 'CheckPoints', forwarded: false, tokenSent: false } });
    expect(target.callsTo('/points').length).toBe(before);
  });

  test('a request the pipeline refuses is reported as it happened: status, error, no outcome', async () => {
    const res = await send(ID, { request: sessionEndedRequest({ extensionId: 'com.example.other' }) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 403, outcome: null, response: { error: { code: 'application_id_mismatch' } } });
  });
});
