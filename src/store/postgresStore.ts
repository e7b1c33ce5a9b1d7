import pg from 'pg';
import { isPostgresUnavailable, redactPostgresUrl } from './postgresErrors.js';
import { PostgresNotifications } from './postgresNotifications.js';
import { escapeText, unescapeText } from './postgresText.js';
import { migrate, quoteSchema } from './postgresMigrations.js';
import { prefixUpperBound } from './sqliteStore.js';
import { pageLimit, type Store } from './store.js';
import { StoreUnavailableError } from './unavailable.js';
import { messageOf } from '../http/errorInfo.js';

/**
 * The PostgreSQL store (node-postgres): a table `kv(key, value, expires_at)` (and `sets(set_key,
 * member)` for the ordered sets) in the store's own schema (config `DATABASE_SCHEMA`), so several deployments and test runs can share a database.
 *
 * Every statement is a single atomic SQL statement on a pooled connection: compare-and-set,
 * take and increment rely on PostgreSQL's row locks (READ COMMITTED re-checks the WHERE clause on
 * the row a concurrent writer left), never on a read followed by a write from here.
 *
 * Time is the server's: expiry instants are `now() + ttl` and liveness is `expires_at > now()` in
 * SQL, so instances with skewed clocks agree on when a key expires. Expired rows are invisible to
 * every statement and deleted by a periodic sweep.
 *
 * publish/subscribe is NOTIFY and LISTEN (postgresNotifications.ts).
 */
export interface PostgresStore extends Store {
  readonly kind: 'postgres';
  /** The schema holding this store's tables. */
  readonly schema: string;
  /** Deletes expired rows now (the periodic sweep calls it); returns how many were removed. */
  sweep(): Promise<number>;
}

export interface PostgresStoreOptions {
  /** `postgres://user[:password]@host[:port]/database[?…]`. */
  url: string;
  /** The schema of the store's tables, created when missing (config `DATABASE_SCHEMA`). */
  schema: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Bound for a connect and for `ping` (default 2000 ms). */
  connectTimeoutMs?: number;
  /** Expired rows are deleted this often (default 60 s). */
  sweepIntervalMs?: number;
}

const DEFAULT_POOL_SIZE = 10;
const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
const DEFAULT_SWEEP_INTERVAL_MS = 60_000;
/** A KV statement takes milliseconds; past this the server is stuck and the call fails as unavailable. */
const STATEMENT_TIMEOUT_MS = 5_000;
const SWEEP_BATCH = 5_000;
/** The largest value that increment keeps: beyond it a JavaScript number loses integer precision. */
const MAX_COUNTER = Number.MAX_SAFE_INTEGER;
/** Liveness of a row at the statement's time. */
const LIVE = '(expires_at IS NULL OR expires_at > now())';
/** The expiry instant for a TTL in ms passed as parameter `$n` (NULL: no TTL). */
const expiry = (n: number): string => `now() + $${n}::bigint * interval '1 millisecond'`;

/**
 * Opens the store: connects, creates or migrates the schema (see postgresMigrations.ts) and starts
 * the sweep. Rejects with a message naming the URL without its password when that fails.
 */
export async function openPostgresStore(opts: PostgresStoreOptions): Promise<PostgresStore> {
  const schema = opts.schema;
  quoteSchema(schema); // a bad name fails before any connection is made
  const store = new PostgresStoreImpl(opts);
  try {
    await store.init();
  } catch (err) {
    await store.close();
    const reason = err instanceof Error ? err.message : String(err);
    const message = `Cannot open the PostgreSQL store at ${redactPostgresUrl(opts.url)} (schema ${schema}): ${reason}`;
    throw isPostgresUnavailable(err) ? new StoreUnavailableError(message, { cause: err }) : new Error(message, { cause: err });
  }
  return store;
}

class PostgresStoreImpl implements PostgresStore {
  readonly kind = 'postgres' as const;
  readonly schema: string;
  private readonly pool: pg.Pool;
  private readonly clientConfig: pg.ClientConfig;
  private readonly connectTimeoutMs: number;
  private readonly sweepIntervalMs: number;
  private readonly sql: ReturnType<typeof statements>;
  private sweepTimer: NodeJS.Timeout | undefined;
  private lastError: Error | undefined;
  private closed = false;

  private readonly notifications: PostgresNotifications;

