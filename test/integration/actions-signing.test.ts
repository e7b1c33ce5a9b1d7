import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { ForwardSigner } from '../../src/actions/signing.js';
import { resealStore } from '../../src/sealedRecords.js';
import { Keyring } from '../../src/security/keyring.js';
import request from 'supertest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { adminApi } from '../helpers/adminApi.js';
import { chatbotSignature, intentRequest } from '../helpers/cek.js';
import { reply, startTarget, type TargetCall, type TestTarget } from '../helpers/targets.js';

/**
 * Signed forwarding: a target on loopback verifies every forward with the Standard Webhooks
 * reference implementation (the `standardwebhooks` package), and refuses what this gateway did not sign.
 */
describe('action-method forwards carry a Standard Webhooks signature', () => {
  let app: TestApp;
  let target: TestTarget;
  let chatbotSecret: string;
  const ID = 'com.example.signed';

  const verify = (secret: string, call: TargetCall): unknown =>
    new Webhook(secret).verify(call.body.toString('utf8'), {
      'webhook-id': String(call.headers['webhook-id']),
      'webhook-timestamp': String(call.headers['webhook-timestamp']),
      'webhook-signature': String(call.headers['webhook-signature']),
    });

  const say = async (intent: string, requestId: string) => {
    const raw = JSON.stringify(intentRequest({ extensionId: ID, intent }));
    return request(app.url).post(`/cek/${ID}`).set('content-type', 'application/json').set('x-request-id', requestId).set('X-NCP-CHATBOT_SIGNATURE', chatbotSignature(chatbotSecret, raw)).send(raw);
  };

  beforeAll(async () => {
    app = await startTestApp({ label: 'signing' });
    target = await startTarget({ '/hello': reply.json({ speech: 'Hi from the target.' }) });
    chatbotSecret = (await adminApi(app).post('/extensions', { extensionId: ID, language: 'en' })).body.chatbotSecret as string;
    const put = await adminApi(app).put(`/extensions/${ID}/actions/Hello`, { trigger: { type: 'IntentRequest', intent: 'Hello' }, url: `${target.url}/hello`, useOAuthToken: false });
    expect(put.status).toBe(201);
  });
  afterAll(async () => {
    await app.close();
    await target.close();
  });

  test('without a forwarding secret nothing is signed, and the API says so', async () => {
    expect((await adminApi(app).get(`/extensions/${ID}/forwarding-secret`)).body).toEqual({ configured: false, createdAt: null, previousExpiresAt: null });
    expect((await say('Hello', 'req-unsigned')).status).toBe(200);
    expect(target.calls.at(-1)?.headers['webhook-signature']).toBeUndefined();
  });

  test('with one, every forward verifies with the reference implementation; id = request id; a forged body does not', async () => {
    const created = await adminApi(app).post(`/extensions/${ID}/forwarding-secret`, {});
    expect(created.status).toBe(200);
    const secret = created.body.secret as string;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.body.configured).toBe(true);
    // Shown once: the read never carries it.
    expect(JSON.stringify((await adminApi(app).get(`/extensions/${ID}/forwarding-secret`)).body)).not.toContain(secret.slice(6, 20));

    const res = await say('Hello', 'req-signed-1');
    expect(res.status).toBe(200);
    expect(res.body.response.outputSpeech.values.value).toBe('Hi from the target.');
    const call = target.calls.at(-1)!;
    expect(call.headers['webhook-id']).toBe('req-signed-1');
    expect(Math.abs(Number(call.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    expect(verify(secret, call)).toEqual(JSON.parse(call.body.toString('utf8')));

    const forged = { ...call, body: Buffer.from(call.body.toString('utf8').replace('Hello', 'Hellp')) };
    expect(() => verify(secret, forged)).toThrow();
    expect(() => verify(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, call)).toThrow();
  });

  test('after a rotation both secrets verify during the grace period; graceSeconds 0 ends the old one', async () => {
    const first = (await adminApi(app).post(`/extensions/${ID}/forwarding-secret`, { graceSeconds: 0 })).body.secret as string;
    const rotated = await adminApi(app).post(`/extensions/${ID}/forwarding-secret`, { graceSeconds: 3600 });
    const second = rotated.body.secret as string;
    expect(rotated.body.previousExpiresAt).not.toBeNull();
    await say('Hello', 'req-rotated');
    const call = target.calls.at(-1)!;
    expect(String(call.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verify(second, call)).toBeDefined();
    expect(verify(first, call)).toBeDefined();

    const third = (await adminApi(app).post(`/extensions/${ID}/forwarding-secret`, { graceSeconds: 0 })).body.secret as string;
    await say('Hello', 'req-cut');
    const cut = target.calls.at(-1)!;
    expect(verify(third, cut)).toBeDefined();
    expect(() => verify(second, cut)).toThrow();
  });

  test("the README's Node and Python verifiers accept a real forward and refuse a changed one", async () => {
    const secret = (await adminApi(app).post(`/extensions/${ID}/forwarding-secret`, { graceSeconds: 0 })).body.secret as string;
    await say('Hello', 'req-readme');
    const call = target.calls.at(-1)!;
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const block = (marker: string, lang: string): string => {
      const m = new RegExp(`<!-- verifier:${marker} -->\\n\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(readme);
      if (m?.[1] === undefined) throw new Error(`README has no ${marker} verifier`);
      return m[1];
    };
    const dir = mkdtempSync(path.join(tmpdir(), 'cek-verifiers-'));
    try {
      const headers = JSON.stringify({ 'webhook-id': call.headers['webhook-id'], 'webhook-timestamp': call.headers['webhook-timestamp'], 'webhook-signature': call.headers['webhook-signature'] });
      writeFileSync(path.join(dir, 'body.bin'), call.body);
      writeFileSync(path.join(dir, 'changed.bin'), Buffer.concat([call.body, Buffer.from(' ')]));
      writeFileSync(
        path.join(dir, 'verify.mjs'),
        `${block('node', 'js')}\nimport { readFileSync } from 'node:fs';\nconsole.log(verifyForward(process.argv[2], JSON.parse(process.argv[3]), readFileSync(process.argv[4])));\n`,
      );
      writeFileSync(path.join(dir, 'verify.py'), `${block('python', 'python')}\nimport json, sys\nprint(verify_forward(sys.argv[1], json.loads(sys.argv[2]), open(sys.argv[3], 'rb').read()))\n`);
      const run = (cmd: string, file: string, body: string): string => execFileSync(cmd, [path.join(dir, file), secret, headers, path.join(dir, body)], { encoding: 'utf8' }).trim();
      expect([run('node', 'verify.mjs', 'body.bin'), run('node', 'verify.mjs', 'changed.bin')]).toEqual(['true', 'false']);
      expect([run('python3', 'verify.py', 'body.bin'), run('python3', 'verify.py', 'changed.bin')]).toEqual(['True', 'False']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('removing the secret stops signing; bad input is a clear 400', async () => {
    expect((await adminApi(app).post(`/extensions/${ID}/forwarding-secret`, { graceSeconds: -1 })).status).toBe(400);
    expect((await adminApi(app).delete(`/extensions/${ID}/forwarding-secret`)).status).toBe(204);
    await say('Hello', 'req-removed');
    expect(target.calls.at(-1)?.headers['webhook-signature']).toBeUndefined();
    expect((await adminApi(app).get('/extensions/com.example.none/forwarding-secret')).status).toBe(404);
  });

  test('npm run reseal re-seals the forwarding secret: a keyring with only the new key still signs', async () => {
    const secret = (await adminApi(app).post(`/extensions/${ID}/forwarding-secret`, { graceSeconds: 0 })).body.secret as string;
    const newKey = randomBytes(32);
    const report = await resealStore(app.store, new Keyring([newKey, ...app.config.encryptionKeys]));
    expect(report).toBeDefined();
    const record = await app.services.registry.get(ID);
    const headers: string[] = [];
    expect(new ForwardSigner(new Keyring([newKey])).appendHeaders(headers, record, 'msg-1', Buffer.from('{"a":1}'))).toBe(true);
    const h = Object.fromEntries([0, 2, 4].map((i) => [headers[i] ?? '', headers[i + 1] ?? '']));
    expect(new Webhook(secret).verify('{"a":1}', h)).toEqual({ a: 1 });
  });
});
