import { jest } from '@jest/globals';
import fc from 'fast-check';
import { adminApi } from '../helpers/adminApi.js';
import { cookiePair, csrfOf, send, signIn } from '../helpers/adminSession.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { checkProperty, coded, contentCoding, expectSane, oddString, rawClient } from '../helpers/fuzz.js';

/**
 * Issue 13, item 3, the form doors: the admin pages (signed in, with the session's CSRF token, so
 * posts reach the handlers) and the public account-linking pages, under generated form fields and
 * query strings. Same invariant: no 5xx, no stack trace, the server still answering.
 */
const ID = 'com.example.fuzzPages';

// Thousands of requests on a shared machine: room above jest's 30 s default.
jest.setTimeout(120_000);

/** The form fields the admin pages read (field(req, …) in src/admin/pages), plus the CSRF token's. */
const FIELDS = [
  'clientAuth',
  'clientId',
  'clientSecret',
  'confirmId',
  'editing',
  'enabled',
  'error',
  'eventName',
  'eventNamespace',
  'extensionId',
  'fallback',
  'graceSeconds',
  'headers',
  'intent',
  'issuer',
  'language',
  'loginPromptMessage',
  'loginSuccessMessage',
  'loginUrl',
  'messengerVerifyToken',
  'name',
  'next',
  'revocationUrl',
  'scope',
  'slots',
  'timeoutMs',
  'token',
  'tokenSource',
  'tokenUrl',
  'triggerType',
  'type',
  'url',
  'userId',
  'verification',
  'welcome',
  'which',
  'dayQuota',
  'monthQuota',
  'rateRps',
  'quotaCondition',
  'freeMonthlyCalls',
  'useOAuthToken',
  'sendToken',
  'code',
  'csrf',
  'ticket',
  'do',
  'locale',
  'event',
  'accessToken',
  'refreshToken',
  'expiresIn',
];
const POSTS = [
  '/extensions',
  '/extensions/:id/delete',
  '/extensions/:id/secret',
  '/extensions/:id/general',
  '/extensions/:id/verification',
  '/extensions/:id/account-linking',
  '/extensions/:id/account-linking/messages',
  '/extensions/:id/actions/new',
  '/extensions/:id/actions/:name/edit',
  '/extensions/:id/actions/:name/delete',
  '/extensions/:id/gateway/enforcement',
  '/extensions/:id/gateway/plan',
  '/extensions/:id/gateway/plan/delete',
  '/extensions/:id/gateway/allowance',
  '/extensions/:id/gateway/verify-token',
  '/extensions/:id/gateway/keys',
  '/extensions/:id/gateway/keys/:keyId/enabled',
  '/extensions/:id/gateway/keys/:keyId/regenerate',
  '/extensions/:id/gateway/keys/:keyId/delete',
  '/extensions/:id/users/unlink',
  '/extensions/:id/users/test-users',
  '/extensions/:id/users/test-users/remove',
  '/extensions/:id/console',
  '/extensions/:id/console/new',
];
const GETS = [
  '/extensions',
  '/extensions/:id',
  '/extensions/:id/delete',
  '/extensions/:id/actions',
  '/extensions/:id/actions/new',
  '/extensions/:id/actions/:name/edit',
  '/extensions/:id/gateway',
  '/extensions/:id/gateway/keys/:keyId',
  '/extensions/:id/swagger.json',
  '/extensions/:id/users',
  '/extensions/:id/console',
  '/extensions/:id/console/scenario.yaml',
  '/login',
];

const shortValue = fc.oneof(
  fc.constantFrom('', '1', '0', '-1', 'on', 'true', 'IntentRequest', 'LaunchRequest', 'EventRequest', 'en', 'ko', 'both', 'http://127.0.0.1:9/x', 'https://example.com', '1e309', 'NaN', '2xx'),
  oddString(),
  fc.string({ maxLength: 300 }),
);
// Long values in forms only: a URL over 16 KB is refused by node itself (431) before any route.
const value = fc.oneof(
  { weight: 8, arbitrary: shortValue },
  { weight: 1, arbitrary: fc.string({ maxLength: 3_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 10_000, max: 70_000 }).map((n) => 'x'.repeat(n)) },
);
const fieldsOf = (v: fc.Arbitrary<string>) => fc.array(fc.tuple(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...FIELDS) }, { weight: 1, arbitrary: oddString() }), v), { maxLength: 12 });
const formFields = fieldsOf(value);
const queryFields = fieldsOf(shortValue);
const param = fc.oneof(fc.constantFrom(ID, 'com.example.none', 'Points', 'KEY', '%', '%E0%A4', 'com..x', '__proto__'), oddString().map(enc));

function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80';
  }
}

function formBody(pairs: ReadonlyArray<readonly [string, string]>): string {
  return pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
}

