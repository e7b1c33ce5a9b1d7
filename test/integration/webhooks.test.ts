import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { createLogger } from '../../src/http/logger.js';
import { createMetrics } from '../../src/http/metrics.js';
import { LinkingHealth } from '../../src/linking/health.js';
import { resealStore, SEALED_FAMILIES } from '../../src/sealedRecords.js';
import { Keyring } from '../../src/security/keyring.js';
import { sealedKeyUse } from '../../src/security/reseal.js';
import { openKeys, signatureHeader } from '../../src/security/standardWebhooks.js';
import { webhookSecretContext } from '../../src/webhooks/model.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { adminApi } from '../helpers/adminApi.js';
import { FetchBrowser } from '../helpers/browser.js';
import { cekTimestamp, eventRequest, intentRequest } from '../helpers/cek.js';
import { startProvider, type TestProvider } from '../helpers/provider.js';
import { openTestStore, storeKinds, type TestStore } from '../helpers/stores.js';
import { closedPort, reply, startConnectionCounter, startTarget, type TargetCall, type TestTarget } from '../helpers/targets.js';
import { speechOf, spokenCode, tokenProbe } from '../helpers/tokenProbe.js';

/**
 * Signed lifecycle webhooks (issue 16 item 3) with real parts: receivers on loopback verify every
 * delivery with the Standard Webhooks reference implementation (`standardwebhooks`); link events
 * come from a real linking flow against a real OAuth provider; a receiver that is down gets every
 * event once it is back, also across a restart of the service on the same store.
 */
const EXT = 'com.example.hooks';

const headersOf = (call: TargetCall) => ({
  'webhook-id': String(call.headers['webhook-id']),
  'webhook-timestamp': String(call.headers['webhook-timestamp']),
  'webhook-signature': String(call.headers['webhook-signature']),
});
/** The payload, verified with `secret` by the reference implementation (throws when it does not verify). */
const verified = (secret: string, call: TargetCall): unknown => new Webhook(secret).verify(call.body.toString('utf8'), headersOf(call));
const typesOf = (calls: TargetCall[]): string[] => calls.map((c) => String((JSON.parse(c.body.toString('utf8')) as { type: unknown }).type));

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function createEndpoint(app: TestApp, url: string, events: string[]): Promise<{ id: string; secret: string }> {
  const res = await adminApi(app).post(`/extensions/${EXT}/webhooks`, { url, events });
  expect(res.status).toBe(201);
  return { id: res.body.id as string, secret: res.body.secret as string };
}

