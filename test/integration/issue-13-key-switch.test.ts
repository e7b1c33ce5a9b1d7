import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { resealStore, SEALED_FAMILIES } from '../../src/sealedRecords.js';
import { decodeKey, keyIdOf } from '../../src/security/keyring.js';
import { MissingKeysError, sealedKeyUse } from '../../src/security/reseal.js';
import { startTestApp, type TestApp, type TestAppOptions } from '../helpers/app.js';
import { vaultOf } from '../helpers/vault.js';
import { chatbotSignature, intentRequest, launchRequest, makeClovaSigner } from '../helpers/cek.js';
import { openTestStore, storeKinds, type TestStore } from '../helpers/stores.js';
import { tokenProbe, speechOf } from '../helpers/tokenProbe.js';

// Issue 13 item 11: setting ENCRYPTION_KEY on data sealed with the development key started
// "healthy" while every Chatbot Secret was unreadable (signed calls got 401).
const EXT = 'com.example.keyswitch';
const idOf = (base64: string): string => keyIdOf(decodeKey(base64) ?? Buffer.alloc(0));

describe.each(storeKinds)('switching ENCRYPTION_KEY (%s)', (kind) => {
  let store: TestStore;
  let dataDir: string;
  const devKey = randomBytes(32).toString('base64');
  const newKey = randomBytes(32).toString('base64');
  const signer = makeClovaSigner();
  let chatbotSecret: string;

  const start = (encryptionKey: string, env: Record<string, string> = {}): Promise<TestApp> => {
    const o: TestAppOptions = { sharedStore: store, signer, encryptionKey, responders: tokenProbe, env: { DATA_DIR: dataDir, ...env } };
    return startTestApp(o);
  };
  const signedCall = (app: TestApp) => {
    const raw = JSON.stringify(launchRequest({ extensionId: EXT }));
    return request(app.url).post(`/cek/${EXT}`).set('content-type', 'application/json').set('X-NCP-CHATBOT_SIGNATURE', chatbotSignature(chatbotSecret, raw)).send(raw);
  };
  const whoAmI = async (app: TestApp) => {
    const raw = JSON.stringify(intentRequest({ extensionId: EXT, intent: 'WhoAmI', userId: 'user:1' }));
    return speechOf((await request(app.url).post(`/cek/${EXT}`).set('SignatureCEK', signer.sign(raw)).send(raw)).body);
  };

  beforeAll(async () => {
    store = await openTestStore(kind, `key-switch-${kind}`);
    dataDir = mkdtempSync(join(tmpdir(), 'cek-keyswitch-'));
    // What development left behind: the generated key in DATA_DIR/dev-secrets.json.
    writeFileSync(join(dataDir, 'dev-secrets.json'), JSON.stringify({ encryptionKey: devKey, adminToken: 'dev-admin-token-abcdefghijkl' }));
    const dev = await start(devKey);
    const created = await request(dev.url).post('/api/v1/extensions').set(dev.adminHeaders).send({ extensionId: EXT, language: 'en' }).expect(201);
    // A rotation keeps the first secret in its grace period: a second sealed Chatbot Secret.
    expect(created.body.chatbotSecret).toEqual(expect.any(String));
    const rotated = await request(dev.url).post(`/api/v1/extensions/${EXT}/secret`).set(dev.adminHeaders).send({}).expect(200);
    chatbotSecret = rotated.body.chatbotSecret as string;
    await request(dev.url)
      .put(`/api/v1/extensions/${EXT}/account-linking`)
      .set(dev.adminHeaders)
      .send({ enabled: true, loginUrl: 'http://127.0.0.1:9/auth', tokenUrl: 'http://127.0.0.1:9/token', clientId: 'cid', clientSecret: 'client-secret-1', clientAuth: 'basic', scope: 'api' })
      .expect(200);
    await vaultOf(dev).link(EXT, 'user:1', { accessToken: 'at-sealed-under-dev-key' }, { expiresAt: null, scope: null, tokenType: 'Bearer' });
    await vaultOf(dev).update(EXT, 'user:1', (r) => {
      delete r.successPending;
    });
    expect((await signedCall(dev)).status).toBe(200);
    await dev.close();
  });
  afterAll(async () => {
    await store.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('without the old key: refuses to start, naming the missing key id and the fix', async () => {
    const err: unknown = await start(newKey).then(
      async (app) => {
        await app.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MissingKeysError);
    expect(err instanceof MissingKeysError ? err.keyIds : []).toEqual([idOf(devKey)]);
    const message = err instanceof Error ? err.message : '';
    expect(message).toContain(idOf(devKey));
    expect(message).toContain('ENCRYPTION_KEYS_PREVIOUS');
    expect(message).toContain('npm run reseal');
    expect(message).toContain(`Key id ${idOf(devKey)} is the development key: it is "encryptionKey" in ${join(dataDir, 'dev-secrets.json')}.`);
  });

  test('with ENCRYPTION_KEYS_PREVIOUS: starts; reseal → every record under the new key → starts without the old key and signed calls verify', async () => {
    const both = await start(newKey, { ENCRYPTION_KEYS_PREVIOUS: devKey });
    expect((await signedCall(both)).status).toBe(200);
    const report = await resealStore(store.store, both.services.keyring);
    expect(report).toMatchObject({ resealed: 2, unreadable: [], remaining: 0 });
    expect(report.records).toBeGreaterThanOrEqual(2);
    // Chatbot Secret, the previous one in its grace period, OAuth client secret, linked token.
    expect([...(await sealedKeyUse(store.store, SEALED_FAMILIES))]).toEqual([[idOf(newKey), 4]]);
    // Resumable: a second run has nothing left to do.
    expect(await resealStore(store.store, both.services.keyring)).toMatchObject({ resealed: 0, unreadable: [], remaining: 0 });
    await both.close();

    const onlyNew = await start(newKey);
    try {
      expect((await signedCall(onlyNew)).status).toBe(200);
      expect(await whoAmI(onlyNew)).toBe('token at-sealed-under-dev-key');
      const linking = await request(onlyNew.url).get(`/api/v1/extensions/${EXT}/account-linking`).set(onlyNew.adminHeaders);
      expect(linking.body).toMatchObject({ clientSecretSet: true });
    } finally {
      await onlyNew.close();
    }
  });
});
