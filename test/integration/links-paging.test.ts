import request from 'supertest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { vaultOf } from '../helpers/vault.js';
import { send, signIn } from '../helpers/adminSession.js';
import { storeKinds } from '../helpers/stores.js';

// Linked users are listed a page at a time (admin API and admin pages), so an extension with many
// users does not answer with all of them at once.
describe.each(storeKinds)('linked users, page by page, on %s', (kind) => {
  const ID = 'com.example.paging';
  const USERS = 250;
  let app: TestApp;
  const userId = (i: number) => `user-${String(i).padStart(4, '0')}`;
  const links = (query = '') => request(app.url).get(`/api/v1/extensions/${ID}/links${query}`).set(app.adminHeaders);

  beforeAll(async () => {
    app = await startTestApp({ store: kind, label: 'links-paging' });
    expect((await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: ID, language: 'en' })).status).toBe(201);
    const vault = vaultOf(app);
    // In reverse, so the order of the list is the store's (user id order), not insertion order.
    for (let i = USERS - 1; i >= 0; i--) {
      await vault.link(ID, userId(i), { accessToken: `secret-access-${i}`, refreshToken: `secret-refresh-${i}` }, { expiresAt: Date.now() + 3_600_000, scope: 'points', tokenType: 'Bearer' });
    }
  });
  afterAll(async () => {
    await app.close();
  });

  test('the API gives 100 at a time with next; following next lists every user once, in user id order', async () => {
    const first = await links();
    expect(first.status).toBe(200);
    expect(first.body.links).toHaveLength(100);
    expect(first.body.next).toBe(userId(99));
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const res = await links(`?limit=60${after === null ? '' : `&after=${encodeURIComponent(after)}`}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.links.map((l: { userId: string }) => l.userId));
      after = res.body.next as string | null;
      pages++;
    } while (after !== null);
    expect(pages).toBe(5);
    expect(seen).toEqual(Array.from({ length: USERS }, (_, i) => userId(i)));
    expect((await links('?limit=1000')).body).toMatchObject({ next: null });
    // Never a token.
    expect(JSON.stringify(first.body)).not.toMatch(/secret-(access|refresh)/);
  });

  test('a bad limit or an unknown parameter is 400 invalid_query; an unknown extension 404', async () => {
    for (const q of ['?limit=0', '?limit=1001', '?limit=abc', '?limit=1.5', '?limit=-3', '?after=', '?page=2', '?limit=10&limit=20']) {
      const res = await links(q);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_query');
    }
    // Every wrong limit gets the one sentence (the deliveries list words its limit the same); an
    // unknown parameter is named as part of the query, not of a body.
    for (const q of ['?limit=0', '?limit=1001', '?limit=abc', '?limit=1.5', '?limit=10&limit=20']) {
      expect([q, (await links(q)).body.error.details]).toEqual([q, [{ path: 'limit', message: 'must be a whole number from 1 to 1000' }]]);
    }
    const unknown = await links('?page=2');
    expect(unknown.body.error.message).toBe('Invalid input: (query) unknown field(s): page.');
    expect(unknown.body.error.details).toEqual([{ path: '(query)', message: 'unknown field(s): page' }]);
    const missing = await request(app.url).get('/api/v1/extensions/com.example.nobody/links?limit=0').set(app.adminHeaders);
    expect(missing.status).toBe(404);
  });

  test('the admin users page shows 100 users and a link to the next 100', async () => {
    const { cookie } = await signIn(app);
    const first = await send(app, `/admin/extensions/${ID}/users`, { cookie });
    expect(first.status).toBe(200);
    expect(first.text.match(/data-user="/g)).toHaveLength(100);
    expect(first.text).toContain(`href="/admin/extensions/${ID}/users?after=${userId(99)}"`);
    const third = await send(app, `/admin/extensions/${ID}/users?after=${userId(199)}`, { cookie });
    expect(third.text.match(/data-user="/g)).toHaveLength(50);
    expect(third.text).toContain(`data-user="${userId(249)}"`);
    expect(third.text).not.toContain('id="next-users"');
    expect(third.text).toContain('First page');
  });
});
