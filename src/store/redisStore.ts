import { Cluster, Redis } from 'ioredis';
import { ChannelHandlers } from './channelHandlers.js';
import { keySlot } from './clusterSlot.js';
import { OutageGuard } from './outageGuard.js';
import { redisTargetOf, type RedisTarget } from './redisTarget.js';
import { pageLimit, type Store } from './store.js';
import { isCommandTimeout, isStoreUnavailable, withCommandTimeout } from './unavailable.js';
import { messageOf, nameOf } from '../http/errorInfo.js';

/**
 * The shared store: Redis through ioredis. Several instances of the service (and several test
 * runs) can share one Redis; every key and pub/sub channel gets `prefix`, which this module adds
 * itself (ioredis' `keyPrefix` is not used because it does not apply to SCAN patterns or replies).
 *
 * The same store runs on a Redis Cluster (a `redis+cluster://` URL, issue 15) through ioredis'
 * cluster client: every command but one names a single key (the cluster routes it to the key's
 * master; the Lua scripts declare their one key), and the one multi-key command, MGET, is sent per
 * hash slot (`getMany`); listing SCANs every master; pub/sub messages reach every node.
 */
export interface RedisStore extends Store {
  readonly kind: 'redis' | 'redis-cluster';
  /** The namespace prepended to every key and channel. */
  readonly prefix: string;
  /** True on a Redis Cluster. */
  readonly cluster: boolean;
  /**
   * Throws when the server is a cluster node reached as one server, or when the connection is not on the database the URL names (`redis://host/3`): a server
   * without that database answers SELECT with an error that ioredis only logs, and the commands
   * would then go to database 0.
   */
  verifyDatabase(): Promise<void>;
}

export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]`, `rediss://…`, or `redis+cluster://[user:password@]host:port[,host:port…]` (store/redisTarget.ts). */
  url: string;
  /** Prepended to every key and channel; stripped from `list` results. */
  prefix: string;
  /** TCP connect timeout, and the bound for `ping` (default 2000 ms). */
  connectTimeoutMs?: number;
  /**
   * The longest any one command may wait for its reply (default 1000 ms). A KV command takes
   * milliseconds; this only fires when Redis is stalled or unreachable, and after it fires the
   * store fails fast until Redis answers a PING again.
   */
  commandTimeoutMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 1_000;
/** While Redis is down, how often it is probed (a PING) to let commands through again. */
const PROBE_INTERVAL_MS = 250;
/**
 * The longest a probe's PING may take. Shorter than a command's timeout: confirming a suspected
 * stall adds this to the wait of the requests caught in it, and a server that needs longer for a
 * PING cannot serve the voice path anyway.
 */
const PROBE_TIMEOUT_MS = 500;
const SCAN_COUNT = 1_000;
const MGET_BATCH = 500;
const QUIT_TIMEOUT_MS = 1_000;

