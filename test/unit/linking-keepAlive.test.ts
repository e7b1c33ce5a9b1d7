import { ProviderPacer } from '../../src/linking/keepAlivePacer.js';
import { dueOf, JITTER, memberOf, parseMember } from '../../src/linking/keepAliveSchedule.js';
import type { TokenRecord } from '../../src/linking/vault.js';

const record = (o: Partial<TokenRecord> = {}): TokenRecord => ({
  v: 1,
  sealed: 'v1.x',
  expiresAt: null,
  scope: null,
  tokenType: 'Bearer',
  linkedAt: '2026-12-01T00:00:00.000Z',
  refreshedAt: null,
  status: 'linked',
  ...o,
});

describe('keep-alive schedule members', () => {
  test('sort by due time as text, and parse back (user ids may hold ":")', () => {
    const a = memberOf(999, 'com.example.a', 'u');
    const b = memberOf(1_000, 'com.example.a', 'u');
    const c = memberOf(1_764_547_200_000, 'com.example.a', 'user:1');
    expect([c, b, a].sort()).toEqual([a, b, c]);
    expect(a).toBe('0000000000999:com.example.a:u');
    expect(parseMember(c)).toEqual({ due: 1_764_547_200_000, extensionId: 'com.example.a', userId: 'user:1' });
    expect(parseMember('junk')).toBeUndefined();
    expect(parseMember('123:com.example.a:u')).toBeUndefined();
  });

  test('the due time is the last refresh plus the period, up to JITTER earlier, the same each time it is computed, and differs between links', () => {
    const hour = 3_600_000;
    const base = Date.parse('2026-12-01T06:00:00.000Z');
    const r = record({ refreshedAt: new Date(base).toISOString() });
    const dues = Array.from({ length: 50 }, (_, i) => dueOf(r, 24 * hour, 'com.example.a', `user-${i}`)!);
    for (const d of dues) {
      expect(d).toBeLessThanOrEqual(base + 24 * hour);
      expect(d).toBeGreaterThan(base + 24 * hour * (1 - JITTER));
    }
    expect(new Set(dues).size).toBeGreaterThan(40);
    expect(dueOf(r, 24 * hour, 'com.example.a', 'user-0')).toBe(dues[0]);
    // Never refreshed: from the link date.
    expect(dueOf(record(), hour, 'com.example.a', 'u')).toBeLessThanOrEqual(Date.parse('2026-12-01T01:00:00.000Z'));
  });

  test('broken links and test users are not kept alive', () => {
    expect(dueOf(record({ status: 'broken' }), 1000, 'com.example.a', 'u')).toBeUndefined();
    expect(dueOf(record({ test: true }), 1000, 'com.example.a', 'u')).toBeUndefined();
  });
});

describe('ProviderPacer', () => {
  test('one slot per 1/rate seconds per provider, no burst; providers are apart', () => {
    const p = new ProviderPacer(4);
    const now = 1_000_000;
    expect([p.take('a', now), p.take('a', now), p.take('a', now)]).toEqual([now, now + 250, now + 500]);
    expect(p.take('b', now)).toBe(now);
    // Later than its next slot: free at once, and the slot after counts from then.
    expect(p.take('b', now + 10_000)).toBe(now + 10_000);
    expect(p.take('b', now + 10_000)).toBe(now + 10_250);
    p.prune(now + 20_000);
    expect(p.take('a', now + 20_000)).toBe(now + 20_000);
  });
});