  constructor(opts: PostgresStoreOptions) {
    this.schema = opts.schema;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.sweepIntervalMs = opts.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    this.clientConfig = {
      connectionString: opts.url,
      connectionTimeoutMillis: this.connectTimeoutMs,
      // Server-side bound on a statement, and a client-side one for a server that stops answering.
      statement_timeout: STATEMENT_TIMEOUT_MS,
      query_timeout: STATEMENT_TIMEOUT_MS + 1_000,
      keepAlive: true,
      // Names the schema, so pg_stat_activity tells which deployment a connection serves.
      application_name: `cek-gateway ${opts.schema}`.slice(0, 63),
    };
    this.pool = new pg.Pool({
      ...this.clientConfig,
      max: opts.poolSize ?? DEFAULT_POOL_SIZE,
      idleTimeoutMillis: 30_000,
      // pg-pool also bounds the wait for a free connection with this: a burst of calls queues behind
      // the pool's connections, so allow a statement's time, not just a connect's (ping keeps its own bound).
      connectionTimeoutMillis: Math.max(this.connectTimeoutMs, STATEMENT_TIMEOUT_MS),
    });
    // An idle pooled connection that breaks (server restart) is reported here; without a listener
    // the process would crash. The pool drops it and the next query connects again.
    this.pool.on('error', (err: Error) => {
      this.lastError = err;
    });
    this.sql = statements(quoteSchema(opts.schema));
    this.notifications = new PostgresNotifications(this.clientConfig, opts.schema, (err) => {
      this.lastError = err;
    });
  }

  async init(): Promise<void> {
    // A connection of its own, without the per-statement bounds: a migration may rewrite a large
    // table, and waiting for another instance's migration (the advisory lock) is expected.
    const { statement_timeout: _statement, query_timeout: _query, ...unbounded } = this.clientConfig;
    const client = new pg.Client(unbounded);
    client.on('error', (err: Error) => {
      this.lastError = err;
    });
    await client.connect();
    try {
      await migrate(client, this.schema);
    } finally {
      await client.end().catch(() => undefined);
    }
    this.sweepTimer = setInterval(() => {
      this.sweep().catch((err: unknown) => {
        // The next sweep tries again; expired rows stay invisible meanwhile.
        if (err instanceof Error) this.lastError = err;
      });
    }, this.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  /** Runs one statement; driver failures that mean "unreachable" become StoreUnavailableError. */
  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    if (this.closed) throw new Error('store is closed');
    try {
      return await this.pool.query<R>(text, values);
    } catch (err) {
      throw this.classify(err);
    }
  }

  private classify(err: unknown): Error {
    if (isPostgresUnavailable(err)) {
      const reason = err instanceof Error ? err.message : String(err);
      return new StoreUnavailableError(`PostgreSQL is unavailable: ${reason}`, { cause: err });
    }
    return err instanceof Error ? err : new Error(String(err));
  }

  async get(key: string): Promise<string | null> {
    const r = await this.query<{ value: string }>(this.sql.get, [escapeText(key)]);
    return valueOf(r.rows[0]);
  }

  async getMany(keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    const r = await this.query<{ key: string; value: string }>(this.sql.getMany, [[...new Set(keys)].map(escapeText)]);
    const found = new Map(r.rows.map((row) => [unescapeText(row.key), unescapeText(row.value)]));
    return keys.map((k) => found.get(k) ?? null);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    await this.query(this.sql.set, [escapeText(key), escapeText(value), normalizeTtl(ttlMs) ?? null]);
  }

  async setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    const r = await this.query(this.sql.setIfAbsent, [escapeText(key), escapeText(value), normalizeTtl(ttlMs) ?? null]);
    return r.rowCount === 1;
  }

  async delete(key: string): Promise<boolean> {
    return ((await this.query(this.sql.delete, [escapeText(key)])).rowCount ?? 0) > 0;
  }

  async deleteIfEquals(key: string, expected: string): Promise<boolean> {
    return ((await this.query(this.sql.deleteIfEquals, [escapeText(key), escapeText(expected)])).rowCount ?? 0) > 0;
  }

  async compareAndSet(key: string, expected: string, value: string): Promise<boolean> {
    return ((await this.query(this.sql.compareAndSet, [escapeText(key), escapeText(expected), escapeText(value)])).rowCount ?? 0) > 0;
  }

  async take(key: string): Promise<string | null> {
    const r = await this.query<{ value: string }>(this.sql.take, [escapeText(key)]);
    return valueOf(r.rows[0]);
  }

