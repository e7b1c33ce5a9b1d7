import { randomBytes } from 'node:crypto';
import { Keyring } from '../../src/security/keyring.js';
import { checkSealedKeys, MissingKeysError, resealAll, sealedKeyUse, type JsonPath, type SealedFamily } from '../../src/security/reseal.js';
import { openTestStore, storeKinds, type TestStore } from '../helpers/stores.js';

const oldKey = randomBytes(32);
const newKey = randomBytes(32);
const lostKey = randomBytes(32);
const ctx = (key: string) => `thing:${key}`;

/** Records `thing:<n>` = `{ "label": ..., "secret": <sealed> }`. */
function family(onContext?: (key: string) => Promise<void> | void): SealedFamily {
  return {
    name: 'things',
    prefix: 'thing:',
    contextOf(key: string, path: JsonPath) {
      void onContext?.(key);
      return path.length === 1 && path[0] === 'secret' ? ctx(key) : undefined;
    },
  };
}

describe.each(storeKinds)('reseal (%s)', (kind) => {
  let t: TestStore;
  const old = new Keyring([oldKey]);
  const both = new Keyring([newKey, oldKey]);
  beforeEach(async () => {
    t = await openTestStore(kind, 'reseal');
    for (let i = 0; i < 5; i++) {
      const key = `thing:${i}`;
      // The label looks sealed but is no sealed field of the family: never counted or touched.
      await t.store.set(key, JSON.stringify({ label: `v1.${'0'.repeat(8)}.abc`, secret: old.seal(`secret-${i}`, ctx(key)), n: i }));
    }
  });
  afterEach(async () => {
    await t.cleanup();
  });

  test('the key check names the ids the keyring lacks', async () => {
    await expect(checkSealedKeys(t.store, both, [family()])).resolves.toBeUndefined();
    const err = await checkSealedKeys(t.store, new Keyring([newKey]), [family()], (missing) => `Look in the vault for ${missing.join(', ')}.`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingKeysError);
    expect(err instanceof MissingKeysError ? err.keyIds : []).toEqual([old.currentKeyId]);
    expect(String(err)).toMatch(new RegExp(`${old.currentKeyId} \\(5 sealed values\\).*ENCRYPTION_KEYS_PREVIOUS.*Look in the vault for ${old.currentKeyId}\\.`));
  });

  test('every value ends under the current key, with the rest of the record as it was; a second run does nothing', async () => {
    const report = await resealAll(t.store, both, [family()]);
    expect(report).toEqual({ records: 5, resealed: 5, unreadable: [], remaining: 0 });
    expect([...(await sealedKeyUse(t.store, [family()]))]).toEqual([[both.currentKeyId, 5]]);
    const only = new Keyring([newKey]);
    for (let i = 0; i < 5; i++) {
      const record = JSON.parse((await t.store.get(`thing:${i}`)) ?? '{}') as { label: string; secret: string; n: number };
      expect(only.open(record.secret, ctx(`thing:${i}`))).toBe(`secret-${i}`);
      expect(record).toMatchObject({ label: `v1.${'0'.repeat(8)}.abc`, n: i });
    }
    expect(await resealAll(t.store, both, [family()])).toEqual({ records: 5, resealed: 0, unreadable: [], remaining: 0 });
  });

  test('a record written by a request between the read and the write is re-read, not overwritten', async () => {
    let raced = false;
    const racing = family(async (key) => {
      if (raced || key !== 'thing:2') return;
      raced = true;
      // A request updates the record (still under the old key, as an instance without the new key would).
      await t.store.set(key, JSON.stringify({ label: 'changed', secret: old.seal('secret-2b', ctx(key)), n: 2 }));
    });
    const report = await resealAll(t.store, both, [racing]);
    expect(report.unreadable).toEqual([]);
    expect(report.remaining).toBe(0);
    const record = JSON.parse((await t.store.get('thing:2')) ?? '{}') as { label: string; secret: string };
    expect(record.label).toBe('changed');
    expect(new Keyring([newKey]).open(record.secret, ctx('thing:2'))).toBe('secret-2b');
  });

  test('values under a key that is not configured are reported, left as they are, and the rest is done', async () => {
    await t.store.set('thing:9', JSON.stringify({ secret: new Keyring([lostKey]).seal('lost', ctx('thing:9')) }));
    const report = await resealAll(t.store, both, [family()]);
    expect(report.resealed).toBe(5);
    expect(report.unreadable).toEqual([{ key: 'thing:9', keyId: new Keyring([lostKey]).currentKeyId, reason: expect.stringContaining('unknown key id') }]);
    expect(report.remaining).toBe(0);
  });
});
