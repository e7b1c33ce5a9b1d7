import { randomBytes } from 'node:crypto';
import { estimatedEntropyBits, MIN_KEY_BITS, MIN_TOKEN_BITS } from '../../src/security/entropy.js';

describe('estimatedEntropyBits', () => {
  test('repeats, runs and steps add nothing', () => {
    expect(estimatedEntropyBits('a'.repeat(64))).toBe(0);
    expect(estimatedEntropyBits(Buffer.alloc(32))).toBe(0);
    expect(estimatedEntropyBits('abcdefghijklmnopqrstuvwxyz')).toBeLessThan(10);
    expect(estimatedEntropyBits('zyxwvutsrqponm')).toBeLessThan(10);
    expect(estimatedEntropyBits('')).toBe(0);
  });

  test('weak shapes are under the limits', () => {
    for (const weak of ['a'.repeat(40), 'ab'.repeat(20), '0123456789'.repeat(4)]) expect(estimatedEntropyBits(weak)).toBeLessThan(MIN_TOKEN_BITS);
    for (const weak of [Buffer.alloc(32, 7), Buffer.from('ab'.repeat(16)), Buffer.from(Array.from({ length: 32 }, (_, i) => i))]) expect(estimatedEntropyBits(weak)).toBeLessThan(MIN_KEY_BITS);
  });

  test('guessable tokens that are long enough are still under the limit: repeated words, common words, keyboard walks', () => {
    for (const weak of ['adminadminadminadminadmin1', 'changeme-changeme-changeme', 'password123password123password', 'my-super-secret-admin-token', 'qwertyuiopasdfghjklzxcvbnm']) {
      expect([weak, estimatedEntropyBits(weak) < MIN_TOKEN_BITS]).toEqual([weak, true]);
    }
  });

  test('random secrets are well over the limits', () => {
    for (let i = 0; i < 2_000; i++) {
      expect(estimatedEntropyBits(randomBytes(12).toString('hex'))).toBeGreaterThanOrEqual(MIN_TOKEN_BITS);
      expect(estimatedEntropyBits(randomBytes(18).toString('base64url'))).toBeGreaterThanOrEqual(MIN_TOKEN_BITS);
      expect(estimatedEntropyBits(randomBytes(32))).toBeGreaterThanOrEqual(MIN_KEY_BITS);
    }
  });
});
