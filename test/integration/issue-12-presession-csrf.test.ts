import request from 'supertest';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';

// Issue 12 item 3: the sign-in and pairing-code forms used unsigned double-submit cookies, so
// whoever could plant a cookie (a sibling subdomain) could pass them with a field of its choosing.
describe('pre-session forms carry signed CSRF tokens', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ label: 'presession-csrf' });
  });
  afterAll(async () => {
    await app.close();
  });
  const planted = 'P'.repeat(32);

  test('admin sign-in: a planted cookie echoed in the field is refused; the issued token works', async () => {
    const forged = await request(app.url).post('/admin/login').set('cookie', `cekgw_admin_login=${planted}`).type('form').send({ _csrf: planted, token: ADMIN_TOKEN });
    expect(forged.status).toBe(403);
    const form = await request(app.url).get('/admin/login');
    const cookie = (form.headers['set-cookie'] as unknown as string[])[0]?.split(';')[0] ?? '';
    const token = /name="_csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? '';
    expect(token).not.toBe(cookie.split('=')[1]);
    const ok = await request(app.url).post('/admin/login').set('cookie', cookie).type('form').send({ _csrf: token, token: ADMIN_TOKEN });
    expect(ok.status).toBe(303);
  });

  test('pairing-code form: a planted cookie echoed in the field is refused; the issued token is accepted', async () => {
    const forged = await request(app.url).post('/link').set('cookie', `cekgw_link_csrf=${planted}`).type('form').send({ csrf: planted, code: '123456789012' });
    expect(forged.status).toBe(403);
    expect(forged.text).toContain('This form expired');
    const form = await request(app.url).get('/link');
    const cookie = (form.headers['set-cookie'] as unknown as string[])[0]?.split(';')[0] ?? '';
    const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? '';
    const wrong = await request(app.url).post('/link').set('cookie', cookie).type('form').send({ csrf, code: '123456789012' });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('That code did not work');
  });
});
