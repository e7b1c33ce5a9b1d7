import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/env.js';
import { loadDotEnv, malformedDotEnvLines } from '../../src/config/dotenv.js';
import { problemsOf } from '../helpers/config.js';

const KEY = randomBytes(32).toString('base64');
const TOKEN = 'an-admin-token-that-is-long-enough-for-production';

describe('HOST', () => {
  test('loopback by default in development and test, every interface in production', () => {
    expect(parseConfig({ ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN }).config.host).toBe('127.0.0.1');
    expect(parseConfig({ NODE_ENV: 'test', ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN }).config.host).toBe('127.0.0.1');
    expect(parseConfig({ NODE_ENV: 'production', PUBLIC_URL: 'https://cek.example.com', ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN }).config.host).toBe('0.0.0.0');
  });

  test.each(['0.0.0.0', '::', '::1', '10.1.2.3', 'localhost', 'gateway.internal'])('accepts %s', (host) => {
    expect(parseConfig({ HOST: host, ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN }).config.host).toBe(host);
  });

  test('development on an address others can reach warns; loopback and production do not', () => {
    const warningsOf = (env: Record<string, string>) => parseConfig({ ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN, ...env }).warnings;
    expect(warningsOf({ HOST: '0.0.0.0' })).toEqual(expect.arrayContaining([expect.stringMatching(/^HOST=0\.0\.0\.0 in development/)]));
    expect(warningsOf({ HOST: '127.0.0.1' }).filter((w) => w.startsWith('HOST='))).toEqual([]);
    expect(warningsOf({ HOST: '0.0.0.0', NODE_ENV: 'production', PUBLIC_URL: 'https://cek.example.com' }).filter((w) => w.startsWith('HOST='))).toEqual([]);
  });

  test.each(['http://0.0.0.0', '0.0.0.0:3000', 'host name', '-bad.example'])('refuses %s with a clear message', (host) => {
    expect(problemsOf(() => parseConfig({ HOST: host, ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN }))).toEqual([expect.stringMatching(/^HOST: must be an IP address/)]);
  });
});

describe('REDIS_ALLOW_VOLATILE', () => {
  test('off by default; 1 or true turn it on; anything else is refused', () => {
    expect(parseConfig({ ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN }).config.redisAllowVolatile).toBe(false);
    expect(parseConfig({ REDIS_ALLOW_VOLATILE: '1', ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN }).config.redisAllowVolatile).toBe(true);
    expect(parseConfig({ REDIS_ALLOW_VOLATILE: 'true', ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN }).config.redisAllowVolatile).toBe(true);
    expect(parseConfig({ REDIS_ALLOW_VOLATILE: '0', ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN }).config.redisAllowVolatile).toBe(false);
    expect(problemsOf(() => parseConfig({ REDIS_ALLOW_VOLATILE: 'yes please', ENCRYPTION_KEY: KEY, ADMIN_TOKEN: TOKEN }))).toEqual([expect.stringContaining('REDIS_ALLOW_VOLATILE: must be 1 or 0')]);
  });
});

describe('malformedDotEnvLines', () => {
  test('NAME=value, export NAME=value, comments, blank lines and multi-line quoted values are fine', () => {
    expect(malformedDotEnvLines('# comment\n\nA=1\nexport B=two\nC="multi\nline value"\nD=\'x\'\n  E = spaced\n')).toEqual([]);
  });

  test('reports the lines that are not assignments, by number', () => {
    expect(malformedDotEnvLines('A=1\nADMIN_TOKEN abc\n\n=nothing\nB=2\n1BAD=3\n')).toEqual([2, 4, 6]);
  });
});

describe('loadDotEnv', () => {
  let dir: string;
  // The default target is process.env (what the service uses); unique names keep these apart.
  const NAME = `CEKGW_DOTENV_${randomBytes(4).toString('hex').toUpperCase()}`;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cek-dotenv-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    for (const suffix of ['_A', '_B', '_C']) Reflect.deleteProperty(process.env, `${NAME}${suffix}`);
  });

  test('no file: nothing read, no error', () => {
    expect(loadDotEnv(join(dir, '.env'))).toEqual({ file: undefined });
  });

  test('reads the file; a variable set in the real environment keeps its value', () => {
    process.env[`${NAME}_A`] = 'from the environment';
    writeFileSync(join(dir, '.env'), `${NAME}_A=from the file\n${NAME}_B=from the file\n${NAME}_C="two\nlines"\n`);
    expect(loadDotEnv(join(dir, '.env'))).toEqual({ file: join(dir, '.env') });
    expect(process.env[`${NAME}_A`]).toBe('from the environment');
    expect(process.env[`${NAME}_B`]).toBe('from the file');
    expect(process.env[`${NAME}_C`]).toBe('two\nlines');
  });

  test('a malformed file stops the start with the line numbers, never the lines (they may hold secrets)', () => {
    writeFileSync(join(dir, '.env'), `${NAME}_A=1\nADMIN_TOKEN my-secret-token\n`);
    const problems = problemsOf(() => loadDotEnv(join(dir, '.env')));
    expect(problems).toEqual([expect.stringContaining('.env: line 2 is not NAME=value')]);
    expect(problems.join('')).not.toContain('my-secret-token');
    expect(process.env[`${NAME}_A`]).toBeUndefined();
  });

  test('a directory named .env is a clear error', () => {
    mkdirSync(join(dir, '.env'));
    expect(problemsOf(() => loadDotEnv(join(dir, '.env')))).toEqual([expect.stringContaining('is not a file')]);
  });
});

describe('.env.example', () => {
  test('is a valid .env, so `cp .env.example .env` starts', () => {
    const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    expect(malformedDotEnvLines(text)).toEqual([]);
  });
});
