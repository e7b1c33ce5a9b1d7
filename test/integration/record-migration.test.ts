import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { DEFAULT_MESSAGES } from '../../src/extensions/messages.js';
import { EXTENSION_RECORD_VERSION, migrateExtensionRecord, type ExtensionRecord } from '../../src/extensions/model.js';
import { KEEPALIVE_SCHEDULE_BUILT } from '../../src/linking/keepAliveSchedule.js';
import { keyOf } from '../../src/store/keys.js';
import { adminApi } from '../helpers/adminApi.js';
import { send, signIn } from '../helpers/adminSession.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { runCli } from '../helpers/cli.js';
import { chatbotSignature, eventRequest, intentRequest, launchRequest, makeClovaSigner } from '../helpers/cek.js';
import { openTestStore, storeKinds } from '../helpers/stores.js';
import { reply, startTarget, type TestTarget } from '../helpers/targets.js';
import { vaultOf } from '../helpers/vault.js';

/**
 * Upgrades need no command: an extension record as 0.1.0 stored it (no version, one `previousSecret`)
 * is read in today's shape, keeps working, and is written back in the new shape with its next change.
 */
describe('stored extension records of an earlier version', () => {
  test('a 0.1.0 record is served as it was and written back as version 1', async () => {
    const shared = await openTestStore('sqlite', 'migration');
    const key = randomBytes(32).toString('base64');
    const signer = makeClovaSigner();
    const ID = 'com.example.migrate';
    try {
      const first = await startTestApp({ sharedStore: shared, encryptionKey: key, signer });
      const created = await request(first.url).post('/api/v1/extensions').set(first.adminHeaders).send({ extensionId: ID, language: 'en' });
      const oldSecret = created.body.chatbotSecret as string;
      await request(first.url).post(`/api/v1/extensions/${ID}/secret`).set(first.adminHeaders).send({ graceSeconds: 3600 }).expect(200);
      await first.close();

      // Rewrite it the way 0.1.0 stored it.
      const stored = JSON.parse((await shared.store.get(`ext:${ID}`)) ?? '{}') as ExtensionRecord & { previousSecret?: unknown };
      expect(stored.v).toBe(EXTENSION_RECORD_VERSION);
      const [previous] = stored.previousSecrets ?? [];
      const old: Record<string, unknown> = { ...stored, previousSecret: previous };
      delete old['v'];
      delete old['previousSecrets'];
      await shared.store.set(`ext:${ID}`, JSON.stringify(old));

      const second = await startTestApp({ sharedStore: shared, encryptionKey: key, signer });
      try {
        const raw = JSON.stringify(launchRequest({ extensionId: ID }));
        const res = await request(second.url).post(`/cek/${ID}`).set('content-type', 'application/json').set('X-NCP-CHATBOT_SIGNATURE', chatbotSignature(oldSecret, raw)).send(raw);
        expect(res.status).toBe(200);
        expect((await request(second.url).get(`/api/v1/extensions/${ID}`).set(second.adminHeaders)).body.secret.previousExpiresAt).not.toBeNull();
        await request(second.url).patch(`/api/v1/extensions/${ID}`).set(second.adminHeaders).send({ name: 'Migrated' }).expect(200);
        const written = JSON.parse((await shared.store.get(`ext:${ID}`)) ?? '{}') as Record<string, unknown>;
        expect(written['v']).toBe(1);
        expect(written['previousSecret']).toBeUndefined();
        expect(written['previousSecrets']).toHaveLength(1);
      } finally {
        await second.close();
      }
    } finally {
      await shared.cleanup();
    }
  });

  test('a record from a newer version is refused, not half understood', () => {
    const newer = { v: EXTENSION_RECORD_VERSION + 1, extensionId: 'com.example.future' } as unknown as ExtensionRecord;
    expect(() => migrateExtensionRecord(newer)).toThrow(expect.objectContaining({ code: 'record_from_newer_version', status: 503 }));
  });
});

