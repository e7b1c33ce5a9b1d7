import { hkdfSync, randomBytes } from 'node:crypto';
import { deriveKey, DERIVED_KEY_USES } from '../../src/security/derive.js';
import { Keyring } from '../../src/security/keyring.js';

describe('deriveKey', () => {
  const master = randomBytes(32);

  test('one 32-byte key per use, all different, none the master key', () => {
    const keys = DERIVED_KEY_USES.map((use) => deriveKey(master, use).toString('hex'));
    expect(new Set(keys).size).toBe(DERIVED_KEY_USES.length);
    for (const k of keys) {
      expect(k).toHaveLength(64);
      expect(k).not.toBe(master.toString('hex'));
    }
  });

  test('HKDF-SHA256 with the info label "cek-gateway <use>" (stable: pairing-code hashes and tickets keep verifying)', () => {
    expect(deriveKey(master, 'pairing codes')).toEqual(Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'cek-gateway pairing codes', 32)));
  });

  test('the keyring derives from its current key', () => {
    const other = randomBytes(32);
    expect(new Keyring([master, other]).deriveKey('link tickets')).toEqual(deriveKey(master, 'link tickets'));
    expect(new Keyring([other, master]).deriveKey('link tickets')).not.toEqual(deriveKey(master, 'link tickets'));
  });
});
