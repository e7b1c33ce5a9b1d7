import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { EXTENSION_RECORD_VERSION, migrateExtensionRecord, type ExtensionRecord } from '../../src/extensions/model.js';
import { startTestApp } from '../helpers/app.js';
import { chatbotSignature, launchRequest, makeClovaSigner } from '../helpers/cek.js';
import { openTestStore } from '../helpers/stores.js';

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
    expect(() => migrateExtensionRecord(newer)).toThrow(/newer cek-gateway/);
  });
});
