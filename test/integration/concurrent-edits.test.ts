import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { adminApi } from '../helpers/adminApi.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { chatbotSignature, launchRequest } from '../helpers/cek.js';
import { openTestStore, storeKinds, type TestStore } from '../helpers/stores.js';

// Admin changes of one extension that arrive at the same time, at one instance or at two sharing a
// store, must all land (or be refused with a reason): the registry changes a record by
// compare-and-set, so no change silently overwrites another.
describe.each(storeKinds)('concurrent admin changes of one extension on %s', (kind) => {
  const ID = 'com.example.concurrent';
  const TARGET = 'http://127.0.0.1:9/never-called';
  let shared: TestStore;
  let a: TestApp;
  let b: TestApp;
  const admin = adminApi;
  let secret: string;
  /** Every second request goes to the other instance. */
  const either = (i: number) => admin(i % 2 === 0 ? a : b);

  beforeAll(async () => {
    shared = await openTestStore(kind, 'concurrent');
    const encryptionKey = randomBytes(32).toString('base64');
    a = await startTestApp({ sharedStore: shared, encryptionKey });
    b = await startTestApp({ sharedStore: shared, encryptionKey });
    const created = await admin(a).post('/extensions', { extensionId: ID, language: 'en' });
    expect(created.status).toBe(201);
    secret = created.body.chatbotSecret as string;
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await shared.cleanup();
  });

  test('20 API keys created at once over two instances: 20 keys, each value works', async () => {
    const created = await Promise.all(Array.from({ length: 20 }, (_, i) => either(i).post(`/extensions/${ID}/keys`, { name: `key-${i}` })));
    expect(created.map((r) => r.status)).toEqual(Array(20).fill(201));
    const listed = await admin(a).get(`/extensions/${ID}/keys`);
    expect(listed.body.keys.map((k: { name: string }) => k.name).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `key-${i}`).sort());

    // Every value handed out opens the door (none belongs to a key that was lost).
    await admin(a).put(`/extensions/${ID}/gateway`, { requireApiKey: true });
    const raw = JSON.stringify(launchRequest({ extensionId: ID }));
    for (const res of created) {
      const call = await request(b.url)
        .post(`/cek/${ID}`)
        .set('content-type', 'application/json')
        .set('X-NCP-CHATBOT_SIGNATURE', chatbotSignature(secret, raw))
        .set('x-ncp-apigw-api-key', res.body.primary.value as string)
        .send(raw);
      expect(call.status).toBe(200);
    }
    // And a value nobody was given does not.
    const stranger = await request(b.url)
      .post(`/cek/${ID}`)
      .set('content-type', 'application/json')
      .set('X-NCP-CHATBOT_SIGNATURE', chatbotSignature(secret, raw))
      .set('x-ncp-apigw-api-key', 'not-a-key')
      .send(raw);
    expect(stranger.status).toBe(403);
    await admin(a).put(`/extensions/${ID}/gateway`, { requireApiKey: false });
    await Promise.all(created.map((r, i) => either(i).delete(`/extensions/${ID}/keys/${r.body.id}`)));
    expect((await admin(b).get(`/extensions/${ID}/keys`)).body.keys).toEqual([]);
  });

  test('10 action methods saved at once, together with account-linking and gateway settings: all of it is kept', async () => {
    const actions = Array.from({ length: 10 }, (_, i) => either(i).put(`/extensions/${ID}/actions/intent-${i}`, { trigger: { type: 'IntentRequest', intent: `Intent${i}` }, url: TARGET }));
    const linking = either(1).put(`/extensions/${ID}/account-linking`, {
      enabled: false,
      loginUrl: 'https://auth.example.com/authorize',
      tokenUrl: 'https://auth.example.com/token',
      clientId: 'client-1',
    });
    const gateway = either(0).put(`/extensions/${ID}/gateway`, { usagePlan: { dayQuota: 1000 } });
    const rename = either(1).patch(`/extensions/${ID}`, { name: 'Renamed at the same time' });
    const results = await Promise.all([...actions, linking, gateway, rename]);
    for (const res of results) expect(res.status).toBeLessThan(300);

    const listed = await admin(b).get(`/extensions/${ID}/actions`);
    expect(listed.body.actions.map((x: { name: string }) => x.name).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `intent-${i}`).sort());
    expect((await admin(a).get(`/extensions/${ID}/account-linking`)).body).toMatchObject({ clientId: 'client-1' });
    expect((await admin(b).get(`/extensions/${ID}/gateway`)).body.usagePlan).toMatchObject({ dayQuota: 1000 });
    expect((await admin(a).get(`/extensions/${ID}`)).body.name).toBe('Renamed at the same time');
  });

  test('two actions claiming one trigger at the same moment: exactly one is saved, the other is told why', async () => {
    const [first, second] = await Promise.all([
      admin(a).put(`/extensions/${ID}/actions/claim-a`, { trigger: { type: 'LaunchRequest' }, url: TARGET }),
      admin(b).put(`/extensions/${ID}/actions/claim-b`, { trigger: { type: 'LaunchRequest' }, url: TARGET }),
    ]);
    expect([first.status, second.status].sort()).toEqual([201, 409]);
    const refused = first.status === 409 ? first : second;
    expect(refused.body.error.code).toBe('conflict');
    expect(refused.body.error.message).toMatch(/already answers/);
    const listed = await admin(a).get(`/extensions/${ID}/actions`);
    const launch = listed.body.actions.filter((x: { trigger: { type: string } }) => x.trigger.type === 'LaunchRequest');
    expect(launch).toHaveLength(1);
  });
});