/**
 * A rolling upgrade: an instance of this version reads records a newer one wrote (`v: 99`). It
 * refuses them with 503 `record_from_newer_version` (never a 500, never a stack) and keeps serving
 * everything else.
 */
describe.each(storeKinds)('stored records of a newer version (%s)', (kind) => {
  const encryptionKey = randomBytes(32).toString('base64');
  const NEWER = 'com.example.newer';
  const OTHER = 'com.example.other';
  const FUTURE = 99;
  let app: TestApp;
  let target: TestTarget;
  const secrets = new Map<string, string>();
  const api = () => adminApi(app);
  const voice = (id: string, body: object, to: TestApp = app) => {
    const raw = JSON.stringify(body);
    return request(to.url)
      .post(`/cek/${id}`)
      .set('content-type', 'application/json')
      .set('X-NCP-CHATBOT_SIGNATURE', chatbotSignature(secrets.get(id) ?? '', raw))
      .send(raw);
  };
  /** Rewrites a stored record as a newer version would: a higher `v` and a field this version does not know. */
  const writeAsNewer = async (key: string): Promise<string> => {
    const stored = JSON.parse((await app.store.get(key)) ?? '{}') as Record<string, unknown>;
    const newer = JSON.stringify({ ...stored, v: FUTURE, shapeOfTheFuture: { unknown: true } });
    await app.store.set(key, newer);
    return newer;
  };
  const noStack = (body: unknown) => expect(JSON.stringify(body)).not.toMatch(/stack|\bat .+\.(ts|js):\d+|node_modules/);

  beforeAll(async () => {
    app = await startTestApp({ store: kind, label: 'newer-records', encryptionKey });
    target = await startTarget({ '/points': reply.json({ speech: 'You have 120 points.' }) });
    for (const extensionId of [NEWER, OTHER]) {
      const created = await api().post('/extensions', { extensionId, language: 'en' });
      expect(created.status).toBe(201);
      secrets.set(extensionId, created.body.chatbotSecret as string);
    }
    const action = await api().put(`/extensions/${OTHER}/actions/CheckPoints`, {
      trigger: { type: 'IntentRequest', intent: 'CheckPoints' },
      url: `${target.url}/points`,
      useOAuthToken: true,
      tokenSource: 'linked',
    });
    expect(action.status).toBe(201);
  });
  afterAll(async () => {
    await app?.close();
    await target?.close();
  });

  test('an extension record: 503 on the CEK endpoint and the admin API, left as it is; the other extensions keep being served and listed', async () => {
    const newer = await writeAsNewer(keyOf('extension', NEWER));

    const refused = await voice(NEWER, launchRequest({ extensionId: NEWER }));
    expect([refused.status, refused.body.error?.code]).toEqual([503, 'record_from_newer_version']);
    expect(refused.body.error.message).toBe(
      `Extension "${NEWER}" was written by a newer version of cek-gateway (record version ${FUTURE}, this instance reads up to ${EXTENSION_RECORD_VERSION}): upgrade this instance.`,
    );
    noStack(refused.body);
    const served = await voice(OTHER, launchRequest({ extensionId: OTHER }));
    expect([served.status, served.body.response?.outputSpeech?.values?.value]).toEqual([200, DEFAULT_MESSAGES.en.welcome]);

    const got = await api().get(`/extensions/${NEWER}`);
    expect([got.status, got.body.error?.code]).toEqual([503, 'record_from_newer_version']);
    noStack(got.body);
    const patched = await api().patch(`/extensions/${NEWER}`, { name: 'Written back?' });
    expect([patched.status, patched.body.error?.code]).toEqual([503, 'record_from_newer_version']);
    expect(await app.store.get(keyOf('extension', NEWER))).toBe(newer);

    const list = await api().get('/extensions');
    expect(list.status).toBe(200);
    expect(list.body.extensions.map((e: { extensionId: string }) => e.extensionId)).toEqual([OTHER]);
    expect(list.body.skipped).toEqual([{ extensionId: NEWER, error: { code: 'record_from_newer_version', message: refused.body.error.message } }]);
    // The CLI's export (and diff/apply, which read the same list) stops instead of leaving it out.
    const exported = await runCli(['export'], { CEK_GATEWAY_URL: app.url, CEK_GATEWAY_TOKEN: ADMIN_TOKEN });
    expect(exported).toEqual({ code: 1, stdout: '', stderr: `cek-gateway: ${app.url} cannot read "${NEWER}": ${refused.body.error.message}\n` });

    const { cookie } = await signIn(app);
    const page = await send(app, '/admin/extensions', { cookie });
    expect(page.status).toBe(200);
    expect(page.text).toContain(`data-extension-id="${OTHER}"`);
    expect(page.text).not.toContain(`data-extension-id="${NEWER}"`);
    expect(page.text).toContain('was written by a newer version of cek-gateway');
    const detail = await send(app, `/admin/extensions/${NEWER}`, { cookie });
    expect(detail.status).toBe(503);
    expect(detail.text).toContain('upgrade this instance');
    expect(detail.text).not.toMatch(/\bat .+\.(ts|js):\d+/);

    // An instance starting on this store while the keep-alive schedule is still to be built (it
    // lists the extensions) logs the failure and serves: the build's promise never rejects (it was
    // an unhandled rejection, which ends a Node process).
    await app.store.delete(KEEPALIVE_SCHEDULE_BUILT);
    const restarted = await startTestApp({ sharedStore: { store: app.store }, encryptionKey });
    try {
      await expect(restarted.services.linking.ensureLinkIndex()).resolves.toBeUndefined();
      expect(await app.store.get(KEEPALIVE_SCHEDULE_BUILT)).toBeNull();
      expect((await voice(OTHER, launchRequest({ extensionId: OTHER }), restarted)).status).toBe(200);
    } finally {
      await restarted.close();
    }
  });

  test("a linked user's token record: not opened or written back, that user hears the error message (HTTP 200); other users are served", async () => {
    const vault = vaultOf(app);
    for (const [userId, accessToken] of [
      ['user-newer', 'token-of-the-newer-record'],
      ['user-current', 'token-of-the-current-record'],
    ] as const) {
      await vault.link(OTHER, userId, { accessToken }, { expiresAt: Date.now() + 3_600_000, scope: null, tokenType: 'Bearer' });
      await vault.update(OTHER, userId, (r) => {
        delete r.successPending;
      });
    }
    const newer = await writeAsNewer(keyOf('linkedToken', OTHER, 'user-newer'));
    const calls = () => target.callsTo('/points').length;
    const before = calls();

    const refused = await voice(OTHER, intentRequest({ extensionId: OTHER, intent: 'CheckPoints', userId: 'user-newer' }));
    expect([refused.status, refused.body.response?.outputSpeech?.values?.value]).toEqual([200, DEFAULT_MESSAGES.en.error]);
    expect(calls()).toBe(before);
    expect(await app.store.get(keyOf('linkedToken', OTHER, 'user-newer'))).toBe(newer);

    const served = await voice(OTHER, intentRequest({ extensionId: OTHER, intent: 'CheckPoints', userId: 'user-current' }));
    expect([served.status, served.body.response?.outputSpeech?.values?.value]).toEqual([200, 'You have 120 points.']);
    expect(calls()).toBe(before + 1);

    // ClovaSkill.SkillDisabled needs the link date to tell a replayed event: refused too, the link left to an upgraded instance.
    const disabled = await api().post(`/extensions/${OTHER}/test-requests`, {
      request: eventRequest({ extensionId: OTHER, userId: 'user-newer', namespace: 'ClovaSkill', name: 'SkillDisabled' }),
    });
    expect([disabled.status, disabled.body.status, disabled.body.outcome]).toEqual([200, 200, 'record_from_newer_version']);
    expect(await app.store.get(keyOf('linkedToken', OTHER, 'user-newer'))).toBe(newer);

    const links = await api().get(`/extensions/${OTHER}/links`);
    expect([links.status, links.body.error?.code]).toEqual([503, 'record_from_newer_version']);
    noStack(links.body);
  });
});
