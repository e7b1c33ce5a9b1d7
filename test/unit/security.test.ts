import { randomBytes } from 'node:crypto';
import { constantTimeEqual } from '../../src/security/constantTime.js';
import { hmacSha256Base64, keyedHashHex, sha256Hex } from '../../src/security/hash.js';
import { decodeKey, Keyring, keyIdOf, SealError } from '../../src/security/keyring.js';
import { randomDigits, randomSecret, randomToken } from '../../src/security/random.js';

describe('Keyring (AES-256-GCM with key ids)', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);

  test('seals and opens; the sealed text holds neither the plaintext nor the key', () => {
    const ring = new Keyring([k1]);
    const sealed = ring.seal('access-token-ABC', 'token:ext:user');
    expect(sealed.startsWith(`v1.${keyIdOf(k1)}.`)).toBe(true);
    expect(sealed).not.toContain('access-token-ABC');
    expect(sealed).not.toContain(k1.toString('base64'));
    expect(ring.open(sealed, 'token:ext:user')).toBe('access-token-ABC');
  });

  test('a fresh IV each time: the same plaintext seals differently', () => {
    const ring = new Keyring([k1]);
    expect(ring.seal('x', 'c')).not.toBe(ring.seal('x', 'c'));
  });

  test('a record sealed under a previous key still opens after rotation, and new records use the new key', () => {
    const old = new Keyring([k1]).seal('secret', 'ctx');
    const rotated = new Keyring([k2, k1]);
    expect(rotated.open(old, 'ctx')).toBe('secret');
    expect(Keyring.keyIdOfSealed(rotated.seal('secret', 'ctx'))).toBe(keyIdOf(k2));
  });

  test('fails closed: unknown key id, other context, tampered bytes, garbage', () => {
    const sealed = new Keyring([k1]).seal('secret', 'ctx');
    expect(() => new Keyring([k2]).open(sealed, 'ctx')).toThrow(SealError);
    expect(() => new Keyring([k1]).open(sealed, 'other-ctx')).toThrow('failed authentication');
    const [v, kid, data] = sealed.split('.') as [string, string, string];
    const bytes = Buffer.from(data, 'base64url');
    bytes[14] = (bytes[14] ?? 0) ^ 1;
    expect(() => new Keyring([k1]).open(`${v}.${kid}.${bytes.toString('base64url')}`, 'ctx')).toThrow(SealError);
    expect(() => new Keyring([k1]).open('plaintext-token', 'ctx')).toThrow('not a sealed record');
    expect(() => new Keyring([k1]).open(`v1.${kid}.AAAA`, 'ctx')).toThrow('truncated');
  });

  test('rejects keys that are not 32 bytes and an empty key list', () => {
    expect(() => new Keyring([randomBytes(16)])).toThrow('32 bytes');
    expect(() => new Keyring([])).toThrow('at least one');
  });

  test('decodeKey accepts base64 and base64url of 32 bytes only', () => {
    const key = randomBytes(32);
    expect(decodeKey(key.toString('base64'))?.equals(key)).toBe(true);
    expect(decodeKey(key.toString('base64url'))?.equals(key)).toBe(true);
    expect(decodeKey(randomBytes(31).toString('base64'))).toBeUndefined();
    expect(decodeKey('not base64 !!')).toBeUndefined();
  });
});

describe('constantTimeEqual', () => {
  test('equal, different, different lengths, empty', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
    expect(constantTimeEqual('', 'a')).toBe(false);
    expect(constantTimeEqual(Buffer.from('xyz'), 'xyz')).toBe(true);
  });
});

describe('hashing', () => {
  test('sha256Hex and HMAC match known vectors', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    // RFC 4231 test case 2
    expect(Buffer.from(hmacSha256Base64('Jefe', 'what do ya want for nothing?'), 'base64').toString('hex')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  test('keyed hashes differ per key', () => {
    expect(keyedHashHex(Buffer.alloc(32, 1), '123456')).not.toBe(keyedHashHex(Buffer.alloc(32, 2), '123456'));
    expect(keyedHashHex(Buffer.alloc(32, 1), '123456')).toBe(keyedHashHex(Buffer.alloc(32, 1), '123456'));
  });
});

describe('random values', () => {
  test('randomDigits has the length asked for, only digits, and uses every digit', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const d = randomDigits(6);
      expect(d).toMatch(/^\d{6}$/);
      for (const c of d) seen.add(c);
    }
    expect(seen.size).toBe(10);
  });

  test('tokens and secrets are long and unique', () => {
    const tokens = new Set(Array.from({ length: 100 }, () => randomToken()));
    expect(tokens.size).toBe(100);
    expect(randomToken()).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(Buffer.from(randomSecret(), 'base64')).toHaveLength(32);
  });
});
