import { compileKey, findKey, maskedValue, newKeyId, newKeyValue } from '../../src/gateway/keys.js';
import type { ApiKeyRecord } from '../../src/gateway/model.js';
import { sha256Hex } from '../../src/security/hash.js';

function key(id: string, enabled = true) {
  const now = new Date().toISOString();
  const p = newKeyValue(now);
  const s = newKeyValue(now);
  const record: ApiKeyRecord = { id, name: id, enabled, primary: p.record, secondary: s.record, usagePlan: null, createdAt: now, updatedAt: now };
  return { record, primary: p.value, secondary: s.value };
}

describe('API keys', () => {
  test('values are 40 random base64url characters, stored only as their SHA-256 and last 4 characters', () => {
    const { value, record } = newKeyValue('2026-01-01T00:00:00.000Z');
    expect(value).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(record).toEqual({ hash: sha256Hex(value), hint: value.slice(-4), createdAt: '2026-01-01T00:00:00.000Z' });
    expect(JSON.stringify(record)).not.toContain(value.slice(0, 8));
    expect(maskedValue(record)).toBe(`********${value.slice(-4)}`);
    expect(newKeyValue('x').value).not.toBe(value);
    expect(newKeyId()).toMatch(/^k_[A-Za-z0-9_-]{12}$/);
  });

  test('findKey matches the primary or the secondary value of the right key, nothing else', () => {
    const a = key('a');
    const b = key('b', false);
    const keys = [compileKey(a.record), compileKey(b.record)];
    expect(findKey(keys, a.primary)?.id).toBe('a');
    expect(findKey(keys, a.secondary)?.id).toBe('a');
    expect(findKey(keys, b.primary)?.id).toBe('b'); // found; the caller refuses it as disabled
    expect(findKey(keys, b.primary)?.enabled).toBe(false);
    expect(findKey(keys, `${a.primary}x`)).toBeUndefined();
    expect(findKey(keys, a.primary.slice(0, -1))).toBeUndefined();
    expect(findKey(keys, '')).toBeUndefined();
    expect(findKey(keys, sha256Hex(a.primary))).toBeUndefined(); // the hash itself is not a key
    expect(findKey([], a.primary)).toBeUndefined();
  });
});
