import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import request from 'supertest';
import { DEFAULT_MESSAGES } from '../../src/extensions/messages.js';
import { adminApi } from '../helpers/adminApi.js';
import { send, signIn } from '../helpers/adminSession.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { chatbotSignature, intentRequest } from '../helpers/cek.js';
import { runCli } from '../helpers/cli.js';
import { reply, startTarget, type TestTarget } from '../helpers/targets.js';
import { vaultOf } from '../helpers/vault.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Test users (issue 17, item 2): synthetic linked users stored through the admin API and the users
 * page, marked as test, used by the test-requests API and the scenario runner with their token, left
 * out of usage and quotas, never turned into a real link or back; and the login success message in
 * the request's locale (item 3).
 */
const ID = 'com.example.testusers';
const TEST_USER = 'ci-tester';
const TEST_TOKEN = 'test-user-token-0123456789';
const REAL_USER = 'real-clova-user';
const REAL_TOKEN = 'real-user-token-9876543210';

jest.setTimeout(120_000);

describe('test users', () => {
  let app: TestApp;
  let target: TestTarget;
  const api = () => adminApi(app);

  /** A turn through `POST /test-requests` (the console's and the runner's sender) for `userId`. */
  const points = async (userId: string, locale = 'en-US') => {
    const body = intentRequest({ extensionId: ID, intent: 'CheckPoints', userId }) as { request: Record<string, unknown> };
    body.request['locale'] = locale;
    const res = await api().post(`/extensions/${ID}/test-requests`, { request: body });
    expect(res.status).toBe(200);
    return res.body as { status: number; outcome: string | null; testUser: boolean; response: { response?: { outputSpeech?: { values?: { value?: string } } }; error?: { code: string } } };
  };
  const usage = async () => (await api().get(`/extensions/${ID}/usage`).expect(200)).body as { days: Array<{ calls: number; refused: Record<string, number> }> };
  const callsToday = async () => (await usage()).days.at(-1)?.calls ?? 0;

  beforeAll(async () => {
    app = await startTestApp({ label: 'test-users' });
    // The target answers only a known token, as a real API would.
    target = await startTarget({
      '/points': (call, res, req) => {
        const auth = call.headers['authorization'];
        if (auth !== `Bearer ${TEST_TOKEN}` && auth !== `Bearer ${REAL_TOKEN}`) return reply.status(401)(call, res, req);
        return reply.json({ speech: 'You have 120 points.' })(call, res, req);
      },
    });
    expect((await api().post('/extensions', { extensionId: ID, language: 'en', locales: { 'ja-JP': { loginSuccess: '連携できました。' } } })).status).toBe(201);
    const action = await api().put(`/extensions/${ID}/actions/CheckPoints`, {
      trigger: { type: 'IntentRequest', intent: 'CheckPoints' },
      url: `${target.url}/points`,
      useOAuthToken: true,
      tokenSource: 'linked',
    });
    expect(action.status).toBe(201);
    await vaultOf(app).link(ID, REAL_USER, { accessToken: REAL_TOKEN }, { expiresAt: Date.now() + 3_600_000, scope: null, tokenType: 'Bearer' });
    await vaultOf(app).update(ID, REAL_USER, (r) => {
      delete r.successPending;
    });
  });
  afterAll(async () => {
    await app?.close();
    await target?.close();
  });

  test('created (201) and replaced (200), the tokens sealed and never returned; marked as test in the links API and on the users page', async () => {
    const created = await api().post(`/extensions/${ID}/test-users`, { userId: TEST_USER, accessToken: 'first-token', refreshToken: 'rt-test-0123456789', expiresIn: 3600 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ userId: TEST_USER, status: 'linked', test: true });
    const replaced = await api().post(`/extensions/${ID}/test-users`, { userId: TEST_USER, accessToken: TEST_TOKEN });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ userId: TEST_USER, test: true, expiresAt: null });
    for (const body of [created.text, replaced.text]) for (const secret of ['first-token', TEST_TOKEN, 'rt-test-0123456789']) expect(body).not.toContain(secret);

    // Sealed in the vault like a real link.
    const stored = (await app.store.list('tok:')).map((r) => r.value).join('\n');
    expect(stored).not.toContain(TEST_TOKEN);
    expect((await vaultOf(app).read(ID, TEST_USER))?.tokens.accessToken).toBe(TEST_TOKEN);

    const links = (await api().get(`/extensions/${ID}/links`).expect(200)).body as { links: Array<{ userId: string; test: boolean }> };
    expect(links.links.map((l) => [l.userId, l.test])).toEqual([
      [TEST_USER, true],
      [REAL_USER, false],
    ]);
    const { cookie } = await signIn(app);
    const page = await send(app, `/admin/extensions/${ID}/users`, { cookie });
    expect(page.text).toMatch(new RegExp(`data-user="${TEST_USER}">[\\s\\S]*?<span class="badge test">test user</span>[\\s\\S]*?/users/test-users/remove`));
    expect(page.text).toMatch(new RegExp(`data-user="${REAL_USER}">(?:(?!badge test)[\\s\\S])*?/users/unlink`));
    expect(page.text).not.toContain(TEST_TOKEN);
  });

  test('bad input is a 400 naming the fields; a real user is never turned into a test user, nor removed as one', async () => {
    const bad = await api().post(`/extensions/${ID}/test-users`, { userId: '', accessToken: 'x', expiresIn: 'soon', extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_body');
    expect((bad.body.error.details as Array<{ path: string }>).map((d) => d.path).sort()).toEqual(['(body)', 'expiresIn', 'userId']);
    // A token is sent in an Authorization header: a line break or a non-ASCII character could never be.
    for (const token of ['x\r\nInjected: 1', 'tökén', 'two words']) {
      const res = await api().post(`/extensions/${ID}/test-users`, { userId: 'odd-token', accessToken: 'ok', refreshToken: token });
      expect([res.status, res.body.error.details[0].path, res.body.error.details[0].message]).toEqual([400, 'refreshToken', expect.stringContaining('visible ASCII')]);
      const res2 = await api().post(`/extensions/${ID}/test-users`, { userId: 'odd-token', accessToken: token });
      expect([res2.status, res2.body.error.details[0].path]).toEqual([400, 'accessToken']);
    }

    const overReal = await api().post(`/extensions/${ID}/test-users`, { userId: REAL_USER, accessToken: 'hijack' });
    expect([overReal.status, overReal.body.error.code]).toEqual([409, 'real_user_linked']);
    expect((await vaultOf(app).read(ID, REAL_USER))?.tokens.accessToken).toBe(REAL_TOKEN);
    expect((await vaultOf(app).record(ID, REAL_USER))?.test).toBeUndefined();

    const removeReal = await api().delete(`/extensions/${ID}/test-users/${REAL_USER}`);
    expect([removeReal.status, removeReal.body.error.code]).toEqual([409, 'not_test_user']);
    expect(await vaultOf(app).record(ID, REAL_USER)).toBeDefined();
    const removeNobody = await api().delete(`/extensions/${ID}/test-users/nobody-here`);
    expect([removeNobody.status, removeNobody.body.error.code]).toEqual([404, 'not_found']);
  });

  test('a test user calls with its token; with a day quota of 1 its calls are still admitted and counted nowhere, a real user’s are', async () => {
    expect((await api().put(`/extensions/${ID}/gateway`, { usagePlan: { dayQuota: 1 } })).status).toBe(200);
    const before = await callsToday();
    for (let i = 0; i < 3; i++) {
      const r = await points(TEST_USER);
      expect([r.status, r.outcome, r.testUser]).toEqual([200, 'action', true]);
      expect(r.response.response?.outputSpeech?.values?.value).toBe('You have 120 points.');
    }
    expect(target.calls.filter((c) => c.headers['authorization'] === `Bearer ${TEST_TOKEN}`)).toHaveLength(3);

    // The real user takes the day's one call; the next real call is refused; the test user still gets through.
    const real = await points(REAL_USER);
    expect([real.status, real.outcome, real.testUser]).toEqual([200, 'action', false]);
    const refused = await points(REAL_USER);
    expect([refused.status, refused.response.error?.code]).toEqual([429, 'quota_exceeded']);
    expect((await points(TEST_USER)).status).toBe(200);

    // Only the real user's call is counted (the test calls before it were flushed with it or earlier).
    await waitFor(async () => (await callsToday()) === before + 1, 10_000);
    const gateway = (await api().get(`/extensions/${ID}/usage`).expect(200)).body as { usagePlan?: { counted?: { day?: number } } };
    expect(gateway.usagePlan?.counted?.day).toBe(1);
    expect((await usage()).days.at(-1)?.refused['quota_exceeded']).toBe(1);
    expect(await callsToday()).toBe(before + 1);
  });

  test('the exemption cannot be claimed from outside: a request signed by hand for a test user is held to the quota', async () => {
    const secret = (await app.services.registry.resolve(ID))?.liveSecrets()[0] ?? '';
    const raw = JSON.stringify(intentRequest({ extensionId: ID, intent: 'CheckPoints', userId: TEST_USER }));
    const res = await request(app.url)
      .post(`/cek/${ID}`)
      .set('content-type', 'application/json')
      .set('x-request-id', 'admin-api-guessed0000')
      .set('X-NCP-CHATBOT_SIGNATURE', chatbotSignature(secret, raw))
      .send(raw);
    expect([res.status, res.body.error?.code]).toEqual([429, 'quota_exceeded']);
    expect((await api().put(`/extensions/${ID}/gateway`, { usagePlan: null })).status).toBe(200);
  });

  test('never refreshed: a test user whose token has expired, or whose token the target refuses, gets the error message, not a login prompt', async () => {
    await vaultOf(app).update(ID, TEST_USER, (r) => {
      r.expiresAt = Date.now() - 1000;
    });
    const expired = await points(TEST_USER);
    expect([expired.status, expired.outcome]).toEqual([200, 'action_error']);
    expect(expired.response.response?.outputSpeech?.values?.value).toBe(DEFAULT_MESSAGES.en.error);

    expect((await api().post(`/extensions/${ID}/test-users`, { userId: TEST_USER, accessToken: 'a-token-the-target-refuses' })).status).toBe(200);
    const refused = await points(TEST_USER);
    expect([refused.status, refused.outcome]).toEqual([200, 'action_error']);
    // Still a test user, not broken: it is replaced or removed, never re-linked.
    expect(await vaultOf(app).record(ID, TEST_USER)).toMatchObject({ status: 'linked', test: true });
    expect((await api().post(`/extensions/${ID}/test-users`, { userId: TEST_USER, accessToken: TEST_TOKEN })).status).toBe(200);
  });

  test('removed in one call (204), without a link.unlinked event or revocation; then gone from the links', async () => {
    expect((await api().delete(`/extensions/${ID}/test-users/${TEST_USER}`)).status).toBe(204);
    const links = (await api().get(`/extensions/${ID}/links`).expect(200)).body as { links: Array<{ userId: string }> };
    expect(links.links.map((l) => l.userId)).toEqual([REAL_USER]);
    expect((await points(TEST_USER)).outcome).toBe('linking_unavailable');
  });

  test('the users page form adds a test user (fields checked, the token never shown back) and removes it', async () => {
    const { cookie, csrf } = await signIn(app);
    const post = (p: string, form: Record<string, string>) => send(app, `/admin/extensions/${ID}${p}`, { cookie, form: { _csrf: csrf, ...form } });
    const bad = await post('/users/test-users', { userId: 'form-tester', accessToken: '', expiresIn: 'soon' });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/id="e-accessToken">Is required\./);
    expect(bad.text).toMatch(/id="e-expiresIn">Must be a whole number of seconds\./);
    const real = await post('/users/test-users', { userId: REAL_USER, accessToken: 'secret-value-not-shown' });
    expect(real.status).toBe(409);
    expect(real.text).toContain('has a real link with this extension');
    expect(real.text).not.toContain('secret-value-not-shown');

    const added = await post('/users/test-users', { userId: 'form-tester', accessToken: 'form-token-0123456789', expiresIn: '600' });
    expect(added.status).toBe(303);
    const page = await send(app, `/admin/extensions/${ID}/users`, { cookie });
    expect(page.text).toContain('Test user form-tester added');
    expect(page.text).toMatch(/data-user="form-tester">[\s\S]*?badge test/);
    expect(page.text).not.toContain('form-token-0123456789');

    expect((await post('/users/test-users/remove', { userId: REAL_USER })).status).toBe(303);
    expect((await send(app, `/admin/extensions/${ID}/users`, { cookie })).text).toContain('has a real link, not a test one');
    expect(await vaultOf(app).record(ID, REAL_USER)).toBeDefined();
    expect((await post('/users/test-users/remove', { userId: 'form-tester' })).status).toBe(303);
    expect(await vaultOf(app).record(ID, 'form-tester')).toBeUndefined();
  });

  test('a scenario brings its own test user: stored before the first turn (token from the environment), called with its token, removed after', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cek-test-users-'));
    try {
      const file = path.join(dir, 'own-user.yaml');
      fs.writeFileSync(
        file,
        `
scenarios:
  - name: points with its own test user
    extension: ${ID}
    testUser:
      userId: scenario-tester
      accessToken: \${env:CI_TEST_TOKEN}
    turns:
      - intent: { name: CheckPoints }
        expect:
          speech: { equals: "You have 120 points." }
          target: { called: true, bearer: true }
`,
      );
      const env = { CEK_GATEWAY_URL: app.url, CEK_GATEWAY_TOKEN: ADMIN_TOKEN };
      const missing = await runCli(['test', file], env);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('missing environment variable referenced by the file: CI_TEST_TOKEN (scenarios[0].testUser.accessToken)');

      const r = await runCli(['test', file], { ...env, CI_TEST_TOKEN: TEST_TOKEN });
      expect(r.stdout).toContain(`✓ points with its own test user (${ID}, test user scenario-tester)`);
      expect(r.code).toBe(0);
      expect(target.calls.at(-1)?.headers['authorization']).toBe(`Bearer ${TEST_TOKEN}`);
      expect(await vaultOf(app).record(ID, 'scenario-tester')).toBeUndefined();

      const both = path.join(dir, 'both.yaml');
      fs.writeFileSync(both, `scenarios:\n  - name: both\n    extension: ${ID}\n    user: someone\n    testUser: { userId: x, accessToken: y, colour: red }\n    turns: [{ launch: {} }]\n`);
      const invalid = await runCli(['test', both], env);
      expect(invalid.code).toBe(2);
      expect(invalid.stderr).toContain(`${both}: scenario 1 "both": testUser: unknown field(s): colour`);

      fs.writeFileSync(both, `scenarios:\n  - name: both\n    extension: ${ID}\n    user: someone\n    testUser: { userId: x, accessToken: y }\n    turns: [{ launch: {} }]\n`);
      const conflicting = await runCli(['test', both], env);
      expect(conflicting.code).toBe(2);
      expect(conflicting.stderr).toContain(`${both}: scenario 1 "both": testUser: give either user or testUser (a test user is the user)`);

      // Over a real link the scenario fails on its own, naming the reason; nothing is changed.
      fs.writeFileSync(both, `scenarios:\n  - name: over a real user\n    extension: ${ID}\n    testUser: { userId: ${REAL_USER}, accessToken: y }\n    turns: [{ launch: {} }]\n`);
      const overReal = await runCli(['test', both], env);
      expect(overReal.code).toBe(1);
      expect(overReal.stdout).toContain(`the test user ${REAL_USER} could not be stored`);
      expect((await vaultOf(app).read(ID, REAL_USER))?.tokens.accessToken).toBe(REAL_TOKEN);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the login success message is spoken in the request’s locale (issue 17, item 3)', async () => {
    const linkFresh = async (userId: string) => vaultOf(app).link(ID, userId, { accessToken: REAL_TOKEN }, { expiresAt: Date.now() + 3_600_000, scope: null, tokenType: 'Bearer' });
    await linkFresh('fresh-ja');
    const ja = await points('fresh-ja', 'ja-JP');
    expect(ja.response.response?.outputSpeech?.values?.value).toMatch(/^連携できました。/);
    await linkFresh('fresh-en');
    const en = await points('fresh-en', 'en-US');
    expect(en.response.response?.outputSpeech?.values?.value?.startsWith(DEFAULT_MESSAGES.en.loginSuccess)).toBe(true);
    // Once only.
    expect((await points('fresh-ja', 'ja-JP')).response.response?.outputSpeech?.values?.value).toBe('You have 120 points.');
  });
});