describe('admin pages and linking pages never answer 5xx or a stack trace', () => {
  let app: TestApp;
  let client: ReturnType<typeof rawClient>;
  let cookie: string;
  let csrf: string;
  let keyId: string;

  beforeAll(async () => {
    app = await startTestApp({ label: 'fuzz-pages' });
    client = rawClient(app.url);
    expect((await adminApi(app).post('/extensions', { extensionId: ID, language: 'en' })).status).toBe(201);
    expect((await adminApi(app).put(`/extensions/${ID}/actions/Points`, { trigger: { type: 'IntentRequest', intent: 'Points' }, url: 'http://127.0.0.1:9/points' })).status).toBe(201);
    const linking = await adminApi(app).put(`/extensions/${ID}/account-linking`, {
      enabled: true,
      loginUrl: 'http://127.0.0.1:9/authorize',
      tokenUrl: 'http://127.0.0.1:9/token',
      clientId: 'client-1',
      clientSecret: 'secret-1',
    });
    expect(linking.status).toBe(200);
    keyId = (await adminApi(app).post(`/extensions/${ID}/keys`, { name: 'k' })).body.id as string;
    ({ cookie, csrf } = await signIn(app));
  });
  afterAll(async () => {
    await client.close();
    await app.close();
  });

  afterEach(async () => {
    expect((await client.send({ method: 'GET', path: '/healthz' })).status).toBe(200);
    expect((await send(app, `/admin/extensions/${ID}`, { cookie })).status).toBe(200);
  });

  const fill = (template: string, o: { id: string; name: string; keyId: string }) =>
    template
      .replace(':id', o.id)
      .replace(':name', o.name)
      .replace(':keyId', o.keyId === 'KEY' ? keyId : o.keyId);

  test('signed-in admin pages: any form fields (in any content-encoding) on every form, any query on every page', async () => {
    const arb = fc.record({
      post: fc.boolean(),
      postPath: fc.constantFrom(...POSTS),
      getPath: fc.constantFrom(...GETS),
      id: fc.oneof({ weight: 4, arbitrary: fc.constant(ID) }, { weight: 1, arbitrary: param }),
      name: fc.oneof({ weight: 3, arbitrary: fc.constant('Points') }, { weight: 1, arbitrary: param }),
      keyId: fc.oneof({ weight: 3, arbitrary: fc.constant('KEY') }, { weight: 1, arbitrary: param }),
      fields: formFields,
      withCsrf: fc.boolean(),
      coding: fc.option(contentCoding, { nil: undefined, freq: 4 }),
      query: fc.oneof(
        fc.constant(''),
        queryFields.map((f) => `?${formBody(f)}`),
      ),
    });
    await checkProperty(
      'pages: admin forms',
      arb,
      async (o) => {
        // Deleting the extension under test, or signing out, would end the run's reach.
        if (o.post && o.postPath === '/extensions/:id/delete' && o.id === ID) return;
        const path = `/admin${fill(o.post ? o.postPath : o.getPath, o)}${o.post ? '' : o.query}`;
        const pairs: Array<readonly [string, string]> = o.withCsrf ? [['_csrf', csrf], ...o.fields] : o.fields;
        const form = coded(o.coding, formBody(pairs));
        const answer = o.post
          ? await client.send({ method: 'POST', path, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...form.headers }, body: form.body })
          : await client.send({ method: 'GET', path, headers: { cookie } });
        expectSane(answer, o);
      },
      500,
    );
  });

  test('public linking pages: any code, query and form (in any content-encoding), with and without the form cookie', async () => {
    const form = await send(app, '/link');
    const linkCookie = cookiePair(form.setCookies.find((c) => c.includes('=')));
    const token = /name="csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? csrfOf(form.text);
    const arb = fc.record({
      route: fc.constantFrom(['GET', '/link'], ['POST', '/link'], ['GET', '/link/start'], ['GET', '/oauth/callback'], ['GET', '/link/unlink'], ['POST', '/link/unlink']),
      fields: formFields,
      code: value,
      withCookie: fc.boolean(),
      query: fc.oneof(
        fc.constant(''),
        fc.record({ state: shortValue, code: shortValue, error: shortValue, ticket: shortValue }).map((q) => `?${formBody(Object.entries(q))}`),
        queryFields.map((f) => `?${formBody(f)}`),
      ),
      contentType: fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain', 'multipart/form-data'),
      coding: fc.option(contentCoding, { nil: undefined, freq: 4 }),
    });
    await checkProperty(
      'pages: linking',
      arb,
      async (o) => {
        const [method, route] = o.route as [string, string];
        const headers: Record<string, string> = o.withCookie ? { cookie: linkCookie } : {};
        const pairs: Array<readonly [string, string]> = [['csrf', token], ['code', o.code], ...o.fields];
        const form = coded(o.coding, formBody(pairs));
        const answer =
          method === 'POST'
            ? await client.send({ method, path: `${route}${o.query}`, headers: { ...headers, 'content-type': o.contentType, ...form.headers }, body: form.body })
            : await client.send({ method, path: `${route}${o.query}`, headers });
        expectSane(answer, o);
      },
      500,
    );
  });
});