/** Compare-and-delete (lock release). */
const DELETE_IF_EQUALS_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** Compare-and-set, keeping the TTL (KEEPTTL needs Redis 6.0). */
const COMPARE_AND_SET_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
return 0`;

/** GET + DEL in one step (works on any Redis; GETDEL would need 6.2). */
const TAKE_LUA = `
local v = redis.call('GET', KEYS[1])
if v then redis.call('DEL', KEYS[1]) end
return v`;

/**
 * INCRBY, and PEXPIRE only when this call created the key. "Created" is checked with EXISTS
 * before the INCRBY rather than with "result == by", which would also be true for an existing
 * key that held 0 (that key would then wrongly get a TTL).
 */
const INCREMENT_LUA = `
local existed = redis.call('EXISTS', KEYS[1])
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if existed == 0 and ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return v`;

/**
 * The server's clock (TIME), through a script that names a key so that on a cluster every instance
 * asks the same node (the master of the key's slot), whichever node a keyless command would reach.
 */
const TIME_LUA = `return redis.call('TIME')`;

/** The Lua commands added with `defineCommand` (ioredis runs them with EVALSHA, falling back to EVAL). */
interface ScriptCommands {
  cekDeleteIfEquals(key: string, expected: string): Promise<number>;
  cekCompareAndSet(key: string, expected: string, value: string): Promise<number>;
  cekTake(key: string): Promise<string | null>;
  cekIncrement(key: string, by: number, ttlMs: number): Promise<number>;
  cekTime(key: string): Promise<[string, string]>;
}

/** The connection settings of every connection (one server's, or each cluster node's). */
interface NodeOptions {
  connectTimeout: number;
  maxRetriesPerRequest: number;
  retryStrategy: (times: number) => number;
  enableOfflineQueue: true;
  connectionName: string;
  disconnectTimeout: number;
}

type ClusterTarget = Extract<RedisTarget, { cluster: true }>;

const SUBSCRIBER_NAME = 'cek-gateway-sub';

/** The key the clock script names (it reads nothing and writes nothing). */
const CLOCK_KEY = 'clock';

export function createRedisStore(opts: RedisStoreOptions): RedisStore {
  return new RedisStoreImpl(opts);
}

/** Escapes the Redis glob metacharacters (`* ? [ ] \`) so that `s` matches itself literally. */
export function escapeRedisGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

export { redactRedisUrl } from './redisTarget.js';

class RedisStoreImpl implements RedisStore {
  readonly kind: 'redis' | 'redis-cluster';
  readonly prefix: string;
  readonly cluster: boolean;
  private readonly client: Redis | Cluster;
  private readonly scripts: ScriptCommands;
  private readonly pingTimeoutMs: number;
  private subscriber: Redis | Cluster | undefined;
  private readonly newSubscriber: () => Redis | Cluster;
  /** Full (prefixed) channel name → its handlers and the pending/confirmed SUBSCRIBE. */
  private readonly channels = new ChannelHandlers({
    open: async (full) => {
      await this.getSubscriber().subscribe(full);
    },
    // Commands on one connection run in order, so a SUBSCRIBE sent after this UNSUBSCRIBE wins.
    release: async (full) => {
      if (this.subscriber !== undefined && this.subscriber.status !== 'end') await this.subscriber.unsubscribe(full);
    },
  });
  private lastError: Error | undefined;
  private closed = false;
  private readonly guard: OutageGuard;
  private readonly commandTimeoutMs: number;

  constructor(opts: RedisStoreOptions) {
    this.prefix = opts.prefix;
    const target = redisTargetOf(opts.url);
    this.cluster = target.cluster;
    this.kind = target.cluster ? 'redis-cluster' : 'redis';
    const connectTimeout = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.commandTimeoutMs = opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.pingTimeoutMs = connectTimeout;
    /*
     * Connection settings, chosen for three properties:
     * (a) Commands issued right after creation work: the client connects at once (no lazyConnect)
     *     and the offline queue stays enabled, so early commands wait for `ready`.
     * (b) When the server is away, commands reject within a second instead of hanging, and after
     *     the outage is known at once: `run` bounds every command, queued or sent, by
     *     `commandTimeoutMs` (a KV command takes milliseconds, so it only fires when the server is
     *     unreachable or stuck); a lost connection, or a timeout that a PING confirms, marks the
     *     store down (`OutageGuard`), and commands then fail without reaching ioredis until a PING
     *     succeeds. (Not ioredis' own `commandTimeout`: its timer fires before a reply already
     *     waiting in the socket is read, so a process busy for a moment would take itself for a
     *     stalled server.) `maxRetriesPerRequest: 1` flushes queued commands with an error after
     *     every second failed reconnect attempt; `connectTimeout` bounds a connect attempt to a
     *     black-holed host. `enableOfflineQueue: false` is not used: it would make every command
     *     fail during the first connect.
     * (c) The client reconnects forever when the server comes back: `retryStrategy` always returns
     *     a delay (50 ms doubling, capped at 1 s); the subscriber connection re-subscribes by itself
     *     (`autoResubscribe`, the default).
     */
    const options: NodeOptions = {
      connectTimeout,
      maxRetriesPerRequest: 1,
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times - 1, 10), 1_000),
      enableOfflineQueue: true,
      connectionName: 'cek-gateway',
      // How long `disconnect()` waits for the socket to close before destroying it. ioredis arms this
      // timer even when the socket is already gone (closing while reconnecting), so the 2 s default
      // would keep the process alive that long after close().
      disconnectTimeout: 200,
    };
    this.client = target.cluster ? newCluster(target, options) : new Redis(target.url, options);
    this.newSubscriber = () => (target.cluster ? newCluster(target, { ...options, connectionName: SUBSCRIBER_NAME }) : (this.client as Redis).duplicate({ connectionName: SUBSCRIBER_NAME }));
    // Without a listener ioredis prints every connection error; keep the last one for messages.
    this.client.on('error', (err: Error) => {
      this.lastError = err;
    });
    this.guard = new OutageGuard({ probe: () => this.probe(), probeIntervalMs: PROBE_INTERVAL_MS });
    // The connection was lost (server killed or restarted): commands would wait in the offline
    // queue for seconds; fail them at once until the server answers again.
    this.client.on('close', () => this.guard.markDown('connection lost'));
    this.client.defineCommand('cekDeleteIfEquals', { numberOfKeys: 1, lua: DELETE_IF_EQUALS_LUA });
    this.client.defineCommand('cekCompareAndSet', { numberOfKeys: 1, lua: COMPARE_AND_SET_LUA });
    this.client.defineCommand('cekTake', { numberOfKeys: 1, lua: TAKE_LUA });
    this.client.defineCommand('cekIncrement', { numberOfKeys: 1, lua: INCREMENT_LUA });
    this.client.defineCommand('cekTime', { numberOfKeys: 1, lua: TIME_LUA });
    this.scripts = this.client as unknown as ScriptCommands;
  }

  /**
   * Every command goes through here: it fails at once while the store is known to be down, and a
   * command that finds the store down marks it so for the others (a closed connection at once; a
   * timeout or a refusal such as LOADING once a PING fails too).
   */
  private async run<T>(command: () => Promise<T>): Promise<T> {
    this.guard.check();
    try {
      return await withCommandTimeout(command(), this.commandTimeoutMs);
    } catch (err) {
      this.failed(err);
      throw err;
    }
  }

  private failed(err: unknown): void {
    if (!isStoreUnavailable(err)) return;
    const reason = messageOf(err);
    if (isCommandTimeout(err) || nameOf(err) === 'ReplyError') this.guard.suspect(reason);
    else this.guard.markDown(reason);
  }

  /** The full key (or channel); every command builds its keys here, so a closed store rejects at once. */
  private k(key: string): string {
    if (this.closed) throw new Error('store is closed');
    return this.prefix + key;
  }

  async get(key: string): Promise<string | null> {
    return this.run(() => this.client.get(this.k(key)));
  }

  async getMany(keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    return this.mget(keys.map((key) => this.k(key)));
  }

  /**
   * MGET of full keys. On a cluster one MGET per hash slot, all sent at once (a multi-key command
   * across slots fails with CROSSSLOT); families read together put one hash tag in their keys
   * (store/keys.ts), so their reads stay one command.
   */
  private async mget(full: readonly string[]): Promise<Array<string | null>> {
    if (!this.cluster) return this.run(() => this.client.mget(full as string[]));
    const bySlot = new Map<number, number[]>();
    full.forEach((key, i) => {
      const slot = keySlot(key);
      const at = bySlot.get(slot);
      if (at === undefined) bySlot.set(slot, [i]);
      else at.push(i);
    });
    const out = new Array<string | null>(full.length).fill(null);
    await Promise.all(
      [...bySlot.values()].map(async (at) => {
        const values = await this.run(() => this.client.mget(at.map((i) => full[i] as string)));
        at.forEach((i, j) => (out[i] = values[j] ?? null));
      }),
    );
    return out;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    const ttl = normalizeTtl(ttlMs);
    // A plain SET (no KEEPTTL) also clears an earlier TTL.
    if (ttl === undefined) await this.run(() => this.client.set(this.k(key), value));
    else await this.run(() => this.client.set(this.k(key), value, 'PX', ttl));
  }

  async setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    const ttl = normalizeTtl(ttlMs);
    const reply = ttl === undefined ? await this.run(() => this.client.set(this.k(key), value, 'NX')) : await this.run(() => this.client.set(this.k(key), value, 'PX', ttl, 'NX'));
    return reply === 'OK';
  }

  async delete(key: string): Promise<boolean> {
    return (await this.run(() => this.client.del(this.k(key)))) > 0;
  }

  async deleteIfEquals(key: string, expected: string): Promise<boolean> {
    return (await this.run(() => this.scripts.cekDeleteIfEquals(this.k(key), expected))) > 0;
  }

  async compareAndSet(key: string, expected: string, value: string): Promise<boolean> {
    return (await this.run(() => this.scripts.cekCompareAndSet(this.k(key), expected, value))) > 0;
  }

  async take(key: string): Promise<string | null> {
    return this.run(() => this.scripts.cekTake(this.k(key)));
  }

  async increment(key: string, by = 1, ttlMs?: number): Promise<number> {
    if (!Number.isSafeInteger(by)) throw new RangeError(`increment: by must be a safe integer, got ${by}`);
    const ttl = normalizeTtl(ttlMs) ?? 0;
    return Number(await this.run(() => this.scripts.cekIncrement(this.k(key), by, ttl)));
  }

  async ttl(key: string): Promise<number | null> {
    const ms = await this.run(() => this.client.pttl(this.k(key)));
    // -2: no such key, -1: no TTL.
    return ms < 0 ? null : ms;
  }

  async list(prefix: string): Promise<Array<{ key: string; value: string }>> {
    return this.values(await this.sortedKeys(prefix));
  }

  async listPage(prefix: string, page: { after?: string | undefined; limit: number }): Promise<{ items: Array<{ key: string; value: string }>; next: string | undefined }> {
    const limit = pageLimit(page.limit);
    const keys = await this.sortedKeys(prefix);
    let start = 0;
    if (page.after !== undefined) {
      const after = Buffer.from(this.k(page.after), 'utf8');
      // Binary search for the first key after `after` (keys are in byte order).
      let hi = keys.length;
      while (start < hi) {
        const mid = (start + hi) >>> 1;
        if (Buffer.compare(Buffer.from(keys[mid] as string, 'utf8'), after) <= 0) start = mid + 1;
        else hi = mid;
      }
    }
    // A key may expire between the SCAN and the MGET: read a few more than the page to fill it.
    const items: Array<{ key: string; value: string }> = [];
    let i = start;
    while (items.length < limit && i < keys.length) {
      const batch = keys.slice(i, i + limit - items.length + 8);
      i += batch.length;
      for (const item of await this.values(batch)) if (items.length < limit) items.push(item);
    }
    const last = items[items.length - 1];
    // More keys after the last one returned: the page is not the last.
    const more = last !== undefined && keys.length > 0 && Buffer.compare(Buffer.from(keys[keys.length - 1] as string, 'utf8'), Buffer.from(this.k(last.key), 'utf8')) > 0;
    return { items, next: more ? last.key : undefined };
  }

  /** One SCAN pass per master (a cluster's masters one after another), a SCAN batch at a time. */
  async *scanKeys(prefix: string): AsyncIterable<string[]> {
    const pattern = `${escapeRedisGlob(this.k(prefix))}*`;
    const cut = this.prefix.length;
    const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    if (nodes.length === 0) throw new Error('the Redis Cluster has no master connected');
    for (const node of nodes) {
      let cursor = '0';
      do {
        // TYPE string: the ordered sets' ZSETs are not values (Store.setAdd).
        const [next, keys] = await this.run(() => node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT, 'TYPE', 'string'));
        cursor = next;
        if (keys.length > 0) yield keys.map((key) => key.slice(cut));
      } while (cursor !== '0');
    }
  }

  /**
   * The full keys under a prefix, in code point order (= UTF-8 byte order, SQLite's BINARY order).
   * On a cluster every master is scanned (each holds only its own slots' keys).
   */
  private async sortedKeys(prefix: string): Promise<string[]> {
    const pattern = `${escapeRedisGlob(this.k(prefix))}*`;
    const found = new Set<string>(); // SCAN may return a key more than once.
    const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    if (nodes.length === 0) throw new Error('the Redis Cluster has no master connected');
    await Promise.all(
      nodes.map(async (node) => {
        let cursor = '0';
        do {
          const [next, keys] = await this.run(() => node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT));
          cursor = next;
          for (const key of keys) found.add(key);
        } while (cursor !== '0');
      }),
    );
    return [...found]
      .map((key) => ({ key, bytes: Buffer.from(key, 'utf8') }))
      .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
      .map((e) => e.key);
  }

  /** The values of full keys (MGET in batches), with keys without the store prefix; gone keys are left out. */
  private async values(keys: readonly string[]): Promise<Array<{ key: string; value: string }>> {
    const out: Array<{ key: string; value: string }> = [];
    const cut = this.prefix.length;
    for (let i = 0; i < keys.length; i += MGET_BATCH) {
      const batch = keys.slice(i, i + MGET_BATCH);
      const values = await this.mget(batch);
      batch.forEach((key, j) => {
        const value = values[j];
        // null: expired or deleted since the SCAN.
        if (value !== null && value !== undefined) out.push({ key: key.slice(cut), value });
      });
    }
    return out;
  }

  // Ordered sets: a ZSET whose members all score 0, so ZRANGE BYLEX orders them by bytes (memcmp).
  async setAdd(set: string, member: string): Promise<void> {
    await this.run(() => this.client.zadd(this.k(set), 0, member));
  }

  async setRemove(set: string, member: string): Promise<boolean> {
    return (await this.run(() => this.client.zrem(this.k(set), member))) > 0;
  }

  async setPage(set: string, page: { after?: string | undefined; limit: number }): Promise<{ members: string[]; next: string | undefined }> {
    const limit = pageLimit(page.limit, 'setPage');
    // `(m`: after m, exclusive; `-`: from the start. One more than the page tells whether more follow.
    const min = page.after === undefined ? '-' : `(${page.after}`;
    const found = await this.run(() => this.client.zrange(this.k(set), min, '+', 'BYLEX', 'LIMIT', 0, limit + 1));
    const members = found.slice(0, limit);
    return { members, next: found.length > limit ? members[members.length - 1] : undefined };
  }

  async setClear(set: string): Promise<void> {
    // UNLINK: a large set is freed in the background instead of blocking the server.
    await this.run(() => this.client.unlink(this.k(set)));
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error('store is closed');
    this.guard.check();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no PONG within ${this.pingTimeoutMs} ms`)), this.pingTimeoutMs);
    });
    try {
      await Promise.race([this.client.ping(), timeout]);
    } catch (err) {
      this.guard.suspect(messageOf(err));
      const cause = this.lastError?.message;
      // ioredis' words for "these seeds are not cluster nodes" (a plain server named in a cluster URL).
      const hint =
        this.client instanceof Cluster && cause !== undefined && /slots cache/i.test(cause)
          ? '; are these nodes of a Redis Cluster (cluster-enabled yes, slots assigned)? For one server use REDIS_URL=redis://host:port'
          : '';
      // ioredis' "Reached the max retries per request limit" only says the PING gave up because the
      // connection failed: then the connection's error is the reason, alone.
      const gaveUp = err instanceof Error && err.name === 'MaxRetriesPerRequestError' && cause !== undefined;
      const reason = gaveUp ? cause : `${messageOf(err)}${cause !== undefined ? ` (last connection error: ${cause})` : ''}`;
      throw new Error(`Redis ping failed: ${reason}${hint}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /** The outage guard's check: the connection is up and Redis answers a PING. */
  private async probe(): Promise<void> {
    if (this.client.status !== 'ready') throw new Error(`not connected (${this.client.status})`);
    await withCommandTimeout(this.client.ping(), Math.min(PROBE_TIMEOUT_MS, this.commandTimeoutMs));
  }

  async time(): Promise<number> {
    const [seconds, micros] = await this.run(() => this.scripts.cekTime(this.k(CLOCK_KEY)));
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  async verifyDatabase(): Promise<void> {
    // A cluster has database 0 only, and its URL names none.
    if (this.client instanceof Cluster) return;
    // A cluster node reached as one server answers until a command spans slots (CROSSSLOT): say so now.
    const cluster = String(await this.run(() => this.client.info('cluster')));
    if (/^cluster_enabled:1/m.test(cluster)) {
      throw new Error('this Redis server is a Redis Cluster node: connect with REDIS_CLUSTER_NODES=host:port,host:port (or REDIS_URL=redis+cluster://host:port,…)');
    }
    const wanted = this.client.options.db ?? 0;
    const info = String(await this.run(() => this.client.client('INFO')));
    const actual = Number(/(?:^| )db=(\d+)/.exec(info)?.[1] ?? '0');
    if (actual !== wanted) throw new Error(`the Redis server has no database ${wanted} (the connection is on database ${actual}); use an index below its "databases" setting`);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.run(() => this.client.publish(this.k(channel), message));
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('store is closed');
    return this.channels.add(this.k(channel), handler);
  }

  private getSubscriber(): Redis | Cluster {
    if (this.subscriber !== undefined) return this.subscriber;
    // Same URL and options (prefix-free, like the main client); created only when first needed. On
    // a cluster, PUBLISH on any node reaches the subscribers of every node.
    const sub = this.newSubscriber();
    sub.on('error', (err: Error) => {
      this.lastError = err;
    });
    sub.on('message', (channel: string, message: string) => this.channels.deliver(channel, message, channel.slice(this.prefix.length)));
    this.subscriber = sub;
    return sub;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.guard.stop();
    this.channels.clear();
    await Promise.all([quitOrDisconnect(this.client), this.subscriber ? quitOrDisconnect(this.subscriber) : undefined]);
  }
}

/**
 * The cluster client, with the single server's connection settings for each node and the same
 * reconnect-forever strategy for the cluster as a whole. Commands wait in the offline queue while
 * the layout is fetched (the first connect), as on one server.
 */
function newCluster(target: ClusterTarget, options: NodeOptions): Cluster {
  const { retryStrategy, enableOfflineQueue, ...nodeOptions } = options;
  return new Cluster(
    target.nodes.map((n) => ({ host: n.host, port: n.port })),
    {
      clusterRetryStrategy: retryStrategy,
      enableOfflineQueue,
      slotsRefreshTimeout: options.connectTimeout,
      redisOptions: {
        ...nodeOptions,
        ...(target.username !== undefined ? { username: target.username } : {}),
        ...(target.password !== undefined ? { password: target.password } : {}),
        ...(target.tls ? { tls: {} } : {}),
      },
    },
  );
}

/** QUIT when connected (lets pending replies arrive), else, or when QUIT does not finish quickly, disconnect. */
async function quitOrDisconnect(client: Redis | Cluster): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.quit(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('QUIT timed out')), QUIT_TIMEOUT_MS);
      }),
    ]);
  } catch {
    client.disconnect();
  } finally {
    clearTimeout(timer);
  }
}

/** `ttlMs` checked and rounded up to whole milliseconds; `undefined` means "no TTL". */
function normalizeTtl(ttlMs: number | undefined): number | undefined {
  if (ttlMs === undefined) return undefined;
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs must be a positive number, got ${ttlMs}`);
  return Math.ceil(ttlMs);
}