describe.each(storeKinds)('lifecycle webhooks on %s', (kind) => {
  describe('endpoints, ping, rotation, redelivery, link events', () => {
    let app: TestApp;
    let provider: TestProvider;
    let receiver: TestTarget;

    beforeAll(async () => {
      app = await startTestApp({ label: 'webhooks', store: kind, responders: tokenProbe });
      receiver = await startTarget({ '/hooks': reply.status(204) });
      provider = await startProvider({ clientAuth: 'basic', redirectUri: `${app.config.publicUrl}/oauth/callback` });
      await adminApi(app).post('/extensions', { extensionId: EXT, language: 'en' }).expect(201);
      await adminApi(app)
        .put(`/extensions/${EXT}/account-linking`, {
          enabled: true,
          loginUrl: provider.authorizationUrl,
          tokenUrl: provider.tokenUrl,
          clientId: provider.clientId,
          clientSecret: provider.clientSecret,
          scope: 'api',
        })
        .expect(200);
    });
    afterAll(async () => {
      await app.close();
      await receiver.close();
      await provider.close();
    });

    test('bad input is a 400 naming the field; unknown ids are 404; the secret is shown once', async () => {
      const api = adminApi(app);
      const bad = async (body: object, path: string) => {
        const res = await api.post(`/extensions/${EXT}/webhooks`, body);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('invalid_body');
        expect(res.body.error.details[0].path).toBe(path);
      };
      await bad({ events: ['link.created'] }, 'url');
      await bad({ url: 'ftp://example.com/x', events: ['link.created'] }, 'url');
      await bad({ url: 'https://user:pw@example.com/x', events: ['link.created'] }, 'url');
      await bad({ url: 'https://example.com/x' }, 'events');
      await bad({ url: 'https://example.com/x', events: [] }, 'events');
      await bad({ url: 'https://example.com/x', events: ['link.exploded'] }, 'events.0');
      await bad({ url: 'https://example.com/x', events: ['link.created', 'link.created'] }, 'events');
      await bad({ url: 'https://example.com/x', events: ['link.created'], secret: 'whsec_mine' }, '(body)');
      expect((await api.get(`/extensions/${EXT}/webhooks/not-an-id`)).status).toBe(400);
      expect((await api.get(`/extensions/${EXT}/webhooks/wh_AAAAAAAAAAAAAAAA`)).status).toBe(404);
      expect((await api.post(`/extensions/${EXT}/webhooks/wh_AAAAAAAAAAAAAAAA/deliveries/nope/redeliver`, {})).status).toBe(400);
      expect((await api.get(`/extensions/com.example.none/webhooks`)).status).toBe(404);

      const { id, secret } = await createEndpoint(app, `${receiver.url}/hooks`, ['link.created']);
      expect(id).toMatch(/^wh_[A-Za-z0-9_-]{16}$/);
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      const listed = await api.get(`/extensions/${EXT}/webhooks`);
      expect(listed.body.webhooks).toEqual([expect.objectContaining({ id, url: `${receiver.url}/hooks`, events: ['link.created'], previousSecretExpiresAt: null })]);
      expect(JSON.stringify(listed.body)).not.toContain(secret.slice(6, 20));
      expect((await api.get(`/extensions/${EXT}/webhooks/${id}`)).body.id).toBe(id);
      expect((await api.post(`/extensions/${EXT}/webhooks/${id}/secret`, { graceSeconds: -1 })).status).toBe(400);
      for (const q of ['?limit=0', '?limit=201', '?limit=abc', '?limit=1e2']) {
        const res = await api.get(`/extensions/${EXT}/webhooks/${id}/deliveries${q}`);
        expect([q, res.status, res.body.error.details]).toEqual([q, 400, [{ path: 'limit', message: 'must be a whole number from 1 to 200' }]]);
      }
      expect((await api.get(`/extensions/${EXT}/webhooks/${id}/deliveries?limit=200`)).status).toBe(200);
      const extraQuery = await api.get(`/extensions/${EXT}/webhooks/${id}/deliveries?colour=blue`);
      expect([extraQuery.status, extraQuery.body.error.code, extraQuery.body.error.details]).toEqual([400, 'invalid_query', [{ path: '(query)', message: 'unknown field(s): colour' }]]);
      expect((await api.delete(`/extensions/${EXT}/webhooks/${id}`)).status).toBe(204);
      expect((await api.get(`/extensions/${EXT}/webhooks/${id}`)).status).toBe(404);
    });

    test('PATCH changes url, events and enabled with the create rules; 404 before 400; the secret stays and is never in the answer', async () => {
      const api = adminApi(app);
      const { id, secret } = await createEndpoint(app, `${receiver.url}/hooks`, ['link.created']);
      const path = `/extensions/${EXT}/webhooks/${id}`;
      const bad = async (body: unknown, detail: string) => {
        const res = await api.patch(path, body as object);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('invalid_body');
        expect(res.body.error.details[0].path).toBe(detail);
      };
      await bad({}, '(body)');
      await bad({ url: 'ftp://example.com/x' }, 'url');
      await bad({ events: [] }, 'events');
      await bad({ events: ['link.exploded'] }, 'events.0');
      await bad({ enabled: 'yes' }, 'enabled');
      await bad({ secret: 'whsec_mine' }, '(body)');
      expect((await api.patch(`/extensions/${EXT}/webhooks/wh_AAAAAAAAAAAAAAAA`, { events: [] })).body.error.code).toBe('not_found');
      expect((await api.patch(`/extensions/com.example.none/webhooks/${id}`, { events: [] })).status).toBe(404);
      expect((await api.patch(`/extensions/${EXT}/webhooks/not-an-id`, { enabled: false })).body.error.code).toBe('invalid_request');

      const changed = await api.patch(path, { url: `${receiver.url}/hooks?v=2`, events: ['link.broken', 'link.unlinked'], enabled: false });
      expect(changed.status).toBe(200);
      expect(changed.body).toMatchObject({ id, url: `${receiver.url}/hooks?v=2`, events: ['link.broken', 'link.unlinked'], enabled: false });
      expect(changed.body).not.toHaveProperty('secret');
      expect(JSON.stringify(changed.body)).not.toContain(secret.slice(6, 20));
      // Only what is given changes.
      const enabled = await api.patch(path, { enabled: true });
      expect(enabled.body).toMatchObject({ url: `${receiver.url}/hooks?v=2`, events: ['link.broken', 'link.unlinked'], enabled: true, secretCreatedAt: changed.body.secretCreatedAt });
      expect((await api.get(path)).body).toEqual(enabled.body);

      // The secret is the one create gave: a ping to the new url verifies with it.
      await api.patch(path, { url: `${receiver.url}/hooks` }).expect(200);
      const sent = await api.post(`${path}/test`, {});
      await waitFor('the ping', () => receiver.calls.some((c) => c.headers['webhook-id'] === sent.body.id));
      expect(
        verified(
          secret,
          receiver.calls.find((c) => c.headers['webhook-id'] === sent.body.id)!,
        ),
      ).toMatchObject({ type: 'ping' });
      await api.delete(path).expect(204);
    });

    test('a disabled endpoint gets no new events; the deliveries list pages newest first with after/next', async () => {
      const api = adminApi(app);
      const on = await createEndpoint(app, `${receiver.url}/hooks`, ['linking.misconfigured']);
      const off = await createEndpoint(app, `${receiver.url}/hooks`, ['linking.misconfigured']);
      await api.patch(`/extensions/${EXT}/webhooks/${off.id}`, { enabled: false }).expect(200);
      await app.services.features.webhooks.service.emit({ type: 'linking.misconfigured', extensionId: EXT, reason: 'test' });
      const list = (id: string, q = '') => api.get(`/extensions/${EXT}/webhooks/${id}/deliveries${q}`);
      expect((await list(on.id)).body.deliveries).toHaveLength(1);
      expect((await list(off.id)).body).toEqual({ deliveries: [], next: null });

      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push((await api.post(`/extensions/${EXT}/webhooks/${off.id}/test`, {})).body.id as string);
      const seen: string[] = [];
      let next: string | null = null;
      do {
        const page = await list(off.id, `?limit=3${next === null ? '' : `&after=${next}`}`);
        expect(page.status).toBe(200);
        expect(page.body.deliveries.length).toBeLessThanOrEqual(3);
        seen.push(...(page.body.deliveries as Array<{ id: string }>).map((d) => d.id));
        next = page.body.next as string | null;
      } while (next !== null);
      expect([...seen].sort()).toEqual([...ids].sort());
      // Newest first: an id's characters 4–12 are its millisecond in base 36.
      const times = seen.map((id) => id.slice(4, 13));
      expect(times).toEqual([...times].sort().reverse());
      expect((await list(off.id, '?after=nope')).body.error.code).toBe('invalid_query');
      await api.delete(`/extensions/${EXT}/webhooks/${on.id}`).expect(204);
      await api.delete(`/extensions/${EXT}/webhooks/${off.id}`).expect(204);
    });

    test('ping: delivered signed (reference implementation), the deliveries list shows it; redelivery sends the message again', async () => {
      const { id, secret } = await createEndpoint(app, `${receiver.url}/hooks`, ['link.created']);
      const before = receiver.calls.length;
      const sent = await adminApi(app).post(`/extensions/${EXT}/webhooks/${id}/test`, {});
      expect(sent.status).toBe(202);
      expect(sent.body).toMatchObject({ type: 'ping', status: 'pending', tries: 0 });
      await waitFor('the ping', () => receiver.calls.length > before);
      const call = receiver.calls.at(-1)!;
      expect(call.headers['content-type']).toBe('application/json');
      expect(call.headers['webhook-id']).toBe(sent.body.id);
      expect(Math.abs(Number(call.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
      expect(verified(secret, call)).toEqual({ type: 'ping', timestamp: expect.any(String), data: { extensionId: EXT } });
      expect(() => verified(`whsec_${randomBytes(32).toString('base64')}`, call)).toThrow();

      await waitFor('the delivery to be recorded', async () => (await adminApi(app).get(`/extensions/${EXT}/webhooks/${id}/deliveries`)).body.deliveries[0]?.status === 'delivered');
      const [delivery] = (await adminApi(app).get(`/extensions/${EXT}/webhooks/${id}/deliveries`)).body.deliveries;
      expect(delivery).toMatchObject({ id: sent.body.id, type: 'ping', status: 'delivered', tries: 1, nextTryAt: null, lastStatusCode: 204, lastError: null });
      const tries = (await app.services.metrics.webhookTries.get()).values.find((v) => v.labels['outcome'] === 'delivered');
      expect(tries?.value).toBeGreaterThanOrEqual(1);

      const again = await adminApi(app).post(`/extensions/${EXT}/webhooks/${id}/deliveries/${delivery.id}/redeliver`, {});
      expect(again.status).toBe(202);
      expect(again.body).toMatchObject({ redeliveryOf: delivery.id, status: 'pending' });
      await waitFor('the redelivery', () => receiver.calls.some((c) => c.headers['webhook-id'] === again.body.id));
      const resent = receiver.calls.find((c) => c.headers['webhook-id'] === again.body.id)!;
      expect(resent.body.toString('utf8')).toBe(call.body.toString('utf8'));
      expect(verified(secret, resent)).toMatchObject({ type: 'ping' });
      await adminApi(app).delete(`/extensions/${EXT}/webhooks/${id}`).expect(204);
    });

    test('ping and redelivery take no fields: a body with one is 400 invalid_body and queues nothing; no body, or {}, works; 404 before 400', async () => {
      const { id } = await createEndpoint(app, `${receiver.url}/hooks`, ['link.created']);
      const path = `/extensions/${EXT}/webhooks/${id}`;
      const deliveries = async () => (await adminApi(app).get(`${path}/deliveries`)).body.deliveries as Array<{ id: string }>;
      const refused = async (p: string, body: object) => {
        const res = await request(app.url).post(`/api/v1${p}`).set(app.adminHeaders).send(body);
        expect([p, res.status, res.body.error?.code, res.body.error?.details?.[0]?.path]).toEqual([p, 400, 'invalid_body', '(body)']);
        return res;
      };
      const extra = await refused(`${path}/test`, { type: 'link.created' });
      expect(extra.body.error.details[0].message).toBe('unknown field(s): type');
      await refused(`${path}/test`, ['ping']);
      expect(await deliveries()).toEqual([]);

      const bare = await request(app.url).post(`/api/v1${path}/test`).set(app.adminHeaders);
      expect(bare.status).toBe(202);
      expect((await adminApi(app).post(`${path}/test`, {})).status).toBe(202);
      const [latest] = await deliveries();
      await refused(`${path}/deliveries/${latest!.id}/redeliver`, { force: true });
      expect(await deliveries()).toHaveLength(2);
      expect((await request(app.url).post(`/api/v1${path}/deliveries/${latest!.id}/redeliver`).set(app.adminHeaders)).status).toBe(202);

      // An unknown extension or endpoint is named before the body.
      expect((await adminApi(app).post(`/extensions/${EXT}/webhooks/wh_AAAAAAAAAAAAAAAA/test`, { type: 'x' })).body.error.code).toBe('not_found');
      expect((await adminApi(app).post(`/extensions/com.example.none/webhooks/${id}/test`, { type: 'x' })).status).toBe(404);
      // The self-test takes no fields either.
      const selfTest = await adminApi(app).post(`/extensions/${EXT}/self-test`, { quick: true });
      expect([selfTest.status, selfTest.body.error.details[0].message]).toEqual([400, 'unknown field(s): quick']);
      await adminApi(app).delete(path).expect(204);
    });

    test('rotation: during the grace period both secrets sign (two signatures), after it only the new one', async () => {
      const { id, secret: first } = await createEndpoint(app, `${receiver.url}/hooks`, ['link.created']);
      const rotated = await adminApi(app).post(`/extensions/${EXT}/webhooks/${id}/secret`, { graceSeconds: 3600 });
      expect(rotated.status).toBe(200);
      const second = rotated.body.secret as string;
      expect(second).not.toBe(first);
      expect(Date.parse(rotated.body.previousSecretExpiresAt as string)).toBeGreaterThan(Date.now() + 3500_000);

      const ping = async (): Promise<TargetCall> => {
        const sent = await adminApi(app).post(`/extensions/${EXT}/webhooks/${id}/test`, {});
        await waitFor('the ping', () => receiver.calls.some((c) => c.headers['webhook-id'] === sent.body.id));
        return receiver.calls.find((c) => c.headers['webhook-id'] === sent.body.id)!;
      };
      const during = await ping();
      expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expect(verified(first, during)).toMatchObject({ type: 'ping' });
      expect(verified(second, during)).toMatchObject({ type: 'ping' });

      const third = (await adminApi(app).post(`/extensions/${EXT}/webhooks/${id}/secret`, { graceSeconds: 0 })).body.secret as string;
      const after = await ping();
      expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
      expect(verified(third, after)).toMatchObject({ type: 'ping' });
      expect(() => verified(second, after)).toThrow();
      expect(() => verified(first, after)).toThrow();
      await adminApi(app).delete(`/extensions/${EXT}/webhooks/${id}`).expect(204);
    });

    test("a real linking flow sends link.created, a broken link link.broken, linking again link.recovered, an admin unlink link.unlinked, CLOVA's SkillDisabled link.unlinked; never a token", async () => {
      receiver.on('/links', reply.status(200));
      const { secret } = await createEndpoint(app, `${receiver.url}/links`, ['link.created', 'link.broken', 'link.recovered', 'link.unlinked']);
      const userId = 'user-hooks-1';
      await linkUser(app, userId);
      await waitFor('link.created', () => receiver.callsTo('/links').length >= 1);

      const ext = (await app.services.registry.resolve(EXT))!;
      await app.services.linking.markBroken(ext, userId, 'the target refused the token twice');
      // Already broken: no second event.
      await app.services.linking.markBroken(ext, userId, 'again');
      await waitFor('link.broken', () => receiver.callsTo('/links').length >= 2);
      await linkUser(app, userId);
      await waitFor('link.recovered', () => receiver.callsTo('/links').length >= 3);
      await adminApi(app).delete(`/extensions/${EXT}/links/${userId}`).expect(204);
      await waitFor('link.unlinked', () => receiver.callsTo('/links').length >= 4);
      await linkUser(app, userId);
      // One event at a time: tries of one pass are sent at once, so two queued together may arrive in either order.
      await waitFor('link.created again', () => receiver.callsTo('/links').length >= 5);
      const raw = JSON.stringify(eventRequest({ extensionId: EXT, userId, namespace: 'ClovaSkill', name: 'SkillDisabled', timestamp: cekTimestamp(Date.now() + 1000) }));
      await request(app.url).post(`/cek/${EXT}`).set('SignatureCEK', app.signer.sign(raw)).send(raw).expect(200);
      await waitFor('link.unlinked again', () => receiver.callsTo('/links').length >= 6);

      const calls = receiver.callsTo('/links');
      expect(typesOf(calls)).toEqual(['link.created', 'link.broken', 'link.recovered', 'link.unlinked', 'link.created', 'link.unlinked']);
      const payloads = calls.map((c) => verified(secret, c));
      expect(payloads).toEqual([
        { type: 'link.created', timestamp: expect.any(String), data: { extensionId: EXT, userId } },
        { type: 'link.broken', timestamp: expect.any(String), data: { extensionId: EXT, userId, reason: 'the target refused the token twice' } },
        { type: 'link.recovered', timestamp: expect.any(String), data: { extensionId: EXT, userId, reason: 'linked again' } },
        { type: 'link.unlinked', timestamp: expect.any(String), data: { extensionId: EXT, userId, reason: 'admin' } },
        { type: 'link.created', timestamp: expect.any(String), data: { extensionId: EXT, userId } },
        { type: 'link.unlinked', timestamp: expect.any(String), data: { extensionId: EXT, userId, reason: 'skill_disabled' } },
      ]);
      // No token of the link in any body.
      const tokens = await app.services.linking.links(EXT, { limit: 10 });
      expect(tokens.links).toEqual([]);
      for (const c of calls) expect(c.body.toString('utf8')).not.toMatch(/token"|access|refresh/i);
    });

    test('the misconfigured mark, set and cleared, sends linking.misconfigured and linking.recovered (only to endpoints subscribed to them)', async () => {
      receiver.on('/health', reply.status(200));
      const { secret } = await createEndpoint(app, `${receiver.url}/health`, ['linking.misconfigured', 'linking.recovered']);
      const health = new LinkingHealth({ store: app.store, log: createLogger('silent'), metrics: createMetrics({ defaultMetrics: false }), events: app.services.features.webhooks.service });
      await health.clientRejected(EXT, 'v-test', 'invalid_client (HTTP 401)');
      // One at a time: the order of arrival is not guaranteed (README), the payload's timestamp is.
      await waitFor('linking.misconfigured', () => receiver.callsTo('/health').length >= 1);
      await health.healed(EXT, 'settings saved');
      // Nothing was marked: nothing to announce.
      await health.healed(EXT, 'settings saved');
      await waitFor('both events', () => receiver.callsTo('/health').length >= 2);
      await new Promise((r) => setTimeout(r, 300));
      const calls = receiver.callsTo('/health');
      expect(calls.map((c) => verified(secret, c))).toEqual([
        { type: 'linking.misconfigured', timestamp: expect.any(String), data: { extensionId: EXT, reason: 'invalid_client (HTTP 401)' } },
        { type: 'linking.recovered', timestamp: expect.any(String), data: { extensionId: EXT, reason: 'settings saved' } },
      ]);
      // The link endpoint is not subscribed to these.
      expect(typesOf(receiver.callsTo('/links')).filter((t) => t.startsWith('linking.'))).toEqual([]);
    });
    // Last of this app: afterwards its records are sealed under a key its own keyring lacks.
    test('npm run reseal re-seals endpoint secrets, the earlier ones in their grace period too', async () => {
      const { id } = await createEndpoint(app, `${receiver.url}/hooks`, ['link.created']);
      const current = (await adminApi(app).post(`/extensions/${EXT}/webhooks/${id}/secret`, { graceSeconds: 3600 })).body.secret as string;
      const before = await sealedKeyUse(app.store, SEALED_FAMILIES);
      const newKey = randomBytes(32);
      await resealStore(app.store, new Keyring([newKey, ...app.config.encryptionKeys]));
      const only = new Keyring([newKey]);
      const after = await sealedKeyUse(app.store, SEALED_FAMILIES);
      expect([...after.keys()]).toEqual(only.keyIds);
      expect(after.get(only.keyIds[0] ?? '')).toBe([...before.values()].reduce((a, b) => a + b, 0));
      const endpoint = (await app.services.registry.get(EXT)).sections.webhooks?.endpoints[id];
      const keys = openKeys(endpoint!.secrets, (sealed) => only.open(sealed, webhookSecretContext(EXT, id)));
      expect(keys.previous).toHaveLength(1);
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signature = signatureHeader(keys, 'msg_1', timestamp, '{"a":1}');
      expect(signature.split(' ')).toHaveLength(2);
      expect(new Webhook(current).verify('{"a":1}', { 'webhook-id': 'msg_1', 'webhook-timestamp': timestamp, 'webhook-signature': signature })).toEqual({ a: 1 });
    });
  });

  test('two instances on one store work one queue: every message arrives, each try sent by one of them only', async () => {
    const shared: TestStore = await openTestStore(kind, 'webhooks-two');
    const encryptionKey = randomBytes(32).toString('base64');
    const receiver = await startTarget({ '/hooks': reply.status(200) });
    const apps: TestApp[] = [];
    try {
      for (let i = 0; i < 2; i++) apps.push(await startTestApp({ label: 'webhooks-two', sharedStore: shared, encryptionKey }));
      const [a, b] = apps as [TestApp, TestApp];
      await adminApi(a).post('/extensions', { extensionId: EXT, language: 'en' }).expect(201);
      const { id, secret } = await createEndpoint(a, `${receiver.url}/hooks`, ['link.created']);
      const sent: string[] = [];
      for (let i = 0; i < 20; i++) sent.push((await adminApi(i % 2 === 0 ? a : b).post(`/extensions/${EXT}/webhooks/${id}/test`, {})).body.id as string);
      await waitFor('all twenty', () => new Set(receiver.calls.map((c) => c.headers['webhook-id'])).size >= 20);
      await new Promise((r) => setTimeout(r, 500));
      expect(receiver.calls.map((c) => String(c.headers['webhook-id'])).sort()).toEqual([...sent].sort());
      for (const c of receiver.calls) expect(verified(secret, c)).toMatchObject({ type: 'ping' });
    } finally {
      for (const app of apps) await app.close();
      await receiver.close();
      await shared.cleanup();
    }
  }, 30_000);

  test('a receiver that is down for the first tries gets every event once it is back, also when the service restarted in between', async () => {
    const shared: TestStore = await openTestStore(kind, 'webhooks-restart');
    const encryptionKey = randomBytes(32).toString('base64');
    const env = { WEBHOOK_FIRST_RETRY_SECONDS: '0.2' };
    const port = await closedPort();
    let receiver: TestTarget | undefined;
    let second: TestApp | undefined;
    try {
      const first = await startTestApp({ label: 'webhooks-restart', sharedStore: shared, encryptionKey, env });
      await adminApi(first).post('/extensions', { extensionId: EXT, language: 'en' }).expect(201);
      const { id, secret } = await createEndpoint(first, `http://127.0.0.1:${port}/hooks`, ['link.unlinked']);
      const pings = [];
      for (let i = 0; i < 3; i++) pings.push((await adminApi(first).post(`/extensions/${EXT}/webhooks/${id}/test`, {})).body.id as string);
      const deliveries = async (app: TestApp) =>
        (await adminApi(app).get(`/extensions/${EXT}/webhooks/${id}/deliveries`)).body.deliveries as Array<{
          id: string;
          tries: number;
          status: string;
          lastError: string | null;
          nextTryAt: string | null;
        }>;
      // Every delivery was tried at least twice while nobody listened, and is still pending.
      await waitFor('two failed tries each', async () => (await deliveries(first)).every((d) => d.tries >= 2));
      for (const d of await deliveries(first)) {
        expect(d.status).toBe('pending');
        expect(d.lastError).toBe('ECONNREFUSED');
        expect(d.nextTryAt).not.toBeNull();
      }
      await first.close();

      receiver = await startTarget({ '/hooks': reply.status(200) }, port);
      second = await startTestApp({ label: 'webhooks-restart', sharedStore: shared, encryptionKey, env });
      const linkEvent = second.services.features.webhooks.service.emit({ type: 'link.unlinked', extensionId: EXT, userId: 'u-9', reason: 'skill_disabled' });
      await linkEvent;
      await waitFor('all four messages', () => new Set(receiver!.calls.map((c) => c.headers['webhook-id'])).size >= 4, 20_000);
      const got = new Map(receiver.calls.map((c) => [String(c.headers['webhook-id']), verified(secret, c)]));
      for (const p of pings) expect(got.get(p)).toMatchObject({ type: 'ping' });
      expect([...got.values()]).toContainEqual({ type: 'link.unlinked', timestamp: expect.any(String), data: { extensionId: EXT, userId: 'u-9', reason: 'skill_disabled' } });
      await waitFor('all delivered', async () => (await deliveries(second!)).every((d) => d.status === 'delivered'));
    } finally {
      await second?.close();
      await receiver?.close();
      await shared.cleanup();
    }
  }, 40_000);
});

describe('webhook endpoints in production mode (the target policy)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ label: 'webhooks-prod', env: { NODE_ENV: 'production', PUBLIC_URL: 'https://cek.example.com' } });
    expect(app.config.production).toBe(true);
    await adminApi(app).post('/extensions', { extensionId: EXT, language: 'en' }).expect(201);
  });
  afterAll(async () => {
    await app.close();
  });

  test.each(['http://hooks.example.com/x', 'https://127.0.0.1/x', 'https://[::1]/x', 'https://10.1.2.3/x', 'https://169.254.169.254/latest', 'https://localhost/x'])('%s is refused', async (url) => {
    const res = await adminApi(app).post(`/extensions/${EXT}/webhooks`, { url, events: ['link.created'] });
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].path).toBe('url');
  });

  test('PATCH applies the same policy to a new url', async () => {
    const { id } = await createEndpoint(app, 'https://hooks.example.com/x', ['link.created']);
    for (const url of ['http://hooks.example.com/x', 'https://127.0.0.1/x', 'https://localhost/x']) {
      const res = await adminApi(app).patch(`/extensions/${EXT}/webhooks/${id}`, { url });
      expect(res.status).toBe(400);
      expect(res.body.error.details[0].path).toBe('url');
    }
    expect((await adminApi(app).get(`/extensions/${EXT}/webhooks/${id}`)).body.url).toBe('https://hooks.example.com/x');
    await adminApi(app).patch(`/extensions/${EXT}/webhooks/${id}`, { url: 'https://hooks2.example.com/x' }).expect(200);
    await adminApi(app).delete(`/extensions/${EXT}/webhooks/${id}`).expect(204);
  });

  test('a loopback address or a name resolving to one is refused when dialled (DNS rebinding), unless the extension allows private targets', async () => {
    const tcp = await startConnectionCounter();
    const setAllow = (allow: boolean) => adminApi(app).patch(`/extensions/${EXT}`, { allowPrivateTargets: allow }).expect(200);
    const lastTry = async (id: string) => {
      const sent = await adminApi(app).post(`/extensions/${EXT}/webhooks/${id}/test`, {});
      expect(sent.status).toBe(202);
      const tried = async () =>
        ((await adminApi(app).get(`/extensions/${EXT}/webhooks/${id}/deliveries`)).body.deliveries as Array<{ id: string; tries: number; lastError: string | null }>).find(
          (d) => d.id === sent.body.id,
        );
      await waitFor('the first try', async () => ((await tried())?.tries ?? 0) >= 1);
      return (await tried())!;
    };
    try {
      // Defined while allowed (the text check refuses both), so only the connect-time check stands in the way.
      await setAllow(true);
      const byAddress = await createEndpoint(app, `https://127.0.0.1:${tcp.port}/x`, ['link.created']);
      const byName = await createEndpoint(app, `https://localhost:${tcp.port}/x`, ['link.created']);
      await setAllow(false);
      expect((await lastTry(byAddress.id)).lastError).toBe('blocked: private address');
      expect((await lastTry(byName.id)).lastError).toBe('blocked: private address');
      expect(tcp.connections).toHaveLength(0);

      // Allowed again: dialled (the TLS handshake with a plain TCP listener then fails).
      await setAllow(true);
      expect((await lastTry(byAddress.id)).lastError).not.toBe('blocked: private address');
      expect(tcp.connections.length).toBeGreaterThanOrEqual(1);
    } finally {
      await tcp.close();
    }
  });
});

/** The whole flow over HTTP: voice prompt → code on /link → provider login + consent → callback. */
async function linkUser(app: TestApp, userId: string): Promise<void> {
  const browser = new FetchBrowser();
  const raw = JSON.stringify(intentRequest({ extensionId: EXT, intent: 'WhoAmI', userId }));
  const prompt = await request(app.url).post(`/cek/${EXT}`).set('SignatureCEK', app.signer.sign(raw)).send(raw);
  const code = spokenCode(speechOf(prompt.body));
  const form = await browser.request(`${app.url}/link`);
  const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? '';
  const posted = await browser.request(`${app.url}/link`, { form: { csrf, code } });
  expect(posted.status).toBe(303);
  const callback = await browser.authorize(posted.location!, `${app.config.publicUrl}/oauth/callback`);
  const done = await browser.request(`${app.url}${callback.pathname}${callback.search}`);
  expect(done.status).toBe(200);
}
