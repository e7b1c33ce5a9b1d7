import { Redis, type RedisOptions } from 'ioredis';
import { redactRedisUrl, redisTargetOf } from './redisTarget.js';
import { messageOf } from '../http/errorInfo.js';

/** What a Redis server keeps across a restart, as its own CONFIG says. */
export type RedisPersistence =
  | { readonly kind: 'persistent'; readonly rdb: boolean; readonly aof: boolean }
  | { readonly kind: 'volatile' }
  /** CONFIG is disabled or renamed (common on managed Redis), or the check failed. */
  | { readonly kind: 'unknown'; readonly reason: string };

/**
 * Asks the server whether it writes RDB snapshots (`CONFIG GET save` not empty) or an append-only
 * file (`appendonly yes`). A short connection of its own, so the store's client keeps its settings.
 * On a cluster each node the URL names is asked: one that persists nothing makes the whole volatile
 * (its slots' keys are lost on its restart), one that cannot be asked makes it unknown.
 */
export async function checkRedisPersistence(url: string, timeoutMs = 2_000): Promise<RedisPersistence> {
  const target = redisTargetOf(url);
  if (!target.cluster) return checkOne(new Redis(target.url, checkOptions(timeoutMs)));
  const credentials = {
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
    ...(target.tls ? { tls: {} } : {}),
  };
  const each = await Promise.all(target.nodes.map((n) => checkOne(new Redis({ ...checkOptions(timeoutMs), ...credentials, host: n.host, port: n.port }))));
  const unknown = each.find((p) => p.kind === 'unknown');
  if (each.some((p) => p.kind === 'volatile')) return { kind: 'volatile' };
  if (unknown !== undefined) return unknown;
  return { kind: 'persistent', rdb: each.every((p) => p.kind === 'persistent' && p.rdb), aof: each.every((p) => p.kind === 'persistent' && p.aof) };
}

function checkOptions(timeoutMs: number) {
  return {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectionName: 'cek-gateway-check',
  } satisfies RedisOptions;
}

async function checkOne(client: Redis): Promise<RedisPersistence> {
  client.on('error', () => {
    // Reported through the rejected command below.
  });
  try {
    await client.connect();
    const save = await configValue(client, 'save');
    const appendonly = await configValue(client, 'appendonly');
    const rdb = save.trim() !== '';
    const aof = appendonly === 'yes';
    return rdb || aof ? { kind: 'persistent', rdb, aof } : { kind: 'volatile' };
  } catch (err) {
    return { kind: 'unknown', reason: messageOf(err) };
  } finally {
    client.disconnect();
  }
}

async function configValue(client: Redis, name: string): Promise<string> {
  const reply: unknown = await client.call('CONFIG', 'GET', name);
  // CONFIG GET answers [name, value] (RESP2).
  if (Array.isArray(reply) && typeof reply[1] === 'string') return reply[1];
  throw new Error(`unexpected answer to CONFIG GET ${name}`);
}

export interface DurabilityPolicy {
  readonly env: 'development' | 'production' | 'test';
  /** `REDIS_ALLOW_VOLATILE=1`. */
  readonly allowVolatile: boolean;
}

export interface DurabilityVerdict {
  /** Set when the service must not start: the reason, naming the way out. */
  readonly refusal?: string;
  readonly warning?: string;
}

/**
 * Redis holds the extensions, their sealed secrets and every linked user's tokens: one that persists
 * nothing loses them all on a restart. Production refuses it unless explicitly allowed; development
 * and test (CI runs a throwaway Redis) only warn.
 */
export function durabilityVerdict(url: string, p: RedisPersistence, policy: DurabilityPolicy): DurabilityVerdict {
  const where = redactRedisUrl(url);
  if (p.kind === 'persistent') return {};
  if (p.kind === 'unknown') {
    return {
      warning: `Could not check whether Redis at ${where} persists its data (${p.reason}). Make sure it keeps RDB snapshots or an append-only file (appendonly yes): it holds every linked user's tokens.`,
    };
  }
  const risk = `Redis at ${where} persists nothing (CONFIG GET save is empty and appendonly is no): a Redis restart loses every extension, secret and linked user's tokens.`;
  if (policy.env === 'production' && !policy.allowVolatile) {
    return { refusal: `${risk} Turn on persistence (appendonly yes, or save snapshots), or set REDIS_ALLOW_VOLATILE=1 to start anyway.` };
  }
  return { warning: `${risk} Turn on persistence (appendonly yes) before real use.` };
}

/** The check and the verdict in one step, for the start-up. */
export async function redisDurability(url: string, policy: DurabilityPolicy): Promise<DurabilityVerdict> {
  return durabilityVerdict(url, await checkRedisPersistence(url), policy);
}
