import { familyOf, KEY_FAMILIES, keyOf, prefixOf, type KeyFamilyName } from '../../src/store/keys.js';

describe('store key families (store/keys.ts)', () => {
  const entries = Object.entries(KEY_FAMILIES) as Array<[KeyFamilyName, (typeof KEY_FAMILIES)[KeyFamilyName]]>;

  test('every prefix ends in ":" and none is a prefix of another, so a key has exactly one family', () => {
    for (const [, f] of entries) expect(f.prefix).toMatch(/^[a-z]+(?::[a-z]+)*:$/);
    for (const [a, fa] of entries) for (const [b, fb] of entries) if (a !== b) expect(fb.prefix.startsWith(fa.prefix)).toBe(false);
  });

  test('keys are built from the table and found in it again', () => {
    expect(keyOf('linkedToken', 'com.example.x', 'user:1')).toBe('tok:com.example.x:user:1');
    expect(prefixOf('linkedToken', 'com.example.x')).toBe('tok:com.example.x:');
    expect(prefixOf('usage')).toBe('gw:usage:');
    for (const [name] of entries) expect(familyOf(keyOf(name, 'a', 'b'))).toBe(name);
    expect(familyOf('unknown:key')).toBeUndefined();
  });

  test('what is durable: extensions, tokens and their index, data migration marks, the keep-alive schedule, link and linking states, the linking funnel, quotas, usage and queued webhook deliveries; locks, claims, codes, state and sessions are ephemeral', () => {
    const durable = entries
      .filter(([, f]) => f.durability === 'durable')
      .map(([n]) => n)
      .sort();
    expect(durable).toEqual([
      'dataMigration',
      'extension',
      'keepAliveDue',
      'linkHistory',
      'linkIndex',
      'linkedToken',
      'linkingFunnel',
      'linkingState',
      'quotaDay',
      'unlinkedIndex',
      'usage',
      'webhookDelivery',
      'webhookDue',
    ]);
  });
});
