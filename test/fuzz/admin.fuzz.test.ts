import { jest } from '@jest/globals';
import fc from 'fast-check';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { adminApi } from '../helpers/adminApi.js';
import { checkProperty, coded, contentCoding, expectSane, hostileJsonText, oddString, pathsOf, rawClient, replaceAt } from '../helpers/fuzz.js';

/**
 * Issue 13, item 3: the admin API (`/api/v1`) under generated hostile input, with the admin token so
 * it reaches validation and the store: bodies, path parameters, query strings, headers.
 */
const ID = 'com.example.fuzzAdmin';

// Thousands of requests on a shared machine: room above jest's 30 s default.
jest.setTimeout(120_000);

/** A valid body for each JSON route (the base that one field at a time is replaced in). */
const BODIES: Array<{ method: string; path: string; body: unknown }> = [
  {
    method: 'POST',
    path: '/extensions',
    body: { extensionId: 'com.example.fuzzNew', name: 'Fuzz', language: 'en', verification: 'both', messages: { welcome: 'Hi.', fallback: 'Again?' }, allowPrivateTargets: false },
  },
  { method: 'PATCH', path: `/extensions/${ID}`, body: { name: 'Renamed', language: 'ja', verification: 'any', messages: { welcome: null, error: 'Oops.' }, allowPrivateTargets: true } },
  { method: 'POST', path: `/extensions/${ID}/secret`, body: { graceSeconds: 60 } },
  {
    method: 'PUT',
    path: `/extensions/${ID}/actions/Check.Points`,
    body: {
      trigger: { type: 'IntentRequest', intent: 'CheckPoints' },
      url: 'http://127.0.0.1:9/clova',
      useOAuthToken: true,
      tokenSource: 'linked',
      timeoutMs: 3000,
      headers: { 'x-api-version': '2' },
    },
  },
  {
    method: 'PUT',
    path: `/extensions/${ID}/account-linking`,
    body: {
      enabled: true,
      loginUrl: 'https://login.example.com/authorize',
      tokenUrl: 'https://login.example.com/token',
      clientId: 'client-1',
      clientSecret: 'secret-1',
      clientAuth: 'body',
      scopes: ['openid'],
    },
  },
  { method: 'POST', path: `/extensions/${ID}/link-tickets`, body: { userId: 'user-1' } },
  {
    method: 'PUT',
    path: `/extensions/${ID}/gateway`,
    body: { requireApiKey: true, usagePlan: { rateRps: 10, dayQuota: 100, monthQuota: 1000, quotaCondition: ['4xx', '2xx'] }, messengerVerifyToken: 'verify-me-please', freeMonthlyCalls: 5 },
  },
  { method: 'POST', path: `/extensions/${ID}/keys`, body: { name: 'mobile app', usagePlan: { dayQuota: 10 } } },
];

const ROUTES: Array<[string, string]> = [
  ['GET', '/extensions'],
  ['POST', '/extensions'],
  ['GET', '/extensions/:id'],
  ['PATCH', '/extensions/:id'],
  ['DELETE', '/extensions/:id'],
  ['POST', '/extensions/:id/secret'],
  ['POST', '/extensions/:id/test-requests'],
  ['GET', '/extensions/:id/actions'],
  ['PUT', '/extensions/:id/actions/:name'],
  ['DELETE', '/extensions/:id/actions/:name'],
  ['GET', '/extensions/:id/account-linking'],
  ['PUT', '/extensions/:id/account-linking'],
  ['GET', '/extensions/:id/links'],
  ['DELETE', '/extensions/:id/links/:userId'],
  ['POST', '/extensions/:id/test-users'],
  ['DELETE', '/extensions/:id/test-users/:userId'],
  ['POST', '/extensions/:id/link-tickets'],
  ['GET', '/extensions/:id/gateway'],
  ['PUT', '/extensions/:id/gateway'],
  ['GET', '/extensions/:id/keys'],
  ['POST', '/extensions/:id/keys'],
  ['PATCH', '/extensions/:id/keys/:keyId'],
  ['POST', '/extensions/:id/keys/:keyId/regenerate'],
  ['DELETE', '/extensions/:id/keys/:keyId'],
  ['GET', '/extensions/:id/usage'],
  ['GET', '/extensions/:id/swagger.json'],
];

