import { checkConnectHost, isPrivateAddress, policyLookup, TargetRefusedError, targetUrlProblem } from '../../src/security/outbound.js';

describe('isPrivateAddress', () => {
  test.each([
    '127.0.0.1',
    '127.255.0.9',
    '0.0.0.0',
    '10.0.0.1',
    '100.64.0.1',
    '100.127.255.254',
    '169.254.169.254',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '198.18.0.1',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '64:ff9b::10.0.0.1',
    '64:ff9b::a00:1',
    '2002:c0a8:101::1',
    // Issue 13 item 10: IPv4-translated (::ffff:0:0/96) was let through by the hand-written list.
    '::ffff:0:7f00:1',
    '::ffff:0:127.0.0.1',
    '::ffff:0:a9fe:a9fe',
    '::7f00:1', // IPv4-compatible (deprecated)
    '64:ff9b:1::a00:1', // NAT64 local-use prefix: leads into a private network
    '2001:0:4136:e378:8000:63bf:3fff:fdd2', // Teredo
    '2001:db8::1', // documentation
    '2001:2::1', // benchmarking
    '100::1', // discard
    'fec0::1', // site-local (deprecated)
    '192.0.2.1',
    '203.0.113.9',
    '240.0.0.1',
  ])('%s is private', (ip) => {
    expect(isPrivateAddress(ip)).toBe(true);
  });

  test.each([
    '8.8.8.8',
    '1.1.1.1',
    '100.63.255.255',
    '100.128.0.1',
    '172.32.0.1',
    '192.169.0.1',
    '2001:4860:4860::8888',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
    '::ffff:0:808:808',
    '2606:4700:4700::1111',
    'example.com',
  ])('%s is not', (ip) => {
    expect(isPrivateAddress(ip)).toBe(false);
  });
});

describe('targetUrlProblem', () => {
  const prod = { production: true, allowPrivateTargets: false };
  test('outside production everything well-formed passes', () => {
    expect(targetUrlProblem(new URL('http://127.0.0.1:8080/x'), { production: false, allowPrivateTargets: false })).toBeUndefined();
  });
  test('production: https only, private literals and localhost refused', () => {
    expect(targetUrlProblem(new URL('http://api.example.com/'), prod)).toMatch(/https/);
    expect(targetUrlProblem(new URL('https://api.example.com/'), prod)).toBeUndefined();
    for (const u of ['https://127.0.0.1/', 'https://[::1]/', 'https://[::ffff:0:7f00:1]/', 'https://LOCALHOST/', 'https://a.localhost/', 'https://localhost./', 'https://2130706433/']) {
      expect(targetUrlProblem(new URL(u), prod)).toMatch(/allowPrivateTargets/);
    }
  });
  test('production with allowPrivateTargets: private addresses pass, http still does not', () => {
    const allow = { production: true, allowPrivateTargets: true };
    expect(targetUrlProblem(new URL('https://10.0.0.5/'), allow)).toBeUndefined();
    expect(targetUrlProblem(new URL('http://10.0.0.5/'), allow)).toMatch(/https/);
  });
});

describe('connect-time checks', () => {
  const lookup = (enforce: boolean, host: string, all: boolean) =>
    new Promise<{ err: Error | null; address: unknown; private: string[] }>((resolve) => {
      const seen: string[] = [];
      policyLookup(enforce, (_h, a) => seen.push(a))(host, all ? { all: true } : {}, (err, address) => resolve({ err, address, private: seen }));
    });

  test('a name resolving to loopback is refused when enforcing, reported when not', async () => {
    const refused = await lookup(true, 'localhost', true);
    expect(refused.err).toBeInstanceOf(TargetRefusedError);
    expect((refused.err as TargetRefusedError).code).toBe('CEKGW_TARGET_REFUSED');
    const allowed = await lookup(false, 'localhost', false);
    expect(allowed.err).toBeNull();
    expect(typeof allowed.address).toBe('string');
    expect(allowed.private.length).toBeGreaterThan(0);
    const all = await lookup(false, 'localhost', true);
    expect(Array.isArray(all.address)).toBe(true);
  });

  test('IP literals (which net.connect does not look up) are checked by checkConnectHost', () => {
    const seen: string[] = [];
    expect(checkConnectHost('127.0.0.1', true, (_h, a) => seen.push(a))).toBeInstanceOf(TargetRefusedError);
    expect(checkConnectHost('::1', true, () => undefined)).toBeInstanceOf(TargetRefusedError);
    expect(checkConnectHost('127.0.0.1', false, () => undefined)).toBeUndefined();
    expect(checkConnectHost('8.8.8.8', true, () => undefined)).toBeUndefined();
    expect(checkConnectHost('example.com', true, () => undefined)).toBeUndefined();
    expect(seen).toEqual(['127.0.0.1']);
  });
});