  async increment(key: string, by = 1, ttlMs?: number): Promise<number> {
    if (!Number.isSafeInteger(by)) throw new RangeError(`increment: by must be a safe integer, got ${by}`);
    const ttl = normalizeTtl(ttlMs) ?? null;
    let r: pg.QueryResult<{ value: string }>;
    try {
      r = await this.query<{ value: string }>(this.sql.increment, [escapeText(key), by, ttl, MAX_COUNTER]);
    } catch (err) {
      // 22P02: the value is not an integer; 22003: out of bigint's range.
      const code = (err as { code?: unknown }).code;
      if (code === '22P02' || code === '22003') throw new Error('value is not an integer or out of range', { cause: err });
      throw err;
    }
    const row = r.rows[0];
    // No row: the guard in the statement refused a result past MAX_COUNTER and nothing was written.
    if (row === undefined) throw new RangeError('increment would overflow');
    return Number(row.value);
  }

  async ttl(key: string): Promise<number | null> {
    const r = await this.query<{ ms: number | null }>(this.sql.ttl, [escapeText(key)]);
    return r.rows[0]?.ms ?? null;
  }

  async list(prefix: string): Promise<Array<{ key: string; value: string }>> {
    const lo = escapeText(prefix);
    const hi = prefixUpperBound(lo);
    const r = hi === null ? await this.query<{ key: string; value: string }>(this.sql.listFrom, [lo]) : await this.query<{ key: string; value: string }>(this.sql.listRange, [lo, hi]);
    return r.rows.map(entryOf);
  }

  async listPage(prefix: string, page: { after?: string | undefined; limit: number }): Promise<{ items: Array<{ key: string; value: string }>; next: string | undefined }> {
    const limit = pageLimit(page.limit);
    const lo = escapeText(prefix);
    const hi = prefixUpperBound(lo);
    // Keyset pagination on the primary key: the page costs its own rows, however many come before.
    // Both lower bounds go to SQL, which compares in code point order (JavaScript's `<` would not);
    // statements are planned with their parameters, so `$2 IS NULL` folds away and the index range stays.
    const after = page.after === undefined ? null : escapeText(page.after);
    const r =
      hi === null
        ? await this.query<{ key: string; value: string }>(this.sql.pageOpen, [lo, after, limit + 1])
        : await this.query<{ key: string; value: string }>(this.sql.page, [lo, after, hi, limit + 1]);
    const items = r.rows.slice(0, limit).map(entryOf);
    return { items, next: r.rows.length > limit ? items[items.length - 1]?.key : undefined };
  }

  async setAdd(set: string, member: string): Promise<void> {
    await this.query(this.sql.setAdd, [escapeText(set), escapeText(member)]);
  }

  async setRemove(set: string, member: string): Promise<boolean> {
    return ((await this.query(this.sql.setRemove, [escapeText(set), escapeText(member)])).rowCount ?? 0) > 0;
  }

  async setPage(set: string, page: { after?: string | undefined; limit: number }): Promise<{ members: string[]; next: string | undefined }> {
    const limit = pageLimit(page.limit, 'setPage');
    // Two statements rather than `$2 IS NULL OR member > $2`: each is a plain range of the primary key.
    const r =
      page.after === undefined
        ? await this.query<{ member: string }>(this.sql.setFirst, [escapeText(set), limit + 1])
        : await this.query<{ member: string }>(this.sql.setAfter, [escapeText(set), escapeText(page.after), limit + 1]);
    const members = r.rows.slice(0, limit).map((row) => unescapeText(row.member));
    return { members, next: r.rows.length > limit ? members[members.length - 1] : undefined };
  }

  async setClear(set: string): Promise<void> {
    await this.query(this.sql.setClear, [escapeText(set)]);
  }

