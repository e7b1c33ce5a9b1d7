import request from 'supertest';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { send } from '../helpers/adminSession.js';

// Wrong admin tokens on the API and on the admin sign-in count together: neither door can be used
// to guess around the other's lockout.
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
    const form = await send(app, '/admin/login', { method: 'POST', cookie: (page.setCookies[0] ?? '').split(';')[0] ?? '', form: { _csrf: /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '', token: ADMIN_TOKEN, next: '/admin/extensions' } });
    expect(form.status).toBe(429);
  });
});
