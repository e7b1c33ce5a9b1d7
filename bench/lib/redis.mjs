// The bench's Redis: REDIS_URL, or a redis-server of its own on a free port (on the load CPU). Every
// key the run writes is under its own prefix, and only those keys are deleted at the end.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { freePort, own } from './proc.mjs';
import { onCleanup } from './report.mjs';

/**
 * Returns `{ redis, redisUrl, redisNote, PREFIX }`. A redis-server is started only when `needed`
 * and REDIS_URL is not set.
 */
export async function setUpRedis({ needed, dir, loadCpu }) {
  let redisUrl = process.env.REDIS_URL;
  let redisNote = 'REDIS_URL';
  if (needed && (redisUrl === undefined || redisUrl === '')) {
    const port = await freePort();
    const server = own(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' }));
    await new Promise((resolve, reject) => {
      server.once('spawn', resolve);
      server.once('error', reject);
    }).catch((err) => {
      throw new Error(`REDIS_URL is not set and redis-server could not be started (${err.message}); install redis-server or set REDIS_URL`);
    });
    onCleanup(async () => {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    });
    redisUrl = `redis://127.0.0.1:${port}`;
    redisNote = `redis-server ${spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.split(' ')[2] ?? ''} started by the bench on CPU ${loadCpu}`;
  }
  const { Redis } = await import('ioredis');
  const PREFIX = `cekbench:${process.pid}:${randomBytes(4).toString('hex')}:`;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true });
  await redis.connect();
  await redis.ping();
  onCleanup(async () => {
    // Only this run's keys: SCAN + DEL under our prefix, never FLUSH.
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
  });
  return { redis, redisUrl, redisNote, PREFIX };
}