describe('/api/v1 never answers 5xx or a stack trace', () => {
  let app: TestApp;
  let client: ReturnType<typeof rawClient>;
  let keyId: string;
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const json = (method: string, path: string, raw: string) => client.send({ method, path: `/api/v1${path}`, headers: { ...auth, 'content-type': 'application/json' }, body: raw });

  beforeAll(async () => {
    app = await startTestApp({ label: 'fuzz-admin' });
    client = rawClient(app.url);
    expect((await adminApi(app).post('/extensions', { extensionId: ID, language: 'en' })).status).toBe(201);
    const key = await adminApi(app).post(`/extensions/${ID}/keys`, { name: 'k' });
    expect(key.status).toBe(201);
    keyId = key.body.id as string;
  });
  afterAll(async () => {
    await client.close();
    await app.close();
  });

  afterEach(async () => {
    expect((await client.send({ method: 'GET', path: '/healthz' })).status).toBe(200);
  });
  const stillServing = async () => expect((await adminApi(app).get(`/extensions/${ID}`)).status).toBe(200);

  test('every JSON route with one field of a valid body replaced by hostile JSON, or removed', async () => {
    const arb = fc
      .constantFrom(...BODIES)
      .chain((route) => fc.record({ route: fc.constant(route), path: fc.constantFrom(...pathsOf(route.body)), value: fc.option(hostileJsonText, { nil: undefined, freq: 8 }) }));
    await checkProperty(
      'admin: one field replaced',
      arb,
      async ({ route, path, value }) => {
        // Creating under the same ID again is a 409; deleting it keeps the next create meaningful.
        const answer = await json(route.method, route.path, replaceAt(route.body, path, value));
        expectSane(answer, { route: route.path, path, value });
        if (route.method === 'POST' && route.path === '/extensions' && answer.status === 201) await adminApi(app).delete(`/extensions/${JSON.parse(answer.text).extensionId as string}`);
      },
      500,
    );
    await stillServing();
  });

  test('any body (in any content-encoding), any path parameter, any query string, on every route', async () => {
    const param = fc.oneof(
      fc.constantFrom(ID, 'com.example.none', '%', '%E0%A4', '%00', '..', 'a'.repeat(300), 'com..x', '__proto__', 'constructor', 'toString', '%2F', 'x%20y'),
      oddString().map((s) => {
        try {
          return encodeURIComponent(s);
        } catch {
          return '%ED%A0%80';
        }
      }),
    );
    const arb = fc.record({
      route: fc.constantFrom(...ROUTES),
      id: param,
      name: param,
      userId: param,
      keyId: fc.oneof(fc.constant('KEY'), param),
      query: fc.oneof(
        fc.constant(''),
        fc.constantFrom('?limit=0', '?limit=-1', '?limit=1e9', '?limit=abc', '?after=%', '?after=%E0', '?limit=1&limit=2', '?from=x&to=y', `?after=${'z'.repeat(3000)}`, '?__proto__[x]=1'),
      ),
      body: fc.option(hostileJsonText, { nil: undefined }),
      contentType: fc.constantFrom('application/json', 'application/json', 'application/merge-patch+json', 'text/plain', 'application/json; charset=latin1', 'application/x-www-form-urlencoded'),
      coding: fc.option(contentCoding, { nil: undefined, freq: 4 }),
    });
    await checkProperty(
      'admin: any request',
      arb,
      async (o) => {
        const [method, template] = o.route;
        const path = template
          .replace(':id', o.id)
          .replace(':name', o.name)
          .replace(':userId', o.userId)
          .replace(':keyId', o.keyId === 'KEY' ? keyId : o.keyId);
        // Deleting the extension under test would leave nothing for the other runs to reach. The
        // client resolves dot segments (`…/links/..` is `…/extensions/<id>/`), so compare resolved paths.
        if (method === 'DELETE' && new URL(`/api/v1${path}`, 'http://x').pathname.replace(/\/$/, '') === `/api/v1/extensions/${ID}`) return;
        const body = method === 'GET' || o.body === undefined ? undefined : coded(o.coding, o.body);
        const answer = await client.send({
          method,
          path: `/api/v1${path}${o.query}`,
          headers: { ...auth, ...(body === undefined ? {} : { 'content-type': o.contentType, ...body.headers }) },
          ...(body === undefined ? {} : { body: body.body }),
        });
        expectSane(answer, o);
      },
      500,
    );
    await stillServing();
  });

  // Last: wrong tokens lock this client out of the admin API for a while.
  test('bad authorization headers are refused the same way, never with a 5xx', async () => {
    const header = fc.string({ unit: 'binary-ascii', maxLength: 300 }).map((s) => s.replace(/[^\x20-\x7e]/g, ''));
    const arb = fc.record({
      authorization: fc.oneof(
        header,
        header.map((h) => `Bearer ${h}`),
        fc.constant(`Bearer ${ADMIN_TOKEN} `),
        fc.constant(`bearer ${ADMIN_TOKEN.toUpperCase()}`),
      ),
      route: fc.constantFrom(...ROUTES),
    });
    await checkProperty(
      'admin: authorization',
      arb,
      async (o) => {
        const answer = await client.send({ method: o.route[0], path: `/api/v1${o.route[1].replace(':id', ID)}`, headers: { authorization: o.authorization } });
        expectSane(answer, o);
      },
      200,
    );
  });
});
