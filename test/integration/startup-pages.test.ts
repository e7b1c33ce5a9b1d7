import { startTestApp, type TestApp } from '../helpers/app.js';

describe('what a newcomer sees first (development)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ label: 'startup-pages' });
  });
  afterAll(async () => {
    await app.close();
  });

  test('GET / redirects to the admin pages', async () => {
    const res = await fetch(`${app.url}/`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/admin');
  });

  test('the sign-in page says where the generated development token is', async () => {
    const html = await (await fetch(`${app.url}/admin/login`)).text();
    expect(html).toContain('In development it is in <code>data/dev-secrets.json</code>');
  });
});
