import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { TokenVault } from '../../src/linking/vault.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { chatbotSignature } from '../helpers/cek.js';
import { storeKinds } from '../helpers/stores.js';
import { reply, startTarget, type TestTarget } from '../helpers/targets.js';

describe.each(storeKinds)('messenger routes /chatbot/:extensionId on %s', (kind) => {
  let app: TestApp;
  let target: TestTarget;
  let secret: string;
  const ID = 'com.example.chat';
  const admin = {
    put: (p: string, body: object) => request(app.url).put(`/api/v1${p}`).set(app.adminHeaders).send(body),
    post: (p: string, body: object) => request(app.url).post(`/api/v1${p}`).set(app.adminHeaders).send(body),
    get: (p: string) => request(app.url).get(`/api/v1${p}`).set(app.adminHeaders),
  };
  const v2 = (event: 'send' | 'open', text?: string, userId = 'chat-user-1') => ({
    version: 'v2',
    userId,
    timestamp: 1614650142000,
    bubbles: text === undefined ? [] : [{ type: 'text', data: { description: text } }],
    event,
  });
  const post = (body: object | string, o: { path?: string; sign?: string | false; apiKey?: string; id?: string } = {}) => {
    const raw = typeof body === 'string' ? body : JSON.stringify(body);
    const r = request(app.url)
      .post(`/chatbot/${o.id ?? ID}${o.path ?? ''}`)
      .set('content-type', 'application/json;UTF-8');
    if (o.sign !== false) void r.set('X-NCP-CHATBOT_SIGNATURE', o.sign ?? chatbotSignature(secret, raw));
    if (o.apiKey !== undefined) void r.set('x-ncp-apigw-api-key', o.apiKey);
    return r.send(raw);
  };
  const expectError = (res: request.Response, status: number, code: string) => {
    expect([res.status, res.body.error?.code]).toEqual([status, code]);
  };

  beforeAll(async () => {
    app = await startTestApp({ store: kind, label: 'gw-chat' });
    target = await startTarget({ '/chat': reply.json({ speech: 'You have 120 points.' }) });
    secret = (await admin.post('/extensions', { extensionId: ID, language: 'en' })).body.chatbotSecret as string;
  });
  afterAll(async () => {
    await app.close();
    await target.close();
  });

  test('open → the welcome message, send → the fallback, in the v2 shape with text bubbles; POST / and POST /message alike', async () => {
    for (const path of ['', '/message']) {
      const open = await post(v2('open'), { path });
      expect(open.status).toBe(200);
      expect(open.headers['content-type']).toMatch(/^application\/json/);
      expect(open.body).toEqual({
        version: 'v2',
        userId: 'chat-user-1',
        timestamp: expect.any(Number),
        bubbles: [{ type: 'text', data: { description: 'Hello. What can I do for you?' } }],
        event: 'open',
      });
      const send = await post(v2('send', 'How many points?'), { path });
      expect(send.status).toBe(200);
      expect(send.body.bubbles).toEqual([{ type: 'text', data: { description: "Sorry, I didn't catch that. Could you say it again?" } }]);
      expect(send.body.event).toBe('send');
    }
  });

  test('a send is answered by the same action method as voice: the intent Chatbot.Message with a text slot', async () => {
    const put = await admin.put(`/extensions/${ID}/actions/chat`, { trigger: { type: 'IntentRequest', intent: 'Chatbot.Message' }, url: `${target.url}/chat` });
    expect([200, 201]).toContain(put.status);
    const res = await post({ ...v2('send', '포인트 조회'), userIp: '10.0.0.1', extra: { x: 1 } });
    expect(res.status).toBe(200);
    expect(res.body.bubbles).toEqual([{ type: 'text', data: { description: 'You have 120 points.' } }]);
    const call = target.callsTo('/chat').at(-1)!;
    const forwarded = JSON.parse(call.body.toString('utf8'));
    expect(forwarded.request).toEqual({ type: 'IntentRequest', intent: { name: 'Chatbot.Message', slots: { text: { name: 'text', value: '포인트 조회' } } } });
    expect(forwarded.context.System.application.applicationId).toBe(ID);
    expect(forwarded.session.user.userId).toBe('chat-user-1');
    expect(call.headers['x-cek-user-id']).toBe('chat-user-1');
  });

  test('and with account linking, as voice: an unlinked user gets the login prompt, a linked one is forwarded with the token', async () => {
    const linking = await admin.put(`/extensions/${ID}/account-linking`, {
      enabled: true,
      loginUrl: `${target.url}/authorize`,
      tokenUrl: `${target.url}/token`,
      clientId: 'client-1',
      clientSecret: 'client-secret-1',
      clientAuth: 'body',
    });
    expect(linking.status).toBe(200);
    await admin.put(`/extensions/${ID}/actions/chat`, { trigger: { type: 'IntentRequest', intent: 'Chatbot.Message' }, url: `${target.url}/chat`, useOAuthToken: true, tokenSource: 'linked' });

    const unlinked = await post(v2('send', 'points', 'stranger'));
    expect(unlinked.status).toBe(200);
    expect(unlinked.body.bubbles).toHaveLength(1);
    expect(unlinked.body.bubbles[0].data.description).toContain('/link');

    const vault = new TokenVault(app.store, app.services.keyring);
    await vault.link(ID, 'linked-user', { accessToken: 'chat-access-1', refreshToken: 'rt' }, { expiresAt: Date.now() + 3_600_000, scope: 'api', tokenType: 'Bearer' });
    const before = target.callsTo('/chat').length;
    const linked = await post(v2('send', 'points', 'linked-user'));
    expect(linked.body.bubbles[0].data.description).toContain('You have 120 points.');
    const calls = target.callsTo('/chat');
    expect(calls).toHaveLength(before + 1);
    expect(calls.at(-1)!.headers['authorization']).toBe('Bearer chat-access-1');
  });

  test('signature: missing → 401 missing_signature, wrong → 401 invalid_signature', async () => {
    const raw = JSON.stringify(v2('send', 'hi'));
    expectError(await post(raw, { sign: false }), 401, 'missing_signature');
    expectError(await post(raw, { sign: chatbotSignature('wrong-secret', raw) }), 401, 'invalid_signature');
    expectError(await post(raw, { sign: chatbotSignature(secret, `${raw} `) }), 401, 'invalid_signature');
    expectError(await post(raw, { sign: 'x'.repeat(500) }), 401, 'invalid_signature');
  });

  test('malformed v2 messages → 400 invalid_json / invalid_request naming the fields', async () => {
    expectError(await post('{"version":"v2",'), 400, 'invalid_json');
    expectError(await post('[1,2]'), 400, 'invalid_request');
    const missing = await post({ version: 'v2' });
    expectError(missing, 400, 'invalid_request');
    const paths = (missing.body.error.details as Array<{ path: string }>).map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['userId', 'timestamp', 'bubbles', 'event']));
    expectError(await post({ ...v2('send', 'hi'), event: 'close' }), 400, 'invalid_request');
    expectError(await post({ ...v2('send', 'hi'), timestamp: '1614650142000' }), 400, 'invalid_request');
    expectError(await post({ ...v2('send', 'hi'), userId: '' }), 400, 'invalid_request');
    expectError(await post({ ...v2('send', 'hi'), userId: 'u'.repeat(257) }), 400, 'invalid_request');
    expectError(await post({ ...v2('send', 'hi'), version: 'v1' }), 400, 'invalid_request');
    expectError(await post({ ...v2('send', 'hi'), bubbles: 'hi' }), 400, 'invalid_request');
    const noText = await post(v2('send'));
    expectError(noText, 400, 'invalid_request');
    expect(noText.body.error.details[0].path).toBe('bubbles');
    expectError(await post({ ...v2('send'), bubbles: [{ type: 'image', data: { url: 'https://x' } }] }), 400, 'invalid_request');
    // Several text components: the last one is used (no error).
    expect(
      (
        await post({
          ...v2('send'),
          bubbles: [
            { type: 'text', data: { description: 'a' } },
            { type: 'text', data: { description: 'b' } },
          ],
        })
      ).status,
    ).toBe(200);
    const big = JSON.stringify({ ...v2('send', 'x'), pad: 'x'.repeat(300 * 1024) });
    expectError(await post(big), 413, 'payload_too_large');
  });

  test('a compressed body → 415 unsupported_media_type (the signature is over the bytes as sent), never a 500', async () => {
    const raw = JSON.stringify(v2('open'));
    for (const path of ['', '/message']) {
      for (const [encoding, body] of [
        ['gzip', gzipSync(raw)],
        ['deflate', Buffer.from('xx')],
        ['br', Buffer.from(raw)],
      ] as const) {
        const res = await fetch(`${app.url}/chatbot/${ID}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-encoding': encoding, 'X-NCP-CHATBOT_SIGNATURE': chatbotSignature(secret, body) },
          body,
        });
        expect([path, encoding, res.status]).toEqual([path, encoding, 415]);
        expect(await res.json()).toMatchObject({ error: { code: 'unsupported_media_type', message: 'Send the request body uncompressed: content-encoding is not supported here.' } });
      }
    }
    expect(
      (
        await request(app.url)
          .post(`/chatbot/${ID}`)
          .set({ 'content-type': 'application/json', 'content-encoding': 'identity', 'X-NCP-CHATBOT_SIGNATURE': chatbotSignature(secret, raw) })
          .send(raw)
      ).status,
    ).toBe(200);
  });

  test('unknown extension → 404 unknown_extension on every route', async () => {
    expectError(await post(v2('open'), { id: 'com.example.none' }), 404, 'unknown_extension');
    expectError(await request(app.url).get('/chatbot/com.example.none/keyboard'), 404, 'unknown_extension');
    expectError(await request(app.url).get('/chatbot/com.example.none?hub.mode=subscribe&hub.verify_token=x&hub.challenge=y'), 404, 'unknown_extension');
  });

  test('keyboard: GET and POST answer the text keyboard', async () => {
    for (const r of [await request(app.url).get(`/chatbot/${ID}/keyboard`), await request(app.url).post(`/chatbot/${ID}/keyboard`).send({ user_key: 'u' })]) {
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ type: 'text' });
    }
  });

  test('webhook verification: the challenge as text/plain when the token matches, else 403', async () => {
    const verify = (q: string) => request(app.url).get(`/chatbot/${ID}?${q}`);
    expectError(await verify('hub.mode=subscribe&hub.verify_token=anything&hub.challenge=123'), 403, 'forbidden'); // no token set
    await admin.put(`/extensions/${ID}/gateway`, { messengerVerifyToken: 'my-verify-token' });
    const ok = await verify('hub.mode=subscribe&hub.verify_token=my-verify-token&hub.challenge=1158201444');
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain/);
    expect(ok.text).toBe('1158201444');
    expectError(await verify('hub.mode=subscribe&hub.verify_token=wrong-token&hub.challenge=1'), 403, 'forbidden');
    expectError(await verify('hub.mode=unsubscribe&hub.verify_token=my-verify-token&hub.challenge=1'), 403, 'forbidden');
    expectError(await verify('hub.verify_token=my-verify-token&hub.challenge=1'), 403, 'forbidden');
    expectError(await verify('hub.mode=subscribe&hub.verify_token=my-verify-token'), 400, 'invalid_query');
  });

  test('API keys and plan apply as on voice; every response is counted by outcome class', async () => {
    const id = 'com.example.chatkeys';
    const sec = (await admin.post('/extensions', { extensionId: id, language: 'en' })).body.chatbotSecret as string;
    const key = (await admin.post(`/extensions/${id}/keys`, { name: 'web' })).body;
    const other = (await admin.post(`/extensions/${ID}/keys`, { name: 'not this one' })).body;
    await admin.put(`/extensions/${id}/gateway`, { requireApiKey: true, usagePlan: { dayQuota: 3, quotaCondition: ['2xx'] } });
    const send = (o: { apiKey?: string; sign?: string | false; body?: object }) => {
      const raw = JSON.stringify(o.body ?? v2('send', 'hi'));
      return post(raw, { id, ...(o.apiKey === undefined ? {} : { apiKey: o.apiKey }), sign: o.sign ?? chatbotSignature(sec, raw) });
    };

    expectError(await send({}), 401, 'missing_api_key');
    expectError(await send({ apiKey: 'bogus' }), 403, 'invalid_api_key');
    expectError(await send({ apiKey: other.primary.value }), 403, 'invalid_api_key');
    expectError(await request(app.url).get(`/chatbot/${id}/keyboard`), 401, 'missing_api_key');
    expect((await request(app.url).get(`/chatbot/${id}/keyboard`).set('x-ncp-apigw-api-key', key.primary.value)).status).toBe(200);

    // quotaCondition 2xx: the 4xx answers (bad signature, bad message) do not use up the quota.
    expectError(await send({ apiKey: key.primary.value, sign: 'bad' }), 401, 'invalid_signature');
    expectError(await send({ apiKey: key.primary.value, body: { event: 'send' } }), 400, 'invalid_request');
    expect((await send({ apiKey: key.primary.value })).status).toBe(200);
    expect((await send({ apiKey: key.secondary.value })).status).toBe(200);
    // Refunds of non-counted responses land with the next counter round trip: give them a moment.
    await new Promise((r) => setTimeout(r, 50));
    expectError(await send({ apiKey: key.primary.value }), 429, 'quota_exceeded');

    const usage = (await admin.get(`/extensions/${id}/usage`)).body;
    const today = usage.days[usage.days.length - 1];
    // The badly signed message is a refusal, not a call (see the voice suite).
    expect(today.byOutcome).toEqual({ '2xx': 3, '3xx': 0, '4xx': 1, '5xx': 0, unclassified: 0 });
    expect(today.calls).toBe(4);
    expect(today.byKey).toEqual({ [key.id]: 4 });
    expect(today.refused).toEqual({ missing_api_key: 2, invalid_api_key: 2, rate_limited: 0, quota_exceeded: 1, missing_signature: 0, invalid_signature: 1, application_id_mismatch: 0 });
    expect(usage.usagePlan.counted.day).toBe(3);
  });
});
