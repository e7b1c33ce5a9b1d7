import { jest } from '@jest/globals';
import fc from 'fast-check';
import type { ServerResponse } from 'node:http';
import { adminApi } from '../helpers/adminApi.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { chatbotSignature } from '../helpers/cek.js';
import { checkProperty, coded, contentCoding, expectSane, hostileJsonText, oddString, pathsOf, rawClient, replaceAt } from '../helpers/fuzz.js';
import { startTarget, type TestTarget } from '../helpers/targets.js';

/**
 * Issue 13, item 3: the messenger door (`/chatbot/:extensionId`, CLOVA Chatbot custom channel v2)
 * under generated hostile input, signed with the Chatbot Secret so it reaches parsing and dispatch.
 */
const ID = 'com.example.fuzz_Chat';

/** Percent-encoded; a lone surrogate (which encodeURIComponent refuses) as the bytes a client might send anyway. */
const enc = (s: string): string => {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80';
  }
};

// Thousands of requests on a shared machine: room above jest's 30 s default.
jest.setTimeout(120_000);

describe('/chatbot/:extensionId never answers 5xx or a stack trace', () => {
  let app: TestApp;
  let target: TestTarget;
  let client: ReturnType<typeof rawClient>;
  let secret: string;
  let nextReply: (res: ServerResponse) => void = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"speech":"ok"}');

  const message = (event: 'send' | 'open', text = 'How many points?') => ({
    version: 'v2',
    userId: 'chat-user-1',
    userIp: '10.0.0.1',
    timestamp: 1614650142000,
    bubbles: [{ type: 'text', data: { description: text } }],
    event,
  });
  const signedPost = (raw: string | Buffer, path = `/chatbot/${ID}`, extra: Record<string, string> = {}) =>
    client.send({ method: 'POST', path, headers: { 'content-type': 'application/json', 'X-NCP-CHATBOT_SIGNATURE': chatbotSignature(secret, raw), ...extra }, body: raw });

  beforeAll(async () => {
    app = await startTestApp({ label: 'fuzz-chat' });
    target = await startTarget({ '/chat': (_call, res) => nextReply(res) });
    client = rawClient(app.url);
    const created = await adminApi(app).post('/extensions', { extensionId: ID, language: 'ja' });
    expect(created.status).toBe(201);
    secret = created.body.chatbotSecret as string;
    const action = await adminApi(app).put(`/extensions/${ID}/actions/chat`, { trigger: { type: 'IntentRequest', intent: 'Chatbot.Message' }, url: `${target.url}/chat`, timeoutMs: 2000 });
    expect(action.status).toBe(201);
  });
  afterAll(async () => {
    await client.close();
    await target.close();
    await app.close();
  });

  afterEach(async () => {
    expect((await client.send({ method: 'GET', path: '/healthz' })).status).toBe(200);
    expect((await signedPost(JSON.stringify(message('open')))).status).toBe(200);
  });

  test('a signed body of any JSON (deep, huge, odd unicode) or of bytes that are not UTF-8, on every message path', async () => {
    const arb = fc.record({
      path: fc.constantFrom('', '/message'),
      body: fc.oneof({ weight: 5, arbitrary: hostileJsonText }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2_000 }).map((b) => Buffer.from(b)) }),
    });
    await checkProperty('messenger: any body', arb, async (o) => expectSane(await signedPost(o.body, `/chatbot/${ID}${o.path}`), o), 400);
  });

  test('a valid signed message with any one field replaced by hostile JSON, or removed', async () => {
    const arb = fc.constantFrom<'send' | 'open'>('send', 'open').chain((event) => {
      const base = message(event);
      return fc.record({ base: fc.constant(base), path: fc.constantFrom(...pathsOf(base)), value: fc.option(hostileJsonText, { nil: undefined, freq: 8 }) });
    });
    await checkProperty('messenger: one field replaced', arb, async ({ base, path, value }) => expectSane(await signedPost(replaceAt(base, path, value)), { path, value }), 800);
  });

  test('any text the user writes, and any target reply, is answered 200 in the v2 shape', async () => {
    const arb = fc.record({
      text: fc.oneof(oddString(), fc.string({ maxLength: 2_000 })),
      status: fc.constantFrom(200, 200, 201, 302, 404, 500),
      contentType: fc.constantFrom('application/json', 'text/plain', 'text/plain; charset=shift_jis', 'application/problem+json', ''),
      reply: fc.oneof(
        hostileJsonText,
        oddString(),
        fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      ),
    });
    await checkProperty(
      'messenger: text and replies',
      arb,
      async (o) => {
        nextReply = (res) => res.writeHead(o.status, o.contentType === '' ? {} : { 'content-type': o.contentType }).end(o.status === 302 ? undefined : o.reply);
        const answer = await signedPost(JSON.stringify(message('send', o.text)));
        expectSane(answer, o);
        // A text of only spaces is not a message (400); everything else gets an answer.
        if (o.text.trim() !== '' && o.text.length <= 2_000 && answer.status !== 200) throw new Error(`answer ${answer.status}: ${answer.text.slice(0, 300)}`);
      },
      400,
    );
  });

  test('bad headers (content-encoding too), bad paths, other methods, webhook verification queries', async () => {
    const headerValue = fc.oneof(
      fc.string({ unit: 'binary-ascii', maxLength: 200 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
      fc.base64String({ maxLength: 100 }),
    );
    const pathPart = fc.oneof(
      fc.constantFrom('', '/message', '/keyboard', '/message/', '/x', '//'),
      fc.string({ unit: fc.constantFrom(..."aZ09._-~%/!$&'()*+,;=:@".split('')), maxLength: 40 }).map((s) => `/${s}`),
    );
    const query = fc.oneof(
      fc.constant(''),
      fc.record({ mode: oddString(), token: oddString(), challenge: oddString() }).map((q) => `?hub.mode=${enc(q.mode)}&hub.verify_token=${enc(q.token)}&hub.challenge=${enc(q.challenge)}`),
      fc.constantFrom('?hub.mode=subscribe&hub.mode=subscribe', '?hub.challenge[]=1', '?%', '?a=%E0%A4', `?hub.challenge=${'x'.repeat(5000)}`),
    );
    const arb = fc.record({
      id: fc.oneof(fc.constant(ID), fc.constantFrom('%', '%E0%A4', 'com..x', 'COM.EXAMPLE.FUZZ_CHAT', 'a'.repeat(400), 'com.example.unknown')),
      path: pathPart,
      query,
      method: fc.constantFrom('POST', 'POST', 'GET', 'PUT', 'DELETE', 'HEAD', 'OPTIONS'),
      signature: fc.option(headerValue, { nil: undefined }),
      apiKey: fc.option(headerValue, { nil: undefined }),
      contentType: fc.option(fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', ''), { nil: undefined }),
      body: fc.oneof(fc.constant(JSON.stringify(message('send'))), hostileJsonText),
      coding: fc.option(contentCoding, { nil: undefined, freq: 4 }),
    });
    await checkProperty(
      'messenger: headers and paths',
      arb,
      async (o) => {
        const headers: Record<string, string> = {};
        if (o.signature !== undefined) headers['X-NCP-CHATBOT_SIGNATURE'] = o.signature;
        if (o.apiKey !== undefined) headers['x-ncp-apigw-api-key'] = o.apiKey;
        if (o.contentType !== undefined) headers['content-type'] = o.contentType;
        const body = o.method === 'GET' || o.method === 'HEAD' ? undefined : coded(o.coding, o.body);
        expectSane(
          await client.send({ method: o.method, path: `/chatbot/${o.id}${o.path}${o.query}`, headers: { ...headers, ...body?.headers }, ...(body === undefined ? {} : { body: body.body }) }),
          o,
        );
      },
      400,
    );
  });
});
