import { EXTENSION_ID_RULE } from '../../src/extensions/model.js';
import { send, signIn } from '../helpers/adminSession.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { rawClient } from '../helpers/fuzz.js';

/**
 * Issue 12, "types at the edge": every admin route checks its `:id` once, at the router, before its
 * handler reads the body or the store; a malformed ID is always 400 `invalid_extension_id` with the
 * rule in words, whatever else the request holds.
 */
const API_ROUTES: Array<[string, string]> = [
  ['GET', '/extensions/:id'],
  ['PATCH', '/extensions/:id'],
  ['DELETE', '/extensions/:id'],
  ['POST', '/extensions/:id/secret'],
  ['GET', '/extensions/:id/actions'],
  ['PUT', '/extensions/:id/actions/Points'],
  ['DELETE', '/extensions/:id/actions/Points'],
  ['GET', '/extensions/:id/account-linking'],
  ['PUT', '/extensions/:id/account-linking'],
  ['GET', '/extensions/:id/links'],
  ['DELETE', '/extensions/:id/links/user-1'],
  ['POST', '/extensions/:id/link-tickets'],
  ['GET', '/extensions/:id/gateway'],
  ['PUT', '/extensions/:id/gateway'],
  ['GET', '/extensions/:id/keys'],
  ['POST', '/extensions/:id/keys'],
  ['PATCH', '/extensions/:id/keys/key-1'],
  ['POST', '/extensions/:id/keys/key-1/regenerate'],
  ['DELETE', '/extensions/:id/keys/key-1'],
  ['GET', '/extensions/:id/usage'],
  ['GET', '/extensions/:id/swagger.json'],
];
const PAGES = ['', '/delete', '/actions', '/actions/new', '/actions/Points/edit', '/gateway', '/gateway/keys/key-1', '/swagger.json', '/users'];
const BAD_IDS = ['com..points', 'points', 'com.poi%20nts', `com.${'a'.repeat(252)}`];

describe('admin path parameters are checked at the router', () => {
  let app: TestApp;
  let client: ReturnType<typeof rawClient>;
  beforeAll(async () => {
    app = await startTestApp({ label: 'path-params' });
    client = rawClient(app.url);
  });
  afterAll(async () => {
    await client.close();
    await app.close();
  });

  test('the admin API: a malformed :id is 400 invalid_extension_id on every route, even with a bad body', async () => {
    for (const [method, template] of API_ROUTES) {
      for (const id of BAD_IDS) {
        const withBody = method !== 'GET' && method !== 'DELETE';
        const res = await client.send({
          method,
          path: `/api/v1${template.replace(':id', id)}`,
          headers: { ...app.adminHeaders, ...(withBody ? { 'content-type': 'application/json' } : {}) },
          ...(withBody ? { body: '{"unknownField":1}' } : {}),
        });
        const body = JSON.parse(res.text) as { error: { code: string; message: string } };
        expect({ method, template, id, status: res.status, code: body.error.code, message: body.error.message }).toEqual({
          method,
          template,
          id,
          status: 400,
          code: 'invalid_extension_id',
          message: EXTENSION_ID_RULE,
        });
      }
    }
  });

  test('the admin pages: a malformed :id is a 400 page that says the rule', async () => {
    const { cookie } = await signIn(app);
    for (const suffix of PAGES) {
      const res = await send(app, `/admin/extensions/com..points${suffix}`, { cookie });
      expect({ suffix, status: res.status }).toEqual({ suffix, status: 400 });
      expect(res.text).toContain('no empty part');
    }
  });
});
