import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import request from 'supertest';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { send } from '../helpers/adminSession.js';
import { storeKinds } from '../helpers/stores.js';
import { LoginLimiter, MAX_LOGIN_FAILURES } from '../../src/admin/adminAuth.js';

// Wrong admin tokens on the API and on the admin sign-in count together: neither door can be used
// to guess around the other's lockout.
const run = promisify(execFile);

describe('admin token guessing', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ label: 'admin-lockout' });
  });
  afterAll(async () => {
    await app.close();
  });
  const api = (auth?: string) => {
    const r = request(app.url).get('/api/v1/extensions');
    return auth === undefined ? r : r.set('authorization', auth);
  };

  test('ten wrong bearer tokens lock the address out of the API, even for the right token, and out of the sign-in page', async () => {
    // Requests without a token (or with another scheme) are not guesses.
    for (let i = 0; i < 12; i++) expect((await api()).status).toBe(401);
    expect((await api('Basic YWRtaW46eA==')).status).toBe(401);
    expect((await api(`Bearer ${ADMIN_TOKEN}`)).status).toBe(200);

    for (let i = 0; i < 10; i++) expect((await api(`Bearer wrong-${i}`)).status).toBe(401);
    const locked = await api(`Bearer ${ADMIN_TOKEN}`);
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe('rate_limited');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);

    const page = await send(app, '/admin/login');
    const form = await send(app, '/admin/login', {
      method: 'POST',
      cookie: (page.setCookies[0] ?? '').split(';')[0] ?? '',
      form: { _csrf: /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '', token: ADMIN_TOKEN, next: '/admin/extensions' },
    });
    expect(form.status).toBe(429);
  });
});

// Issue 13 item 8: the lockout was check, compare, record (three round trips), so parallel guesses
// all read "no failures" and were compared. The try is now counted before the compare.
describe.each(storeKinds)('admin token guessing in parallel (%s)', (kind) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ store: kind, label: `admin-lockout-par-${kind}` });
  });
  afterAll(async () => {
    await app.close();
  });

  test('200 parallel wrong tokens: exactly 10 are compared (401), the rest refused (429)', async () => {
    const statuses = await simultaneous(app.url, 200, (i) => `GET /api/v1/extensions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer wrong-${i}\r\nconnection: close\r\n\r\n`);
    expect(statuses.filter((s) => s === 401)).toHaveLength(MAX_LOGIN_FAILURES);
    expect(statuses.filter((s) => s === 429)).toHaveLength(200 - MAX_LOGIN_FAILURES);
    expect((await request(app.url).get('/api/v1/extensions').set('authorization', `Bearer ${ADMIN_TOKEN}`)).status).toBe(429);
  });

  test("unlocking (the CLI's unlock-admin) lets the right token in again, and right tokens never count", async () => {
    expect(await new LoginLimiter(app.store).resetAll()).toBe(1);
    for (let i = 0; i < 3 * MAX_LOGIN_FAILURES; i++) expect((await request(app.url).get('/api/v1/extensions').set('authorization', `Bearer ${ADMIN_TOKEN}`)).status).toBe(200);
    expect(await new LoginLimiter(app.store).lockedFor('127.0.0.1')).toBe(0);
  });
});

/**
 * Sends `n` requests at the same instant from another process: every socket is connected first,
 * then all requests are written in one tick, so the server sees them together (from this process,
 * or through supertest, the requests are spread out enough to hide a check-then-record race).
 * Resolves with the status codes.
 */
async function simultaneous(url: string, n: number, raw: (i: number) => string): Promise<number[]> {
  const requests = Array.from({ length: n }, (_, i) => raw(i));
  const script = `
    const net = require('node:net');
    const [port, requests] = JSON.parse(process.argv[1]);
    Promise.all(requests.map(() => new Promise((ok, ko) => { const s = net.connect(port, '127.0.0.1', () => ok(s)); s.on('error', ko); })))
      .then((socks) => Promise.all(socks.map((s, i) => new Promise((ok) => {
        let text = '';
        s.setEncoding('utf8');
        s.on('data', (c) => (text += c));
        s.on('end', () => ok(Number((/^HTTP\\/1\\.1 (\\d{3})/.exec(text) || [])[1] || 0)));
        s.on('error', () => ok(0));
        setImmediate(() => s.write(requests[i]));
      }))))
      .then((codes) => process.stdout.write(JSON.stringify(codes)));`;
  const { stdout } = await run(process.execPath, ['-e', script, JSON.stringify([Number(new URL(url).port), requests])]);
  return JSON.parse(stdout) as number[];
}
