import { jest } from '@jest/globals';
import fc from 'fast-check';
import type { ServerResponse } from 'node:http';
import { adminApi } from '../helpers/adminApi.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { chatbotSignature, eventRequest, intentRequest, launchRequest, sessionEndedRequest } from '../helpers/cek.js';
import { checkProperty, coded, contentCoding, expectSane, hostileJsonText, nestedText, oddString, pathsOf, rawClient, replaceAt } from '../helpers/fuzz.js';
import { startTarget, type TestTarget } from '../helpers/targets.js';

/**
 * Issue 13, item 3: the voice door (`POST /cek/:extensionId`) under generated hostile input. Bodies
 * are signed with the test's CLOVA key, so the input reaches past verification into parsing,
 * dispatch, action forwarding and the answer; targets' replies are generated too.
 */
const ID = 'com.example.fuzzVoice';

// Thousands of requests on a shared machine: room above jest's 30 s default.
jest.setTimeout(120_000);

describe('POST /cek/:extensionId never answers 5xx or a stack trace', () => {
  let app: TestApp;
  let target: TestTarget;
  let client: ReturnType<typeof rawClient>;
  let secret: string;
  let nextReply: (res: ServerResponse) => void = (res) => res.end();

  const bases = (): unknown[] => [
    launchRequest({ extensionId: ID, sessionAttributes: { step: 1, list: [1, 'a'] } }),
    intentRequest({ extensionId: ID, intent: 'Fuzz', slots: { n: { name: 'n', value: '3' } }, accessToken: 'tok' }),
    intentRequest({ extensionId: ID, intent: 'Unmapped' }),
    sessionEndedRequest({ extensionId: ID }),
    eventRequest({ extensionId: ID, namespace: 'ClovaSkill', name: 'SkillDisabled', payload: { a: [1] } }),
  ];
  const signedPost = (raw: string | Buffer, extra: Record<string, string> = {}, path = `/cek/${ID}`) =>
    client.send({ method: 'POST', path, headers: { 'content-type': 'application/json', SignatureCEK: app.signer.sign(raw), ...extra }, body: raw });

  beforeAll(async () => {
    app = await startTestApp({ label: 'fuzz-cek' });
    target = await startTarget({ '/fuzz': (_call, res) => nextReply(res) });
    client = rawClient(app.url);
    const created = await adminApi(app).post('/extensions', { extensionId: ID, language: 'en' });
    expect(created.status).toBe(201);
    secret = created.body.chatbotSecret as string;
    const action = await adminApi(app).put(`/extensions/${ID}/actions/fuzz`, { trigger: { type: 'IntentRequest', intent: 'Fuzz' }, url: `${target.url}/fuzz`, timeoutMs: 2000 });
    expect(action.status).toBe(201);
  });
  afterAll(async () => {
    await client.close();
    await target.close();
    await app.close();
  });

  afterEach(async () => {
    // Still alive and still answering genuine requests.
    expect((await client.send({ method: 'GET', path: '/healthz' })).status).toBe(200);
    const ok = await signedPost(JSON.stringify(launchRequest({ extensionId: ID })));
    expect(ok.status).toBe(200);
  });

  test('a signed body of any JSON (deep, huge, odd unicode) or of bytes that are not UTF-8', async () => {
    const body = fc.oneof({ weight: 5, arbitrary: hostileJsonText }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2_000 }).map((b) => Buffer.from(b)) });
    await checkProperty('cek: any body', body, async (raw) => expectSane(await signedPost(raw), raw), 400);
  });

  test('a valid signed request with any one field replaced by hostile JSON, or removed', async () => {
    const arb = fc.nat({ max: 4 }).chain((b) => {
      const base = bases()[b];
      const paths = pathsOf(base);
      return fc.record({ base: fc.constant(base), path: fc.constantFrom(...paths), value: fc.option(hostileJsonText, { nil: undefined, freq: 8 }) });
    });
    nextReply = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"speech":"fine"}');
    await checkProperty(
      'cek: one field replaced',
      arb,
      async ({ base, path, value }) => {
        const raw = replaceAt(base, path, value);
        expectSane(await signedPost(raw), { path, value });
      },
      800,
    );
  });

  test('bad headers (content-encoding too) and bad paths', async () => {
    const headerValue = fc.oneof(
      fc.string({ unit: 'binary-ascii', maxLength: 300 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
      fc.base64String({ maxLength: 400 }),
    );
    const pathPart = fc.oneof(
      fc.string({ unit: fc.constantFrom(..."aZ09._-~%/!$&'()*+,;=:@?".split('')), maxLength: 80 }),
      fc.constantFrom('%', '%E0%A4', '%2e%2e', '%00', '..', '/', '//', `${ID}/`, `${ID}?x=1`, `${ID}//`, `${ID.toUpperCase()}`, 'a'.repeat(3000), `${ID}%2F`),
    );
    const arb = fc.record({
      prefix: fc.constantFrom('/cek/', '/cek/', '/cek/', '/CEK/', '/Cek/'),
      path: pathPart,
      signature: fc.option(headerValue, { nil: undefined }),
      chatbot: fc.option(headerValue, { nil: undefined }),
      contentType: fc.option(fc.constantFrom('application/json', 'text/plain', 'application/json; charset=latin1', 'multipart/form-data; boundary=x', '*/*', ''), { nil: undefined }),
      body: fc.oneof(fc.constant(JSON.stringify(launchRequest({ extensionId: ID }))), hostileJsonText),
      coding: fc.option(contentCoding, { nil: undefined, freq: 4 }),
      method: fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'),
    });
    await checkProperty(
      'cek: headers and paths',
      arb,
      async (o) => {
        const headers: Record<string, string> = {};
        if (o.signature !== undefined) headers['SignatureCEK'] = o.signature;
        if (o.chatbot !== undefined) headers['X-NCP-CHATBOT_SIGNATURE'] = o.chatbot;
        if (o.contentType !== undefined) headers['content-type'] = o.contentType;
        const body = o.method === 'GET' ? undefined : coded(o.coding, o.body);
        expectSane(await client.send({ method: o.method, path: `${o.prefix}${o.path}`, headers: { ...headers, ...body?.headers }, ...(body === undefined ? {} : { body: body.body }) }), o);
      },
      400,
    );
  });

  test('the Chatbot Secret door: a body signed with the Chatbot Secret reaches parsing too', async () => {
    await checkProperty(
      'cek: chatbot-secret signed',
      hostileJsonText,
      async (raw) =>
        expectSane(
          await client.send({ method: 'POST', path: `/cek/${ID}`, headers: { 'content-type': 'application/json', 'X-NCP-CHATBOT_SIGNATURE': chatbotSignature(secret, raw) }, body: raw }),
          raw,
        ),
      200,
    );
  });

  test('any target reply is answered 200 with a CEK answer (the reply or the spoken error)', async () => {
    const cekShaped = fc
      .record({
        path: fc.constantFrom(
          ...pathsOf({
            version: '1.0',
            sessionAttributes: { a: 1 },
            response: {
              outputSpeech: { type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'en', value: 'hi' } },
              card: {},
              directives: [{ header: { namespace: 'A', name: 'B' }, payload: {} }],
              shouldEndSession: false,
              reprompt: { outputSpeech: { type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'en', value: 'again' } } },
            },
          }),
        ),
        value: hostileJsonText,
      })
      .map(({ path, value }) =>
        replaceAt(
          {
            version: '1.0',
            sessionAttributes: { a: 1 },
            response: {
              outputSpeech: { type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'en', value: 'hi' } },
              card: {},
              directives: [{ header: { namespace: 'A', name: 'B' }, payload: {} }],
              shouldEndSession: false,
              reprompt: { outputSpeech: { type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'en', value: 'again' } } },
            },
          },
          path,
          value,
        ),
      );
    const speechShaped = fc
      .record({ speech: fc.oneof(oddString(), hostileJsonText), endSession: hostileJsonText, attrs: hostileJsonText })
      .map((o) => `{"speech":${JSON.stringify(o.speech)},"endSession":${o.endSession},"sessionAttributes":${o.attrs}}`);
    const arb = fc.record({
      status: fc.constantFrom(200, 200, 200, 201, 204, 301, 400, 401, 404, 500, 503),
      contentType: fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'application/json; charset=nonsense',
        'application/vnd.x+json',
        'text/plain',
        'text/plain; charset=euc-kr',
        'text/html',
        '',
      ),
      body: fc.oneof(
        cekShaped,
        speechShaped,
        hostileJsonText,
        fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.from(b)),
      ),
    });
    await checkProperty(
      'cek: target replies',
      arb,
      async (o) => {
        nextReply = (res) => {
          const headers: Record<string, string> = o.contentType === '' ? {} : { 'content-type': o.contentType };
          res.writeHead(o.status, headers).end(o.status === 204 || o.status === 301 ? undefined : o.body);
        };
        const answer = await signedPost(JSON.stringify(intentRequest({ extensionId: ID, intent: 'Fuzz' })));
        expectSane(answer, o);
        if (answer.status !== 200) throw new Error(`target reply gave ${answer.status}: ${answer.text.slice(0, 300)}`);
        const body = JSON.parse(answer.text) as { response?: { shouldEndSession?: unknown } };
        expect(typeof body.response?.shouldEndSession).toBe('boolean');
      },
      400,
    );
  });

  test('the sessionAttributes of issue 13 (8,000 levels, 16 KB) in every request type', async () => {
    for (const base of bases()) {
      for (const kind of ['object', 'array', 'mixed'] as const) {
        const raw = replaceAt(base, ['session', 'sessionAttributes'], `{"x":${nestedText(8_000, kind)}}`);
        expectSane(await signedPost(raw), { base, kind });
      }
    }
  });
});
