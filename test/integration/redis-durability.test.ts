import { checkRedisPersistence, durabilityVerdict, redisDurability } from '../../src/store/redisDurability.js';
import { redisServerBinary, startPrivateRedis, type PrivateRedis } from '../helpers/redisServer.js';

// Each case needs a server configured its own way: private redis-servers, never the shared one.
const available = redisServerBinary() !== undefined;
if (!available && process.env['REQUIRE_REDIS'] === '1') throw new Error('REQUIRE_REDIS=1 but redis-server is not on the PATH');

(available ? describe : describe.skip)('Redis persistence check at start-up', () => {
  const servers: PrivateRedis[] = [];
  const start = async (args: string[]): Promise<string> => {
    const server = await startPrivateRedis(args);
    servers.push(server);
    return server.url;
  };
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });

  test('a Redis without RDB or AOF: production refuses to start, naming the way out', async () => {
    const url = await start(['--save', '', '--appendonly', 'no']);
    expect(await checkRedisPersistence(url)).toEqual({ kind: 'volatile' });
    const verdict = await redisDurability(url, { env: 'production', allowVolatile: false });
    expect(verdict.refusal).toContain('persists nothing');
    expect(verdict.refusal).toContain('REDIS_ALLOW_VOLATILE=1');
    expect(verdict.refusal).toContain('appendonly yes');
  });

  test('the same Redis: REDIS_ALLOW_VOLATILE=1 in production, development and test (CI) only warn', async () => {
    const url = await start(['--save', '', '--appendonly', 'no']);
    for (const policy of [
      { env: 'production', allowVolatile: true },
      { env: 'development', allowVolatile: false },
      { env: 'test', allowVolatile: false },
    ] as const) {
      const verdict = await redisDurability(url, policy);
      expect(verdict.refusal).toBeUndefined();
      expect(verdict.warning).toContain('persists nothing');
    }
  });

  test('appendonly yes is persistent: no refusal and no warning', async () => {
    const url = await start(['--save', '', '--appendonly', 'yes']);
    expect(await checkRedisPersistence(url)).toEqual({ kind: 'persistent', rdb: false, aof: true });
    expect(await redisDurability(url, { env: 'production', allowVolatile: false })).toEqual({});
  });

  test('RDB snapshots alone are persistent', async () => {
    const url = await start(['--save', '900 1', '--appendonly', 'no']);
    expect(await checkRedisPersistence(url)).toEqual({ kind: 'persistent', rdb: true, aof: false });
  });

  test('CONFIG disabled (as on managed Redis): a warning that it could not be checked, never a refusal', async () => {
    const url = await start(['--save', '', '--appendonly', 'no', '--rename-command', 'CONFIG', '']);
    const checked = await checkRedisPersistence(url);
    expect(checked.kind).toBe('unknown');
    const verdict = await redisDurability(url, { env: 'production', allowVolatile: false });
    expect(verdict.refusal).toBeUndefined();
    expect(verdict.warning).toContain('Could not check whether Redis');
  });

  test('the password of the Redis URL never appears in a message', () => {
    const verdict = durabilityVerdict('redis://:s3cret-pass@127.0.0.1:6390', { kind: 'volatile' }, { env: 'production', allowVolatile: false });
    expect(verdict.refusal).toBeDefined();
    expect(verdict.refusal).not.toContain('s3cret-pass');
  });
});
