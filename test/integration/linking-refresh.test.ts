import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import request from 'supertest';
import { Keyring } from '../../src/security/keyring.js';
import type { SqliteStore } from '../../src/store/sqliteStore.js';
import type { RedisStore } from '../../src/store/redisStore.js';
import { Redis } from 'ioredis';
import { linkWithSpokenCode } from '../helpers/linkFlow.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { vaultOf } from '../helpers/vault.js';
import { intentRequest } from '../helpers/cek.js';
import { startProvider, type TestProvider } from '../helpers/provider.js';
import { openTestStore, redisAvailable, redisUrl, type TestStore } from '../helpers/stores.js';
import { tokenProbe, speechOf, spokenCode } from '../helpers/tokenProbe.js';

const EXT = 'com.example.refresh';

const voice = (app: TestApp, userId: string) => {
  const raw = JSON.stringify(intentRequest({ extensionId: EXT, intent: 'WhoAmI', userId }));
  return request(app.url).post(`/cek/${EXT}`).set('SignatureCEK', app.signer.sign(raw)).send(raw);
};

async function configure(app: TestApp, provider: TestProvider): Promise<void> {
  await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: EXT, language: 'en' }).expect(201);
  await request(app.url)
    .put(`/api/v1/extensions/${EXT}/account-linking`)
    .set(app.adminHeaders)
    .send({ enabled: true, loginUrl: provider.authorizationUrl, tokenUrl: provider.tokenUrl, clientId: provider.clientId, clientSecret: provider.clientSecret, scope: 'api' })
    .expect(200);
}

async function link(app: TestApp, userId: string): Promise<void> {
  const code = spokenCode(speechOf((await voice(app, userId)).body));
  expect(await linkWithSpokenCode(app, code)).toContain('Account linked');
}

const describeRedis = redisAvailable ? describe : describe.skip;

describeRedis('refresh under contention: two instances sharing one Redis', () => {
  let shared: TestStore;
  let a: TestApp;
  let b: TestApp;
  let provider: TestProvider;
  const key = randomBytes(32).toString('base64');

  beforeAll(async () => {
    shared = await openTestStore('redis', 'refresh-storm');
    a = await startTestApp({ sharedStore: shared, encryptionKey: key, responders: tokenProbe });
    b = await startTestApp({ sharedStore: shared, encryptionKey: key, signer: a.signer, responders: tokenProbe });
    provider = await startProvider({ clientAuth: 'basic', redirectUri: `${a.config.publicUrl}/oauth/callback` });
    await configure(a, provider);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await shared.cleanup();
    await provider.close();
  });

  test('50 concurrent requests for a user whose token just expired: one token-endpoint call, every request gets the new token', async () => {
    await link(a, 'storm-user');
    const vault = vaultOf(a);
    const old = await vault.read(EXT, 'storm-user');
    await vault.update(EXT, 'storm-user', (r) => {
      r.expiresAt = Date.now() - 1000;
      delete r.successPending;
    });
    const before = provider.counts.refresh;
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => voice(i % 2 === 0 ? a : b, 'storm-user')));
    expect(provider.counts.refresh - before).toBe(1);
    const fresh = await vault.read(EXT, 'storm-user');
    expect(fresh!.tokens.accessToken).not.toBe(old!.tokens.accessToken);
    for (const res of answers) {
      expect(res.status).toBe(200);
      expect(speechOf(res.body)).toBe(`token ${fresh!.tokens.accessToken}`);
    }
    // The lock is released (compare-and-delete) once the refresh is done.
    expect(await shared.store.get(`lock:refresh:${EXT}:storm-user`)).toBeNull();
    // The raw Redis value holds neither token as text.
    const redis = new Redis(redisUrl());
    try {
      const raw = await redis.get(`${(shared.store as RedisStore).prefix}tok:${EXT}:storm-user`);
      expect(raw).toContain('"sealed":"v1.');
      expect(raw).not.toContain(fresh!.tokens.accessToken);
      expect(raw).not.toContain(fresh!.tokens.refreshToken!);
    } finally {
      redis.disconnect();
    }
  });
});

describe('the vault at rest', () => {
  let provider: TestProvider;
  afterAll(async () => {
    await provider.close();
  });

  test('the raw SQLite row holds neither token as text, and a record sealed under a previous key still opens after rotation', async () => {
    const store = await openTestStore('sqlite', 'vault-rest');
    const oldKey = randomBytes(32).toString('base64');
    const app = await startTestApp({ sharedStore: store, encryptionKey: oldKey, responders: tokenProbe });
    provider = await startProvider({ clientAuth: 'basic', redirectUri: `${app.config.publicUrl}/oauth/callback` });
    await configure(app, provider);
    await link(app, 'rest-user');
    const { tokens } = (await vaultOf(app).read(EXT, 'rest-user'))!;
    const file = (store.store as SqliteStore).file;
    const db = new Database(file, { readonly: true });
    const rows = db.prepare('SELECT key, value FROM kv').all() as Array<{ key: string; value: string }>;
    db.close();
    const row = rows.find((r) => r.key.endsWith(`tok:${EXT}:rest-user`));
    expect(row).toBeDefined();
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(tokens.accessToken);
    expect(dump).not.toContain(tokens.refreshToken!);
    expect(dump).not.toContain(provider.clientSecret);
    await app.close();

    // Rotate: a new current key, the old one listed as previous.
    const rotated = await startTestApp({
      sharedStore: store,
      encryptionKey: randomBytes(32).toString('base64'),
      env: { ENCRYPTION_KEYS_PREVIOUS: oldKey },
      signer: app.signer,
      responders: tokenProbe,
    });
    const spoken = speechOf((await voice(rotated, 'rest-user')).body);
    expect(spoken).toContain(`token ${tokens.accessToken}`);
    await rotated.close();

    // Without the old key the service refuses to start (issue 13 item 11: it would serve records it cannot open).
    const newKey = randomBytes(32).toString('base64');
    await expect(startTestApp({ sharedStore: store, encryptionKey: newKey, signer: app.signer, responders: tokenProbe })).rejects.toThrow(/ENCRYPTION_KEYS_PREVIOUS/);
    // A record that still does not open (sealed under a key no instance has) fails closed: the user is asked to link again.
    const lost = await startTestApp({ sharedStore: store, encryptionKey: newKey, env: { ENCRYPTION_KEYS_PREVIOUS: oldKey }, signer: app.signer, responders: tokenProbe });
    const record = JSON.parse((await store.store.get(`tok:${EXT}:rest-user`)) ?? '{}') as { sealed: string };
    record.sealed = new Keyring([randomBytes(32)]).seal('{}', `token:${EXT}:rest-user`);
    await store.store.set(`tok:${EXT}:rest-user`, JSON.stringify(record));
    const res = await voice(lost, 'rest-user');
    expect(res.status).toBe(200);
    expect(speechOf(res.body)).toMatch(/code \d \d \d, \d \d \d, \d \d \d, \d \d \d/);
    expect(JSON.stringify(res.body)).not.toContain(tokens.accessToken);
    await lost.close();
    await store.cleanup();
  });
});
