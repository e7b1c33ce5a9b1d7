import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { adminApi } from '../helpers/adminApi.js';
import { send, signIn } from '../helpers/adminSession.js';

interface Check {
  name: string;
  expected: { status: number; code?: string };
  got: { status: number | null; code?: string; speech?: string };
  result: 'pass' | 'fail' | 'skipped';
  fix?: string;
}
interface Report {
  invokeUrl: string;
  ok: boolean;
  checks: Check[];
  notes: string[];
}

const byName = (r: Report): Record<string, Check> => Object.fromEntries(r.checks.map((c) => [c.name, c]));

/** A reverse proxy on loopback in front of the app that drops the Chatbot Secret header: a broken proxy. */
async function startStrippingProxy(): Promise<{ server: Server; url: string; setTarget: (port: number) => void }> {
  let targetPort = 0;
  const server = createServer((req, res) => {
    const headers = { ...req.headers };
    delete headers['x-ncp-chatbot_signature'];
    const upstream = httpRequest({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, setTarget: (port) => (targetPort = port) };
}

describe('verification self-test: POST /api/v1/extensions/:id/self-test', () => {
  let app: TestApp;
  const ID = 'com.example.selftest';

  beforeAll(async () => {
    app = await startTestApp({ label: 'self-test', realPublicUrl: true });
    expect((await adminApi(app).post('/extensions', { extensionId: ID, language: 'en' })).status).toBe(201);
  });
  afterAll(async () => {
    await app.close();
  });

  test('through PUBLIC_URL, all five checks get what they expect', async () => {
    const res = await adminApi(app).post(`/extensions/${ID}/self-test`, {});
    expect(res.status).toBe(200);
    const report = res.body as Report;
    expect(report.invokeUrl).toBe(`${app.url}/cek/${ID}`);
    const c = byName(report);
    expect(Object.keys(c)).toEqual(['unsigned', 'wrong_signature', 'wrong_application_id', 'oversized', 'signed_launch']);
    expect(c['unsigned']?.got).toMatchObject({ status: 401, code: 'missing_signature' });
    expect(c['wrong_signature']?.got).toMatchObject({ status: 401, code: 'invalid_signature' });
    expect(c['wrong_application_id']?.got).toMatchObject({ status: 403, code: 'application_id_mismatch' });
    expect(c['oversized']?.got).toMatchObject({ status: 413, code: 'payload_too_large' });
    expect(c['signed_launch']?.got).toMatchObject({ status: 200, speech: 'Hello. What can I do for you?' });
    expect(report.checks.every((k) => k.result === 'pass')).toBe(true);
    expect(report.ok).toBe(true);
  });

  test('a mode that needs CLOVA’s own signature skips the two signed checks and says why', async () => {
    expect((await adminApi(app).patch(`/extensions/${ID}`, { verification: 'cekSignature' })).status).toBe(200);
    try {
      const report = (await adminApi(app).post(`/extensions/${ID}/self-test`, {})).body as Report;
      const c = byName(report);
      expect([c['wrong_application_id']?.result, c['signed_launch']?.result]).toEqual(['skipped', 'skipped']);
      expect(c['unsigned']?.result).toBe('pass');
      expect(c['wrong_signature']?.result).toBe('pass');
      expect(report.ok).toBe(true);
      expect(report.notes.join(' ')).toMatch(/SignatureCEK/);
    } finally {
      await adminApi(app).patch(`/extensions/${ID}`, { verification: 'any' });
    }
  });

  test('with an API key required, every call is expected to stop at the gateway', async () => {
    expect((await adminApi(app).put(`/extensions/${ID}/gateway`, { requireApiKey: true })).status).toBe(200);
    try {
      const report = (await adminApi(app).post(`/extensions/${ID}/self-test`, {})).body as Report;
      for (const check of report.checks) expect([check.name, check.got.status, check.got.code, check.result]).toEqual([check.name, 401, 'missing_api_key', 'pass']);
      expect(report.notes.join(' ')).toMatch(/API key/);
    } finally {
      await adminApi(app).put(`/extensions/${ID}/gateway`, { requireApiKey: false });
    }
  });

  test('the setup page runs it and shows each check with its result', async () => {
    const { cookie, csrf } = await signIn(app);
    const setup = await send(app, `/admin/extensions/${ID}`, { cookie });
    expect(setup.text).toContain(`action="/admin/extensions/${ID}/self-test"`);
    const page = await send(app, `/admin/extensions/${ID}/self-test`, { cookie, form: { _csrf: csrf } });
    expect(page.status).toBe(200);
    expect(page.text).toContain('Every check got what it expected.');
    for (const name of ['unsigned', 'wrong_signature', 'wrong_application_id', 'oversized', 'signed_launch']) expect(page.text).toContain(`id="check-${name}"`);
    expect(page.text).toContain('application_id_mismatch');
    const refused = await send(app, `/admin/extensions/${ID}/self-test`, { cookie, form: {} });
    expect(refused.status).toBe(403);
  });

  test('an unknown extension is 404', async () => {
    const res = await adminApi(app).post('/extensions/com.example.nothere/self-test', {});
    expect([res.status, res.body.error.code]).toEqual([404, 'unknown_extension']);
  });
});

describe('verification self-test behind a proxy that drops the signature header', () => {
  let app: TestApp;
  let proxy: Awaited<ReturnType<typeof startStrippingProxy>>;
  const ID = 'com.example.proxied';

  beforeAll(async () => {
    proxy = await startStrippingProxy();
    app = await startTestApp({ label: 'self-test-proxy', env: { PUBLIC_URL: proxy.url } });
    proxy.setTarget(Number(new URL(app.url).port));
    expect((await adminApi(app).post('/extensions', { extensionId: ID, language: 'en' })).status).toBe(201);
  });
  afterAll(async () => {
    await app.close();
    await new Promise<void>((resolve) => proxy.server.close(() => resolve()));
  });

  test('the signed checks fail, each with what to fix', async () => {
    const report = (await adminApi(app).post(`/extensions/${ID}/self-test`, {})).body as Report;
    expect(report.invokeUrl).toBe(`${proxy.url}/cek/${ID}`);
    const c = byName(report);
    expect(c['unsigned']?.result).toBe('pass');
    expect(c['signed_launch']).toMatchObject({ result: 'fail', got: { status: 401, code: 'missing_signature' } });
    expect(c['signed_launch']?.fix).toMatch(/proxy/);
    expect(report.ok).toBe(false);
  });
});
