import { randomBytes, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, withBoundPort } from '../../src/config/env.js';
import { loadOrCreateDevSecrets } from '../../src/config/devSecrets.js';
import { problemsOf } from '../helpers/config.js';

const KEY = randomBytes(32).toString('base64');
const TOKEN = 'an-admin-token-that-is-long-enough';

describe('parseConfig', () => {
  test('defaults: port 3000, PUBLIC_URL from the port, ./data, SQLite, info, the bundled CLOVA key', () => {
    const { config } = parseConfig({ ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN });
    expect(config.port).toBe(3000);
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.dataDir).toBe(join(process.cwd(), 'data'));
    expect(config.redisUrl).toBeUndefined();
    expect(config.logLevel).toBe('info');
    expect(config.production).toBe(false);
    expect(config.cekPublicKey.asymmetricKeyType).toBe('rsa');
    expect(config.encryptionKeys).toHaveLength(1);
  });

  test('is frozen', () => {
    const { config } = parseConfig({ ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN });
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  test('production refuses to start without keys and with http PUBLIC_URL, listing every problem at once', () => {
    const problems = problemsOf(() => parseConfig({ NODE_ENV: 'production', PUBLIC_URL: 'http://cek.example.com' }));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('PUBLIC_URL: must be https://'),
        expect.stringContaining('ENCRYPTION_KEY: required when NODE_ENV=production'),
        expect.stringContaining('ADMIN_TOKEN: required when NODE_ENV=production'),
      ]),
    );
  });

  test('production does not generate development secrets', () => {
    let called = false;
    problemsOf(() => parseConfig({ NODE_ENV: 'production', PUBLIC_URL: 'https://cek.example.com' }, { devSecrets: () => ((called = true), { encryptionKey: KEY, adminToken: TOKEN }) }));
    expect(called).toBe(false);
  });

  test('production starts with everything set', () => {
    const { config } = parseConfig({ NODE_ENV: 'production', PUBLIC_URL: 'https://cek.example.com/', ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN });
    expect(config.publicUrl).toBe('https://cek.example.com');
    expect(config.production).toBe(true);
  });

  test('keep-alive: a rate per provider (5 a second by default); a shorter "hour" is for tests only and refused in production', () => {
    const prod = { NODE_ENV: 'production', PUBLIC_URL: 'https://cek.example.com/', ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN };
    const { config } = parseConfig(prod);
    expect(config.keepAliveRatePerSecond).toBe(5);
    expect(config.keepAliveHourSeconds).toBe(3600);
    expect(problemsOf(() => parseConfig({ ...prod, KEEPALIVE_HOUR_SECONDS: '1' }))).toEqual([expect.stringMatching(/^KEEPALIVE_HOUR_SECONDS: only for tests/)]);
    expect(problemsOf(() => parseConfig({ ...prod, KEEPALIVE_RATE_PER_SECOND: '0' }))).toEqual([expect.stringMatching(/^KEEPALIVE_RATE_PER_SECOND/)]);
    const shortHours = parseConfig({ NODE_ENV: 'test', ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN, KEEPALIVE_HOUR_SECONDS: '1' });
    expect(shortHours.config.keepAliveHourSeconds).toBe(1);
    expect(shortHours.warnings).toContainEqual(expect.stringMatching(/^KEEPALIVE_HOUR_SECONDS=1: keepAliveHours counts hours of that many seconds/));
  });

  // Issue 13 item 10: one repeated character and an all-zero key were accepted in production.
  test('production refuses low-entropy secrets, naming the variable and how to generate a good one', () => {
    const prod = { NODE_ENV: 'production', PUBLIC_URL: 'https://cek.example.com' };
    for (const [key, token] of [
      [Buffer.alloc(32).toString('base64'), 'a'.repeat(40)],
      [Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('base64'), '0123456789'.repeat(4)],
      [Buffer.from('ab'.repeat(16)).toString('base64'), 'ab'.repeat(20)],
    ] as const) {
      const problems = problemsOf(() => parseConfig({ ...prod, ENCRYPTION_KEY: key, ADMIN_TOKEN: token }));
      expect(problems).toEqual([expect.stringMatching(/^ENCRYPTION_KEY: is not random .*openssl rand -base64 32/), expect.stringMatching(/^ADMIN_TOKEN: is easy to guess .*openssl rand -hex 24/)]);
    }
  });

  test('random secrets of the documented shapes always pass; development only warns about weak ones', () => {
    for (let i = 0; i < 500; i++) {
      expect(() =>
        parseConfig({ NODE_ENV: 'production', PUBLIC_URL: 'https://cek.example.com', ENCRYPTION_KEY: randomBytes(32).toString('base64'), ADMIN_TOKEN: randomBytes(12).toString('hex') }),
      ).not.toThrow();
    }
    const { config, warnings } = parseConfig({ ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'), ADMIN_TOKEN: 'a'.repeat(20) });
    expect(config.adminToken).toBe('a'.repeat(20));
    expect(warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/^ENCRYPTION_KEY: is not random.*production refuses/), expect.stringMatching(/^ADMIN_TOKEN: is easy to guess.*production refuses/)]),
    );
  });

  test('a Redis Cluster: REDIS_CLUSTER_NODES or a redis+cluster:// URL, checked; not both', () => {
    const base = { ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN };
    expect(parseConfig({ ...base, REDIS_CLUSTER_NODES: ' 10.0.0.1:6379, redis-2.internal:7000,[::1]:6380 ' }).config.redisUrl).toBe('redis+cluster://10.0.0.1:6379,redis-2.internal:7000,[::1]:6380');
    expect(parseConfig({ ...base, REDIS_URL: 'rediss+cluster://app:s%40cret@a:6379,b:6379' }).config.redisUrl).toBe('rediss+cluster://app:s%40cret@a:6379,b:6379');
    expect(problemsOf(() => parseConfig({ ...base, REDIS_CLUSTER_NODES: 'a:6379,b' }))).toEqual([expect.stringMatching(/^REDIS_CLUSTER_NODES: "b" is not host:port/)]);
    expect(problemsOf(() => parseConfig({ ...base, REDIS_CLUSTER_NODES: 'a:70000' }))).toEqual([expect.stringMatching(/^REDIS_CLUSTER_NODES: "a:70000" is not host:port/)]);
    expect(problemsOf(() => parseConfig({ ...base, REDIS_URL: 'redis+cluster://a:6379/2' }))).toEqual([expect.stringMatching(/^REDIS_URL: .*no database/)]);
    expect(problemsOf(() => parseConfig({ ...base, REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'b:6379' }))).toEqual([
      expect.stringMatching(/^REDIS_CLUSTER_NODES: set it or REDIS_URL, not both/),
    ]);
    const withPassword = problemsOf(() => parseConfig({ ...base, REDIS_CLUSTER_NODES: 'user:S3cretPW@127.0.0.1:7101' }));
    expect(withPassword).toEqual([expect.stringMatching(/^REDIS_CLUSTER_NODES: "\*\*\*@127\.0\.0\.1:7101" is not host:port \(credentials go in REDIS_URL=redis\+cluster:/)]);
    expect(withPassword.join()).not.toContain('S3cretPW');
    expect(problemsOf(() => parseConfig({ ...base, REDIS_CLUSTER_NODES: 'a:6379', REDIS_KEY_PREFIX: 'app{1}:' }))).toEqual([
      'REDIS_KEY_PREFIX: must not contain { or } (on a Redis Cluster they would put every key in one hash slot)',
    ]);
  });

  test('a cluster URL is shown without its password', async () => {
    const { redactRedisUrl, redisTargetOf } = await import('../../src/store/redisTarget.js');
    expect(redactRedisUrl('redis+cluster://app:s%40cret@a:6379,b:6379')).toBe('redis+cluster://app:***@a:6379,b:6379');
    expect(redactRedisUrl('redis://:pw@h:1/2')).toBe('redis://:***@h:1/2');
    expect(redisTargetOf('rediss+cluster://app:s%40cret@a:6379,b:6379')).toEqual({
      cluster: true,
      nodes: [
        { host: 'a', port: 6379 },
        { host: 'b', port: 6379 },
      ],
      username: 'app',
      password: 's@cret',
      tls: true,
    });
  });

  test('bad values are named: port, key length, previous keys, log level, redis url, short token', () => {
    const problems = problemsOf(() => parseConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', REDIS_URL: 'http://x' }));
    expect(problems.join('\n')).toMatch(/PORT/);
    expect(problems.join('\n')).toMatch(/LOG_LEVEL/);
    expect(problems.join('\n')).toMatch(/REDIS_URL/);
    const more = problemsOf(() => parseConfig({ ENCRYPTION_KEY: 'c2hvcnQ=', ENCRYPTION_KEYS_PREVIOUS: `${KEY},nope`, ADMIN_TOKEN: 'short' }));
    expect(more).toEqual(
      expect.arrayContaining([
        expect.stringContaining('ENCRYPTION_KEY: must be exactly 32 bytes'),
        expect.stringContaining('ENCRYPTION_KEYS_PREVIOUS: key #2'),
        expect.stringContaining('ADMIN_TOKEN: must be at least 16'),
      ]),
    );
  });

  test('a numeric variable that is not a number, not whole or out of range: one line with its range', () => {
    const base = { ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN };
    expect(problemsOf(() => parseConfig({ ...base, PORT: 'abc' }))).toEqual(['PORT: must be a whole number from 0 to 65535 (0: any free port)']);
    expect(problemsOf(() => parseConfig({ ...base, PORT: '65536' }))).toEqual(['PORT: must be a whole number from 0 to 65535 (0: any free port)']);
    expect(problemsOf(() => parseConfig({ ...base, REFRESH_SKEW_SECONDS: '1e99' }))).toEqual(['REFRESH_SKEW_SECONDS: must be a whole number from 0 to 3600']);
    expect(problemsOf(() => parseConfig({ ...base, TRUST_PROXY: '1.5' }))).toEqual(['TRUST_PROXY: must be a whole number from 0 to 10']);
    expect(problemsOf(() => parseConfig({ ...base, GATEWAY_FREE_MONTHLY_CALLS: '-1' }))).toEqual(['GATEWAY_FREE_MONTHLY_CALLS: must be a whole number 0 or more']);
    expect(problemsOf(() => parseConfig({ ...base, GATEWAY_FREE_MONTHLY_CALLS: '1e99' }))).toEqual(['GATEWAY_FREE_MONTHLY_CALLS: must be a whole number 0 or more']);
    expect(problemsOf(() => parseConfig({ ...base, WEBHOOK_FIRST_RETRY_SECONDS: 'Infinity' }))).toEqual(['WEBHOOK_FIRST_RETRY_SECONDS: must be a number from 0.05 to 3600']);
    expect(problemsOf(() => parseConfig({ ...base, KEEPALIVE_RATE_PER_SECOND: 'fast' }))).toEqual(['KEEPALIVE_RATE_PER_SECOND: must be a number from 0.01 to 1000']);
    expect(problemsOf(() => parseConfig({ ...base, KEEPALIVE_HOUR_SECONDS: '0' }))).toEqual(['KEEPALIVE_HOUR_SECONDS: must be a number from 0.1 to 3600']);
    // In range: read as numbers, spaces around them allowed; blank is the default.
    const { config } = parseConfig({ ...base, PORT: ' 8080 ', TRUST_PROXY: '2', WEBHOOK_FIRST_RETRY_SECONDS: '0.5', REFRESH_SKEW_SECONDS: '' });
    expect([config.port, config.trustProxy, config.webhookFirstRetrySeconds, config.refreshSkewSeconds]).toEqual([8080, 2, 0.5, 60]);
  });

  test('PUBLIC_URL with a user name or password is refused in one line that does not repeat them', () => {
    for (const url of ['http://user:pa55word@host.example/', 'https://:pa55word@cek.example.com', 'https://pa55word@cek.example.com', 'user:pa55word@host.example:3000']) {
      const problems = problemsOf(() => parseConfig({ ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN, PUBLIC_URL: url }));
      expect(problems).toEqual([expect.stringMatching(/^PUBLIC_URL: must not contain a user name or password/)]);
      expect(problems.join()).not.toContain('pa55word');
    }
    // An @ after the host is no credential.
    expect(parseConfig({ ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN, PUBLIC_URL: 'https://cek.example.com/@gw' }).config.publicUrl).toBe('https://cek.example.com/@gw');
  });

  test('PORT=0: the port bound at start goes into the config and the default PUBLIC_URL; a PUBLIC_URL that is set stays', () => {
    const { config, warnings } = parseConfig({ ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN, PORT: '0' });
    expect(config.port).toBe(0);
    expect(warnings.join('\n')).not.toContain('localhost:0');
    const bound = withBoundPort(config, 41234);
    expect([bound.port, bound.publicUrl]).toEqual([41234, 'http://localhost:41234']);
    expect(Object.isFrozen(bound)).toBe(true);
    const set = parseConfig({ ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN, PORT: '0', PUBLIC_URL: 'https://cek.example.com' }).config;
    expect(withBoundPort(set, 41234).publicUrl).toBe('https://cek.example.com');
    // Any other port is the one listened on already.
    const fixed = parseConfig({ ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN, PORT: '3100' }).config;
    expect(withBoundPort(fixed, 3100)).toBe(fixed);
  });

  test('previous keys are kept after the current one', () => {
    const prev = randomBytes(32);
    const { config } = parseConfig({ ENCRYPTION_KEY: KEY, ENCRYPTION_KEYS_PREVIOUS: ` ${prev.toString('base64')} `, ADMIN_TOKEN: TOKEN });
    expect(config.encryptionKeys).toHaveLength(2);
    expect(config.encryptionKeys[1]?.equals(prev)).toBe(true);
  });

  test('CEK_PUBLIC_KEY as PEM text, as a file path, and refused when it is neither or not RSA', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const dir = mkdtempSync(join(tmpdir(), 'cekcfg-'));
    const file = join(dir, 'key.pem');
    writeFileSync(file, pem);
    const fromText = parseConfig({ ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN, CEK_PUBLIC_KEY: pem }).config.cekPublicKey;
    const fromFile = parseConfig({ ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN, CEK_PUBLIC_KEY: file }).config.cekPublicKey;
    expect(fromText.equals(publicKey)).toBe(true);
    expect(fromFile.equals(publicKey)).toBe(true);
    expect(problemsOf(() => parseConfig({ ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN, CEK_PUBLIC_KEY: '/no/such/file.pem' }))[0]).toMatch(/CEK_PUBLIC_KEY/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(problemsOf(() => parseConfig({ ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN, CEK_PUBLIC_KEY: ec }))[0]).toMatch(/must be an RSA key/);
  });

  test('development generates the encryption key and admin token into DATA_DIR once, mode 0600, with warnings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cekdev-'));
    const first = loadOrCreateDevSecrets(dir);
    expect(first.created).toBe(true);
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    const second = loadOrCreateDevSecrets(dir);
    expect(second.created).toBe(false);
    expect(second.adminToken).toBe(first.adminToken);
    expect(JSON.parse(readFileSync(first.file, 'utf8'))).toEqual({ encryptionKey: first.encryptionKey, adminToken: first.adminToken });

    const { config, warnings } = parseConfig({ DATA_DIR: dir }, { devSecrets: loadOrCreateDevSecrets });
    expect(config.adminToken).toBe(first.adminToken);
    expect(warnings.join('\n')).toMatch(/ENCRYPTION_KEY is not set/);
    expect(warnings.join('\n')).toMatch(/ADMIN_TOKEN is not set/);
    expect(warnings.join('\n')).not.toContain(first.adminToken);
  });

  test('a broken dev-secrets.json or a DATA_DIR that is a file: a message naming it, and nothing overwritten', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cekdev-'));
    writeFileSync(join(dir, 'dev-secrets.json'), '{broken');
    expect(() => loadOrCreateDevSecrets(dir)).toThrow(`${join(dir, 'dev-secrets.json')} cannot be read`);
    expect(readFileSync(join(dir, 'dev-secrets.json'), 'utf8')).toBe('{broken');
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    expect(() => loadOrCreateDevSecrets(file)).toThrow(`DATA_DIR ${file} cannot be used as a directory`);
  });
});
