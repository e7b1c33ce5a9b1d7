import { Redis, type RedisOptions } from 'ioredis';
import { ChannelHandlers } from './channelHandlers.js';
import { OutageGuard } from './outageGuard.js';
import { pageLimit, type Store } from './store.js';
import { isCommandTimeout, isStoreUnavailable, withCommandTimeout } from './unavailable.js';
import { messageOf, nameOf } from '../http/errorInfo.js';

/**
 * The shared store: Redis through ioredis. Several instances of the service (and several test
 * runs) can share one Redis; every key and pub/sub channel gets `prefix`, which this module adds
 * itself (ioredis' `keyPrefix` is not used because it does not apply to SCAN patterns or replies).
 */
export interface RedisStore extends Store {
  readonly kind: 'redis';
  /** The namespace prepended to every key and channel. */
  readonly prefix: string;
  /**
   * Throws when the connection is not on the database the URL names (`redis://host/3`): a server
   * without that database answers SELECT with an error that ioredis only logs, and the commands
   * would then go to database 0.
   */
  verifyDatabase(): Promise<void>;
}

export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`. */
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

/** The Lua commands added with `defineCommand` (ioredis runs them with EVALSHA, falling back to EVAL). */
interface ScriptCommands {
  cekDeleteIfEquals(key: string, expected: string): Promise<number>;
  cekCompareAndSet(key: string, expected: string, value: string): Promise<number>;
  cekTake(key: string): Promise<string | null>;
  cekIncrement(key: string, by: number, ttlMs: number): Promise<number>;
}

export function createRedisStore(opts: RedisStoreOptions): RedisStore {
  return new RedisStoreImpl(opts);
}

/** Escapes the Redis glob metacharacters (`* ? [ ] \`) so that `s` matches itself literally. */
export function escapeRedisGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

/** `url` with its password replaced by `***`, for messages and logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '<invalid Redis URL>';
  }
}

class RedisStoreImpl implements RedisStore {
  readonly kind = 'redis' as const;
  readonly prefix: string;
  private readonly client: Redis;
  private readonly scripts: ScriptCommands;
  private readonly pingTimeoutMs: number;
  private subscriber: Redis | undefined;
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
    const options = {
      connectTimeout,
      maxRetriesPerRequest: 1,
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times - 1, 10), 1_000),
      enableOfflineQueue: true,
      connectionName: 'cek-gateway',
      // How long `disconnect()` waits for the socket to close before destroying it. ioredis arms this
      // timer even when the socket is already gone (closing while reconnecting), so the 2 s default
      // would keep the process alive that long after close().
      disconnectTimeout: 200,
    } satisfies RedisOptions;
    this.client = new Redis(opts.url, options);
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
    return this.run(() => this.client.mget(keys.map((key) => this.k(key))));
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

  /** The full keys under a prefix, in code point order (= UTF-8 byte order, SQLite's BINARY order). */
  private async sortedKeys(prefix: string): Promise<string[]> {
    const pattern = `${escapeRedisGlob(this.k(prefix))}*`;
    const found = new Set<string>(); // SCAN may return a key more than once.
    let cursor = '0';
    do {
      const [next, keys] = await this.run(() => this.client.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT));
      cursor = next;
      for (const key of keys) found.add(key);
    } while (cursor !== '0');
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
      const values = await this.run(() => this.client.mget(batch));
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
      throw new Error(`Redis ping failed: ${messageOf(err)}${cause !== undefined ? ` (last connection error: ${cause})` : ''}`, {
        cause: err,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** The outage guard's check: the connection is up and Redis answers a PING. */
  private async probe(): Promise<void> {
    if (this.client.status !== 'ready') throw new Error(`not connected (${this.client.status})`);
    await withCommandTimeout(this.client.ping(), Math.min(PROBE_TIMEOUT_MS, this.commandTimeoutMs));
  }

  async verifyDatabase(): Promise<void> {
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

  private getSubscriber(): Redis {
    if (this.subscriber !== undefined) return this.subscriber;
    // Same URL and options (prefix-free, like the main client); created only when first needed.
    const sub = this.client.duplicate({ connectionName: 'cek-gateway-sub' });
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

/** QUIT when connected (lets pending replies arrive), else, or when QUIT does not finish quickly, disconnect. */
async function quitOrDisconnect(client: Redis): Promise<void> {
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