  async sweep(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = (await this.query(this.sql.sweep, [SWEEP_BATCH])).rowCount ?? 0;
      total += n;
      if (n < SWEEP_BATCH) return total;
    }
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error('store is closed');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError(`PostgreSQL did not answer within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
    });
    try {
      await Promise.race([this.query('SELECT 1', []), timeout]);
    } catch (err) {
      const cause = this.lastError?.message;
      const message = `PostgreSQL ping failed: ${messageOf(err)}${cause !== undefined ? ` (last connection error: ${cause})` : ''}`;
      throw isPostgresUnavailable(err) || err instanceof StoreUnavailableError ? new StoreUnavailableError(message, { cause: err }) : new Error(message, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  async publish(channel: string, message: string): Promise<void> {
    if (this.closed) throw new Error('store is closed');
    await this.query('SELECT pg_notify($1, $2)', [this.notifications.channelName(channel), message]);
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('store is closed');
    try {
      return await this.notifications.subscribe(channel, handler);
    } catch (err) {
      throw this.classify(err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    await this.notifications.close();
    await this.pool.end().catch(() => undefined);
  }
}

/** Every statement, with the schema-qualified table. */
function statements(schema: string) {
  const kv = `${schema}.kv`;
  const sets = `${schema}.sets`;
  const expired = 'kv.expires_at IS NOT NULL AND kv.expires_at <= now()';
  return {
    get: `SELECT value FROM ${kv} WHERE key = $1 AND ${LIVE}`,
    getMany: `SELECT key, value FROM ${kv} WHERE key = ANY($1::text[]) AND ${LIVE}`,
    // A plain upsert also clears an earlier TTL (expires_at NULL) or replaces it.
    set: `INSERT INTO ${kv} AS kv (key, value, expires_at) VALUES ($1, $2, ${expiry(3)})
          ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
    // Inserts, or replaces a row only when it has expired: one row is affected exactly when it set the key.
    setIfAbsent: `INSERT INTO ${kv} AS kv (key, value, expires_at) VALUES ($1, $2, ${expiry(3)})
          ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at WHERE ${expired}`,
    delete: `DELETE FROM ${kv} WHERE key = $1 AND ${LIVE}`,
    deleteIfEquals: `DELETE FROM ${kv} WHERE key = $1 AND value = $2 AND ${LIVE}`,
    compareAndSet: `UPDATE ${kv} SET value = $3 WHERE key = $1 AND value = $2 AND ${LIVE}`,
    take: `DELETE FROM ${kv} WHERE key = $1 AND ${LIVE} RETURNING value`,
    /*
     * Creates the key with `by` and the TTL, restarts an expired one the same way, or adds to a live
     * one keeping its TTL. The DO UPDATE's WHERE refuses (no row returned, nothing written) a sum
     * past $4; a value that is not an integer makes the cast fail and the statement write nothing.
     */
    increment: `INSERT INTO ${kv} AS kv (key, value, expires_at) VALUES ($1, $2::bigint::text, ${expiry(3)})
          ON CONFLICT (key) DO UPDATE SET
            value = CASE WHEN ${expired} THEN excluded.value ELSE (kv.value::bigint + $2::bigint)::text END,
            expires_at = CASE WHEN ${expired} THEN excluded.expires_at ELSE kv.expires_at END
          WHERE ${expired} OR abs(kv.value::bigint + $2::bigint) <= $4::bigint
          RETURNING value`,
    // Rounded up so a live key never reports 0 ms.
    ttl: `SELECT ceil(extract(epoch FROM expires_at - now()) * 1000)::float8 AS ms FROM ${kv} WHERE key = $1 AND ${LIVE}`,
    // Ranges on the primary key (no LIKE), so `%`, `_` and any other character in a prefix are literal.
    listRange: `SELECT key, value FROM ${kv} WHERE key >= $1 AND key < $2 AND ${LIVE} ORDER BY key`,
    listFrom: `SELECT key, value FROM ${kv} WHERE key >= $1 AND ${LIVE} ORDER BY key`,
    page: `SELECT key, value FROM ${kv} WHERE key >= $1 AND ($2::text IS NULL OR key > $2) AND key < $3 AND ${LIVE} ORDER BY key LIMIT $4`,
    pageOpen: `SELECT key, value FROM ${kv} WHERE key >= $1 AND ($2::text IS NULL OR key > $2) AND ${LIVE} ORDER BY key LIMIT $3`,
    setAdd: `INSERT INTO ${sets} (set_key, member) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
    setRemove: `DELETE FROM ${sets} WHERE set_key = $1 AND member = $2`,
    setFirst: `SELECT member FROM ${sets} WHERE set_key = $1 ORDER BY member LIMIT $2`,
    setAfter: `SELECT member FROM ${sets} WHERE set_key = $1 AND member > $2 ORDER BY member LIMIT $3`,
    setClear: `DELETE FROM ${sets} WHERE set_key = $1`,
    // In batches, skipping rows another instance's sweep (or a writer) holds.
    sweep: `DELETE FROM ${kv} AS kv USING (
              SELECT key FROM ${kv} WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED
            ) AS gone
            WHERE kv.key = gone.key AND ${expired}`,
  };
}

/** A stored value as the caller gave it (see postgresText.ts), or null for no row. */
function valueOf(row: { value: string } | undefined): string | null {
  return row === undefined ? null : unescapeText(row.value);
}

function entryOf(row: { key: string; value: string }): { key: string; value: string } {
  return { key: unescapeText(row.key), value: unescapeText(row.value) };
}

/** `ttlMs` checked and rounded up to whole milliseconds; `undefined` means "no TTL". */
function normalizeTtl(ttlMs: number | undefined): number | undefined {
  if (ttlMs === undefined) return undefined;
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs must be a positive number, got ${ttlMs}`);
  return Math.ceil(ttlMs);
}
