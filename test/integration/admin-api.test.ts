import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import request from 'supertest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { stalledBody } from '../helpers/stalledBody.js';
import { storeKinds } from '../helpers/stores.js';

describe.each(storeKinds)('admin API on %s', (kind) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ store: kind, label: 'admin' });
  });
  afterAll(async () => {
    await app.close();
  });

  describe('is protected', () => {
    const routes: Array<[string, string]> = [
      ['post', '/api/v1/extensions'],
      ['get', '/api/v1/extensions'],
      ['get', '/api/v1/extensions/com.example.x'],
      ['patch', '/api/v1/extensions/com.example.x'],
      ['delete', '/api/v1/extensions/com.example.x'],
      ['post', '/api/v1/extensions/com.example.x/secret'],
      ['get', '/api/v1/extensions/NOT VALID'],
    ];
    test.each(routes)('%s %s → 401 without a token, with a wrong one, with another scheme', async (method, path) => {
      for (const auth of [undefined, 'Bearer wrong-token', `Basic ${Buffer.from('admin:x').toString('base64')}`]) {
        const r = request(app.url)[method as 'get'](path);
        if (auth !== undefined) void r.set('authorization', auth);
        const res = await r;
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('unauthorized');
        expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      }
    });
  });

  test('create → 201 with invokeUrl and the Chatbot Secret, shown only there', async () => {
    const res = await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: 'com.example.points', name: 'Points', language: 'en' });
    expect(res.status).toBe(201);
    expect(res.headers['location']).toBe('/api/v1/extensions/com.example.points');
    expect(res.body).toMatchObject({
      extensionId: 'com.example.points',
      name: 'Points',
      language: 'en',
      verification: 'any',
      invokeUrl: 'http://127.0.0.1:3000/cek/com.example.points',
    });
    expect(typeof res.body.chatbotSecret).toBe('string');
    expect(Buffer.from(res.body.chatbotSecret, 'base64')).toHaveLength(32);
    expect(res.body.messages.welcome).toBe('Hello. What can I do for you?');

    const got = await request(app.url).get('/api/v1/extensions/com.example.points').set(app.adminHeaders);
    expect(got.status).toBe(200);
    expect(got.body.chatbotSecret).toBeUndefined();
    expect(JSON.stringify(got.body)).not.toContain(res.body.chatbotSecret);
    const list = await request(app.url).get('/api/v1/extensions').set(app.adminHeaders);
    expect(list.body.extensions.map((e: { extensionId: string }) => e.extensionId)).toContain('com.example.points');
    expect(JSON.stringify(list.body)).not.toContain(res.body.chatbotSecret);

    // Stored sealed: the raw store value does not contain the secret.
    const raw = await app.store.get('ext:com.example.points');
    expect(raw).not.toBeNull();
    expect(raw).not.toContain(res.body.chatbotSecret);
  });

  test('default messages follow the language; custom ones stay; null resets one', async () => {
    const created = await request(app.url)
      .post('/api/v1/extensions')
      .set(app.adminHeaders)
      .send({ extensionId: 'com.example.msgs', messages: { fallback: 'Say that again?' } });
    expect(created.body.language).toBe('ko');
    expect(created.body.messages.welcome).toBe('안녕하세요. 무엇을 도와드릴까요?');
    expect(created.body.messages.fallback).toBe('Say that again?');
    const ja = await request(app.url).patch('/api/v1/extensions/com.example.msgs').set(app.adminHeaders).send({ language: 'ja' });
    expect(ja.body.messages.welcome).toBe('こんにちは。何をお手伝いしましょうか？');
    expect(ja.body.messages.fallback).toBe('Say that again?');
    const reset = await request(app.url)
      .patch('/api/v1/extensions/com.example.msgs')
      .set(app.adminHeaders)
      .send({ messages: { fallback: null }, name: 'Renamed', verification: 'both' });
    expect(reset.body.messages.fallback).toBe('すみません、よく聞き取れませんでした。もう一度お願いします。');
    expect(reset.body.name).toBe('Renamed');
    expect(reset.body.verification).toBe('both');
  });

  test('invalid extension IDs → 400 invalid_extension_id', async () => {
    for (const extensionId of ['nodots', 'com..example', 'com.example.', '.com.example', 'com.exa mple', `com.${'a'.repeat(260)}`, 'com.example/x', 'com.exa+mple', 'com.example!']) {
      const res = await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_extension_id');
    }
    const get = await request(app.url).get('/api/v1/extensions/NOT_VALID').set(app.adminHeaders);
    expect(get.status).toBe(400);
    expect(get.body.error.code).toBe('invalid_extension_id');
  });

  test('duplicate → 409 extension_exists, and the first secret still works', async () => {
    const first = await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: 'com.example.dup' });
    expect(first.status).toBe(201);
    const again = await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: 'com.example.dup' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('extension_exists');
    expect(again.body.chatbotSecret).toBeUndefined();
  });

  test('bad bodies → 400 invalid_body naming the field; malformed JSON → 400 invalid_json', async () => {
    const bad = await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: 'com.example.bad', language: 'fr', surprise: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_body');
    const paths = bad.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['language']));
    expect(JSON.stringify(bad.body.error.details)).toMatch(/surprise/);

    const missing = await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({});
    expect(missing.status).toBe(400);
    expect(missing.body.error.details[0].path).toBe('extensionId');

    const form = await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).type('form').send('extensionId=com.example.form');
    expect(form.status).toBe(415);
    expect(form.body.error.code).toBe('unsupported_media_type');

    const json = await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).set('content-type', 'application/json').send('{"extensionId":');
    expect(json.status).toBe(400);
    expect(json.body.error.code).toBe('invalid_json');
    expect(JSON.stringify(json.body)).not.toMatch(/at JSON\.parse|node_modules/);

    // Valid JSON that is not an object: told so, not "not valid JSON".
    for (const scalar of ['null', '123', '"com.example.x"']) {
      const res = await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).set('content-type', 'application/json').send(scalar);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_body');
      expect(res.body.error.message).toMatch(/must be a JSON object/);
    }

    // Control characters (NUL, ESC, BEL) would end up raw in pages, logs and speech.
    for (const [body, path] of [
      [{ name: 'Points\u0000' }, 'name'],
      [{ name: 'two\nlines' }, 'name'],
      [{ messages: { welcome: 'Hi \u001b[31mthere' } }, 'messages.welcome'],
      [{ messages: { error: 'beep\u0007' } }, 'messages.error'],
    ] as const) {
      const res = await request(app.url).patch('/api/v1/extensions/com.example.points').set(app.adminHeaders).send(body);
      expect(res.status).toBe(400);
      expect(res.body.error.details).toEqual([{ path, message: 'must not contain control characters' }]);
    }
    expect(
      (
        await request(app.url)
          .patch('/api/v1/extensions/com.example.points')
          .set(app.adminHeaders)
          .send({ messages: { fallback: 'Line one.\nLine two.' } })
      ).status,
    ).toBe(200);

    const empty = await request(app.url)
      .patch('/api/v1/extensions/com.example.points')
      .set(app.adminHeaders)
      .send({ messages: { welcome: '' } });
    expect(empty.status).toBe(400);
    expect(empty.body.error.details[0].path).toBe('messages.welcome');
  });

  test('compressed bodies: gzip, deflate and br are read; one that does not decompress is 400 invalid_request, another coding 415', async () => {
    const post = (encoding: string, body: Buffer, headers: Record<string, string> = app.adminHeaders) =>
      fetch(`${app.url}/api/v1/extensions`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'content-encoding': encoding }, body });
    const json = (id: string) => Buffer.from(JSON.stringify({ extensionId: id }));
    for (const [encoding, compress] of [
      ['gzip', gzipSync],
      ['deflate', deflateSync],
      ['br', brotliCompressSync],
    ] as const) {
      const created = await post(encoding, compress(json(`com.example.${encoding}`)));
      expect([encoding, created.status]).toEqual([encoding, 201]);
      // Not compressed as said, or cut short ('incorrect header check', 'unexpected end of file', Z_BUF_ERROR).
      for (const corrupt of [Buffer.from('xx'), json('com.example.plain'), compress(json('com.example.cut')).subarray(0, 12)]) {
        const res = await post(encoding, corrupt);
        expect([encoding, res.status, res.headers.get('content-type')]).toEqual([encoding, 400, 'application/json; charset=utf-8']);
        expect(await res.json()).toMatchObject({ error: { code: 'invalid_request', message: 'The request body could not be read: it does not decode as its content-encoding says.' } });
      }
    }
    for (const encoding of ['compress', 'gzip, br', 'x-nonsense']) {
      const res = await post(encoding, Buffer.from('xx'));
      expect([encoding, res.status]).toEqual([encoding, 415]);
      expect(await res.json()).toMatchObject({ error: { code: 'unsupported_media_type', message: 'Unsupported content-encoding: send the body uncompressed, or as gzip, deflate or br.' } });
    }
    // The token is checked before the body is read.
    expect((await post('deflate', Buffer.from('xx'), {})).status).toBe(401);
    expect((await request(app.url).get('/api/v1/extensions/com.example.gzip').set(app.adminHeaders)).status).toBe(200);
  });

  test('unknown extension → 404 unknown_extension on every route', async () => {
    for (const [method, path] of [
      ['get', '/api/v1/extensions/com.example.none'],
      ['patch', '/api/v1/extensions/com.example.none'],
      ['delete', '/api/v1/extensions/com.example.none'],
      ['post', '/api/v1/extensions/com.example.none/secret'],
    ] as const) {
      const res = await request(app.url)[method](path).set(app.adminHeaders).send({});
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('unknown_extension');
    }
  });

  test('secret rotation returns a new secret and reports the grace period', async () => {
    await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: 'com.example.rot' });
    const rot = await request(app.url).post('/api/v1/extensions/com.example.rot/secret').set(app.adminHeaders).send({ graceSeconds: 600 });
    expect(rot.status).toBe(200);
    expect(typeof rot.body.chatbotSecret).toBe('string');
    expect(Date.parse(rot.body.secret.previousExpiresAt) - Date.now()).toBeGreaterThan(590_000);
    const noGrace = await request(app.url).post('/api/v1/extensions/com.example.rot/secret').set(app.adminHeaders).send({ graceSeconds: 0 });
    expect(noGrace.body.secret.previousExpiresAt).toBeNull();
    const bad = await request(app.url).post('/api/v1/extensions/com.example.rot/secret').set(app.adminHeaders).send({ graceSeconds: -1 });
    expect(bad.status).toBe(400);
  });

  test('delete → 204, then 404', async () => {
    await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: 'com.example.gone' });
    const del = await request(app.url).delete('/api/v1/extensions/com.example.gone').set(app.adminHeaders);
    expect(del.status).toBe(204);
    const again = await request(app.url).get('/api/v1/extensions/com.example.gone').set(app.adminHeaders);
    expect(again.status).toBe(404);
  });

  test('unknown routes → 404 JSON; the process keeps serving', async () => {
    const res = await request(app.url).get('/api/v1/nope').set(app.adminHeaders);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    expect((await request(app.url).get('/healthz')).status).toBe(200);
  });

  test('a known path with a method it does not take → 405 method_not_allowed with Allow; OPTIONS and HEAD as Express answers them', async () => {
    await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: 'com.example.methods' }).expect(201);
    const cases: Array<[string, string, string]> = [
      ['put', '/api/v1/extensions', 'GET, HEAD, POST'],
      ['post', '/api/v1/extensions/com.example.methods', 'DELETE, GET, HEAD, PATCH'],
      ['get', '/api/v1/extensions/com.example.methods/secret', 'POST'],
      ['delete', '/api/v1/extensions/com.example.methods/self-test', 'POST'],
      ['put', '/api/v1/extensions/com.example.methods/forwarding-secret', 'DELETE, GET, HEAD, POST'],
      ['patch', '/api/v1/extensions/com.example.methods/webhooks/wh_AAAAAAAAAAAAAAAA/test', 'POST'],
      ['head', '/api/v1/extensions/com.example.methods/test-users/someone', 'DELETE'],
    ];
    for (const [method, path, allow] of cases) {
      const res = await request(app.url)[method as 'get'](path).set(app.adminHeaders);
      expect([method, path, res.status, res.headers['allow']]).toEqual([method, path, 405, allow]);
      if (method !== 'head') {
        expect(res.body.error.code).toBe('method_not_allowed');
        expect(res.body.error.message).toBe(`${method.toUpperCase()} is not allowed on ${path}: it takes ${allow}.`);
      }
    }
    // The 405 comes before the path parameters are checked, and never without the token.
    expect((await request(app.url).post('/api/v1/extensions/NOT%20AN%20ID').set(app.adminHeaders)).status).toBe(405);
    expect((await request(app.url).post('/api/v1/extensions/com.example.methods')).status).toBe(401);
    // Unknown paths stay 404, whatever the method.
    for (const [method, path] of [
      ['put', '/api/v1/nope'],
      ['post', '/api/v1/extensions/com.example.methods/nope'],
      ['get', '/api/v1/extensions/com.example.methods/secret/more'],
    ]) {
      const res = await request(app.url)[method as 'get'](path!).set(app.adminHeaders);
      expect([path, res.status, res.body.error.code, res.headers['allow']]).toEqual([path, 404, 'not_found', undefined]);
    }
    // HEAD of a GET route is the GET without a body; OPTIONS lists the same methods as the 405.
    const head = await request(app.url).head('/api/v1/extensions/com.example.methods').set(app.adminHeaders);
    expect([head.status, head.headers['content-type']]).toEqual([200, 'application/json; charset=utf-8']);
    const options = await request(app.url).options('/api/v1/extensions/com.example.methods').set(app.adminHeaders);
    expect([options.status, options.headers['allow']]).toEqual([200, 'DELETE, GET, HEAD, PATCH']);
    await request(app.url).delete('/api/v1/extensions/com.example.methods').set(app.adminHeaders).expect(204);
  });
});

describe('admin API: a request body that never finishes', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ label: 'admin-stall' });
  });
  afterAll(async () => {
    await app.close();
  });

  // Node's own limit would hold it for 5 minutes, then answer a bare 408.
  test('is 408 request_timeout after 10 s, and the connection is closed', async () => {
    const answer = await stalledBody(app.url, { path: '/api/v1/extensions', headers: { ...app.adminHeaders, 'content-type': 'application/json' } });
    expect([answer.status, answer.headers['connection'], answer.headers['content-type']]).toEqual([408, 'close', 'application/json; charset=utf-8']);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'request_timeout', message: 'The request body did not arrive within 10 s.' } });
    expect((await app.services.registry.list()).length).toBe(0);
    expect((await request(app.url).get('/api/v1/extensions').set(app.adminHeaders)).status).toBe(200);
  }, 30_000);
});
