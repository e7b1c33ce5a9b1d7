import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { chatbotSignature, eventRequest, intentRequest, launchRequest, sessionEndedRequest } from '../helpers/cek.js';
import { storeKinds } from '../helpers/stores.js';

describe.each(storeKinds)('POST /cek/:extensionId on %s', (kind) => {
  let app: TestApp;
  let secret: string;
  const ID = 'com.example.points';

  const post = (body: string | object, headers: Record<string, string> = {}, id = ID) => {
    const raw = typeof body === 'string' ? body : JSON.stringify(body);
    return request(app.url).post(`/cek/${id}`).set('content-type', 'application/json;charset-UTF-8').set(headers).send(raw);
  };
  const signed = (body: string | object, id = ID) => {
    const raw = typeof body === 'string' ? body : JSON.stringify(body);
    return post(raw, { SignatureCEK: app.signer.sign(raw) }, id);
  };

  beforeAll(async () => {
    app = await startTestApp({ store: kind, label: 'cek' });
    const res = await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: ID, language: 'en' });
    secret = res.body.chatbotSecret as string;
    await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: 'com.example.other' });
  });
  afterAll(async () => {
    await app.close();
  });

  test('a signed LaunchRequest hears the welcome message, in the full CEK response shape', async () => {
    const res = await signed(launchRequest({ extensionId: ID, sessionAttributes: { step: 1 } }));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['x-request-id']).toBeTruthy();
    expect(res.body).toEqual({
      version: '1.0',
      sessionAttributes: { step: 1 },
      response: {
        outputSpeech: { type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'en', value: 'Hello. What can I do for you?' } },
        card: {},
        directives: [],
        shouldEndSession: false,
      },
    });
  });

  test('the Chatbot Secret alone is accepted (HMAC of the raw body)', async () => {
    const raw = JSON.stringify(launchRequest({ extensionId: ID }));
    const res = await post(raw, { 'X-NCP-CHATBOT_SIGNATURE': chatbotSignature(secret, raw) });
    expect(res.status).toBe(200);
    expect(res.body.response.outputSpeech.values.value).toBe('Hello. What can I do for you?');
  });

  test('an unmapped intent hears the fallback; SessionEnded and events get an empty acknowledgement', async () => {
    const intent = await signed(intentRequest({ extensionId: ID, intent: 'CheckPoints', slots: null, version: '0.1.0' }));
    expect(intent.status).toBe(200);
    expect(intent.body.version).toBe('0.1.0');
    expect(intent.body.response.outputSpeech.values.value).toBe("Sorry, I didn't catch that. Could you say it again?");
    expect(intent.body.response.shouldEndSession).toBe(false);

    const ended = await signed(sessionEndedRequest({ extensionId: ID }));
    expect(ended.body).toEqual({ version: '1.0', sessionAttributes: {}, response: { outputSpeech: {}, card: {}, directives: [], shouldEndSession: true } });

    const disabled = await signed(eventRequest({ extensionId: ID, namespace: 'ClovaSkill', name: 'SkillDisabled', nullSession: true }));
    expect(disabled.status).toBe(200);
    expect(disabled.body.response).toEqual({ outputSpeech: {}, card: {}, directives: [], shouldEndSession: true });
  });

  test('real-traffic quirks are accepted: session null, no accessToken, slots null, extra fields, placeholders', async () => {
    const body = {
      ...launchRequest({ extensionId: ID }),
      session: null,
      unknownTopLevel: { x: [1, 2] },
    };
    body.request['intent'] = { intent: '', name: '', slots: null };
    body.request['event'] = { namespace: '', name: '', payload: null };
    const res = await signed(body);
    expect(res.status).toBe(200);
    expect(res.body.sessionAttributes).toEqual({});
  });

  test('the rotated-out secret works during its grace period only', async () => {
    const rot = await request(app.url).post(`/api/v1/extensions/${ID}/secret`).set(app.adminHeaders).send({ graceSeconds: 300 });
    const raw = JSON.stringify(launchRequest({ extensionId: ID }));
    expect((await post(raw, { 'X-NCP-CHATBOT_SIGNATURE': chatbotSignature(secret, raw) })).status).toBe(200);
    expect((await post(raw, { 'X-NCP-CHATBOT_SIGNATURE': chatbotSignature(rot.body.chatbotSecret, raw) })).status).toBe(200);
    // A second rotation right after (a double click) keeps both earlier secrets in their grace period.
    const again = await request(app.url).post(`/api/v1/extensions/${ID}/secret`).set(app.adminHeaders).send({ graceSeconds: 300 });
    for (const s of [secret, rot.body.chatbotSecret as string, again.body.chatbotSecret as string]) {
      expect((await post(raw, { 'X-NCP-CHATBOT_SIGNATURE': chatbotSignature(s, raw) })).status).toBe(200);
    }
    // graceSeconds 0 ends every earlier secret at once.
    const rot2 = await request(app.url).post(`/api/v1/extensions/${ID}/secret`).set(app.adminHeaders).send({ graceSeconds: 0 });
    for (const s of [secret, rot.body.chatbotSecret as string, again.body.chatbotSecret as string]) {
      const old = await post(raw, { 'X-NCP-CHATBOT_SIGNATURE': chatbotSignature(s, raw) });
      expect(old.status).toBe(401);
      expect(old.body.error.code).toBe('invalid_signature');
    }
    secret = rot2.body.chatbotSecret as string;
    expect((await post(raw, { 'X-NCP-CHATBOT_SIGNATURE': chatbotSignature(secret, raw) })).status).toBe(200);
  });

  describe('bad input gets its status and code, a JSON body without internals, and the process keeps serving', () => {
    const expectError = (res: request.Response, status: number, code: string) => {
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body.error.code).toBe(code);
      expect(typeof res.body.error.message).toBe('string');
      expect(JSON.stringify(res.body)).not.toMatch(/\bat \w+ \(|node_modules|\/src\//);
    };

    test('malformed JSON → 400 invalid_json', async () => {
      expectError(await signed('{"version":"1.0",'), 400, 'invalid_json');
    });
    test('a JSON array or string → 400 invalid_request', async () => {
      expectError(await signed('[{"version":"1.0"}]'), 400, 'invalid_request');
      expectError(await signed('"LaunchRequest"'), 400, 'invalid_request');
    });
    test('missing request.type → 400 invalid_request', async () => {
      const body = launchRequest({ extensionId: ID });
      expectError(await signed({ ...body, request: { requestId: 'x' } }), 400, 'invalid_request');
    });
    test('an unknown request type → 400 invalid_request', async () => {
      const body = launchRequest({ extensionId: ID });
      const res = await signed({ ...body, request: { type: 'PizzaRequest' } });
      expectError(res, 400, 'invalid_request');
      expect(res.body.error.message).toContain('PizzaRequest');
    });
    test('a body over 256 KiB → 413 payload_too_large (declared and streamed)', async () => {
      const big = JSON.stringify({ ...launchRequest({ extensionId: ID }), pad: 'x'.repeat(300 * 1024) });
      expectError(await signed(big), 413, 'payload_too_large');
      // Chunked, no content-length: refused while streaming.
      const status = await new Promise<number>((resolve, reject) => {
        const u = new URL(`${app.url}/cek/${ID}`);
        const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'transfer-encoding': 'chunked', SignatureCEK: 'x' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        const chunk = 'x'.repeat(64 * 1024);
        for (let i = 0; i < 6; i++) req.write(chunk);
        req.end();
      });
      expect(status).toBe(413);
    });
    test('missing signature → 401 missing_signature; wrong one → 401 invalid_signature', async () => {
      const raw = JSON.stringify(launchRequest({ extensionId: ID }));
      expectError(await post(raw), 401, 'missing_signature');
      expectError(await post(raw, { SignatureCEK: app.signer.sign('{}') }), 401, 'invalid_signature');
      expectError(await post(raw, { SignatureCEK: 'bm90IGEgc2lnbmF0dXJl' }), 401, 'invalid_signature');
      expectError(await post(raw, { 'X-NCP-CHATBOT_SIGNATURE': chatbotSignature('wrong-secret', raw) }), 401, 'invalid_signature');
    });
    test('a signature over different whitespace → 401 invalid_signature', async () => {
      const obj = launchRequest({ extensionId: ID });
      const compact = JSON.stringify(obj);
      const pretty = JSON.stringify(obj, null, 2);
      expectError(await post(pretty, { SignatureCEK: app.signer.sign(compact) }), 401, 'invalid_signature');
    });
    test('an applicationId of another extension → 403 application_id_mismatch', async () => {
      expectError(await signed(launchRequest({ extensionId: 'com.example.other' })), 403, 'application_id_mismatch');
    });
    test('an unknown extension → 404 unknown_extension; a malformed ID → 400 invalid_extension_id, the rule in words, the path not echoed', async () => {
      const body = launchRequest({ extensionId: 'com.example.missing' });
      expectError(await signed(body, 'com.example.missing'), 404, 'unknown_extension');
      const malformed = await signed(body, 'com.%ED%95%9C.x');
      expectError(malformed, 400, 'invalid_extension_id');
      expect(JSON.stringify(malformed.body)).not.toContain('%ED');
    });
    test('GET on the CEK route → 405 with Allow: POST; the path in another case is no invoke URL: 404 for POST and GET alike', async () => {
      const res = await request(app.url).get(`/cek/${ID}`);
      expectError(res, 405, 'method_not_allowed');
      expect(res.headers['allow']).toBe('POST');
      const raw = JSON.stringify(launchRequest({ extensionId: ID }));
      for (const path of [`/CEK/${ID}`, `/Cek/${ID}`]) {
        for (const wrongCase of [await request(app.url).post(path).set('SignatureCEK', app.signer.sign(raw)).send(raw), await request(app.url).get(path)]) {
          expectError(wrongCase, 404, 'not_found');
          expect(wrongCase.headers['allow']).toBeUndefined();
        }
      }
    });
    test('a compressed body → 415 unsupported_media_type (signatures are over the bytes as sent); identity is no compression', async () => {
      const raw = JSON.stringify(launchRequest({ extensionId: ID }));
      for (const [encoding, body] of [
        ['gzip', gzipSync(raw)],
        ['deflate', Buffer.from('xx')],
        ['br', Buffer.from(raw)],
      ] as const) {
        const res = await fetch(`${app.url}/cek/${ID}`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': encoding, SignatureCEK: app.signer.sign(body) }, body });
        expect([encoding, res.status]).toEqual([encoding, 415]);
        expect(await res.json()).toMatchObject({ error: { code: 'unsupported_media_type', message: 'Send the request body uncompressed: content-encoding is not supported here.' } });
      }
      expect((await post(raw, { SignatureCEK: app.signer.sign(raw), 'content-encoding': 'identity' })).status).toBe(200);
    });
    test('clients that go away mid-request: each request is finished (counted as aborted), none hangs', async () => {
      const { connect } = await import('node:net');
      const port = Number(new URL(app.url).port);
      const raw = JSON.stringify(launchRequest({ extensionId: ID }));
      const metric = async () => {
        const text = (await request(app.url).get('/metrics')).text;
        const m = /cekgw_http_requests_total\{route="\/cek\/:extensionId",method="POST",status="400",outcome="invalid_request"\} (\d+)/.exec(text);
        return m === null ? 0 : Number(m[1]);
      };
      const before = await metric();
      const head = `POST /cek/${ID} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(raw)}\r\n\r\n`;
      const send = (bytes: string) =>
        new Promise<void>((resolve) => {
          const socket = connect(port, '127.0.0.1', () => {
            socket.write(bytes, () => {
              socket.destroy();
              resolve();
            });
          });
        });
      // Bytes and the end of the client's side in one packet: the request and its end reach the
      // service in the same turn, before the handler has attached its listeners.
      const ended: Array<ReturnType<typeof connect>> = [];
      const sendAndEnd = (bytes: string) =>
        new Promise<void>((resolve) => {
          const socket = connect(port, '127.0.0.1', () => socket.end(bytes, () => resolve()));
          socket.on('error', () => undefined);
          ended.push(socket);
        });
      // Half a body, then gone; only the headers, then gone; five at once.
      await Promise.all([send(head + raw.slice(0, 20)), send(head), ...Array.from({ length: 5 }, () => send(head + raw.slice(0, 50)))]);
      await Promise.all([sendAndEnd(head + raw.slice(0, 20)), sendAndEnd(head)]);
      let counted = 0;
      for (let i = 0; i < 50 && counted < 9; i++) {
        await new Promise((r) => setTimeout(r, 20));
        counted = (await metric()) - before;
      }
      for (const socket of ended) socket.destroy();
      expect(counted).toBe(9);
      expect((await signed(launchRequest({ extensionId: ID }))).status).toBe(200);
    });
    test('the invoke URL with a trailing slash is the same URL; malformed percent-encoding elsewhere is 400, not 500', async () => {
      expect((await signed(launchRequest({ extensionId: ID }), `${ID}/`)).status).toBe(200);
      for (const path of ['/chatbot/%', '/cek/%', '/chatbot/%E0%A4%A']) {
        const res = await request(app.url).get(path);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('invalid_request');
      }
      const api = await request(app.url).get('/api/v1/extensions/%').set(app.adminHeaders);
      expect(api.status).toBe(400);
      expect(api.body.error.code).toBe('invalid_request');
    });
    test('after all of that the service still answers', async () => {
      expect((await request(app.url).get('/healthz')).status).toBe(200);
      expect((await signed(launchRequest({ extensionId: ID }))).status).toBe(200);
    });
  });

  test('verification "cekSignature" refuses a Chatbot-Secret-only request', async () => {
    await request(app.url).patch(`/api/v1/extensions/${ID}`).set(app.adminHeaders).send({ verification: 'cekSignature' });
    const raw = JSON.stringify(launchRequest({ extensionId: ID }));
    const res = await post(raw, { 'X-NCP-CHATBOT_SIGNATURE': chatbotSignature(secret, raw) });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('missing_signature');
    expect((await post(raw, { SignatureCEK: app.signer.sign(raw) })).status).toBe(200);
    await request(app.url).patch(`/api/v1/extensions/${ID}`).set(app.adminHeaders).send({ verification: 'any' });
  });

  test('metrics count CEK requests by type and outcome', async () => {
    const res = await request(app.url).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/cekgw_cek_requests_total\{type="LaunchRequest",outcome="welcome"\} \d+/);
    expect(res.text).toMatch(/cekgw_http_requests_total\{route="\/cek\/:extensionId",method="POST",status="401",outcome="invalid_signature"\} \d+/);
  });
});

describe('the genuine CLOVA request through the endpoint, with the bundled key', () => {
  const genuine = JSON.parse(readFileSync(new URL('../fixtures/genuine-signed-request.json', import.meta.url), 'utf8')) as {
    body: string;
    signatureCEK: string;
    applicationId: string;
  };
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ label: 'genuine', env: { CEK_PUBLIC_KEY: '' } });
    await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: genuine.applicationId, language: 'ja' });
  });
  afterAll(async () => {
    await app.close();
  });

  test('verifies, and fails after a one-byte change', async () => {
    const ok = await request(app.url).post(`/cek/${genuine.applicationId}`).set('SignatureCEK', genuine.signatureCEK).send(genuine.body);
    expect(ok.status).toBe(200);
    expect(ok.body.response.outputSpeech.values).toEqual({ type: 'PlainText', lang: 'ja', value: 'こんにちは。何をお手伝いしましょうか？' });
    const changed = genuine.body.replace('"new":true', '"new":truf');
    const bad = await request(app.url).post(`/cek/${genuine.applicationId}`).set('SignatureCEK', genuine.signatureCEK).send(changed);
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe('invalid_signature');
  });
});
