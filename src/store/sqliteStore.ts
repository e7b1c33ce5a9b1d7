import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { OutageGuard } from './outageGuard.js';
import { pageLimit, scanKeysByPages, type Store } from './store.js';
import { isStoreUnavailable } from './unavailable.js';
import { messageOf, reasonOf } from '../http/errorInfo.js';

/**
 * The embedded store: one SQLite file (better-sqlite3, WAL), one table
 * `kv(key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER)`; `expires_at` is epoch ms,
 * NULL for "no TTL".
 *
 * better-sqlite3 is synchronous: every method does its work synchronously and returns a settled
 * Promise, so a read-modify-write inside `db.transaction(...)` cannot interleave with anything
 * else in this process. Write transactions use `BEGIN IMMEDIATE`, so a second process on the same
 * file waits (busy_timeout) instead of failing on a lock upgrade.
 *
 * Expired rows are filtered out by every query (`expires_at IS NULL OR expires_at > now`) and
 * deleted by a periodic sweep.
 *
 * A file that cannot be written (locked by another process, read-only, a full disk, an I/O error)
 * fails the write; later writes then fail at once (`OutageGuard`) until a probe gets the write
 * lock again, while reads go on: a voice request that only reads keeps answering.
 */
export interface SqliteStore extends Store {
  readonly kind: 'sqlite';
  /** The database file (or `':memory:'`). */
  readonly file: string;
  /** Deletes expired rows now (the periodic sweep calls it); returns how many were removed. */
  sweep(): number;
}

export interface SqliteStoreOptions {
  /** Path of the database file (its directory is created when missing), or `':memory:'`. */
  file: string;
  /** Prepended to every key (and channel) and stripped from `list` results. */
  prefix?: string;
}

const SWEEP_INTERVAL_MS = 60_000;
/**
 * How long a write waits for another process's lock. better-sqlite3 waits synchronously, blocking
 * every request of this process meanwhile, so this stays short (a healthy transaction takes
 * milliseconds).
 */
const BUSY_TIMEOUT_MS = 1_000;
/** While writes fail, how often a probe tries to take the write lock. */
const WRITE_PROBE_INTERVAL_MS = 1_000;
/** `expires_at` condition shared by every read: the row is visible while it has not expired. */
const LIVE = '(expires_at IS NULL OR expires_at > @now)';
const MAX_CODE_POINT = 0x10ffff;
/**
 * SQLite's own ceiling on the memory map (SQLITE_MAX_MMAP_SIZE, 0x7fff0000 in better-sqlite3's
 * build; a larger request is cut to it). Address space only: pages are mapped as they are read.
 */
const MMAP_SIZE_MAX = 0x7fff0000;

export function createSqliteStore(opts: SqliteStoreOptions): SqliteStore {
  return new SqliteStoreImpl(opts.file, opts.prefix ?? '');
}

interface ValueRow {
  value: string;
}
interface PageParams {
  lo: string;
  hi: string;
  now: number;
  limit: number;
}

interface KeyValueRow {
  key: string;
  value: string;
}
interface MemberRow {
  member: string;
}
interface ExpiryRow {
  expires_at: number | null;
}

class SqliteStoreImpl implements SqliteStore {
  readonly kind = 'sqlite' as const;
  readonly file: string;
  private readonly prefix: string;
  private readonly db: Database.Database;
  /**
   * publish/subscribe is in-process only: the SQLite store serves one instance of the service
   * (a second process on the same file would not receive these messages; use Redis for several
   * instances). Channel names carry the store prefix like keys do.
   */
  private readonly bus = new EventEmitter();
  private sweepTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly writes = new OutageGuard({ probe: async () => this.probeWrite(), probeIntervalMs: WRITE_PROBE_INTERVAL_MS });

  private readonly stmt: Statements;

  private readonly getManyTx: (keys: readonly string[], now: number) => Array<string | null>;
  private readonly setIfAbsentTx: Database.Transaction<(key: string, value: string, expiresAt: number | null, now: number) => boolean>;
  private readonly takeTx: Database.Transaction<(key: string, now: number) => string | null>;
  private readonly incrementTx: Database.Transaction<(key: string, by: number, ttlMs: number | undefined, now: number) => number>;

  constructor(file: string, prefix: string) {
    this.file = file;
    this.prefix = prefix;
    try {
      if (file !== ':memory:' && file !== '') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      this.db = new Database(file);
    } catch (err) {
      throw new Error(`the SQLite database ${file} cannot be opened (${reasonOf(err)})`, { cause: err });
    }
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      // Reads through a memory map instead of a read() per page, over as much of the file as SQLite
      // maps (MMAP_SIZE_MAX). Pages read past the map go through SQLite's page cache instead (16 MB
      // of this process's own memory, a copy per page): with a 256 MiB map, a million linked users
      // (a 540 MiB file) had token lookups 1.5-1.9x slower than at 10k and 15 MiB more anonymous RSS
      // (bench: scale). Mapped pages are the kernel's page cache, shared and reclaimable.
      this.db.pragma(`mmap_size = ${MMAP_SIZE_MAX}`);
      this.db.exec(
        `CREATE TABLE IF NOT EXISTS kv (
           key TEXT PRIMARY KEY,
           value TEXT NOT NULL,
           expires_at INTEGER
         );
         CREATE INDEX IF NOT EXISTS kv_expires_at ON kv (expires_at) WHERE expires_at IS NOT NULL;
         -- Ordered sets (setAdd, setPage): a page is a range of the primary key, members in BINARY
         -- (UTF-8 byte) order. WITHOUT ROWID: the key is the row, no second b-tree.
         CREATE TABLE IF NOT EXISTS sets (
           set_key TEXT NOT NULL,
           member TEXT NOT NULL,
           PRIMARY KEY (set_key, member)
         ) WITHOUT ROWID;`,
      );
      const db = this.db;
      this.stmt = prepareStatements(db);

      const stmt = this.stmt;
      this.getManyTx = db.transaction((keys: readonly string[], now: number) => keys.map((k) => stmt.get.get({ key: k, now })?.value ?? null));
      this.setIfAbsentTx = db.transaction((key: string, value: string, expiresAt: number | null, now: number) => {
        return stmt.insertIfAbsent.run({ key, value, expiresAt, now }).changes === 1;
      });
      this.takeTx = db.transaction((key: string, now: number) => {
        const row = stmt.get.get({ key, now });
        if (row === undefined) return null;
        stmt.deleteKey.run({ key });
        return row.value;
      });
      this.incrementTx = db.transaction((key: string, by: number, ttlMs: number | undefined, now: number) => {
        const row = stmt.get.get({ key, now });
        if (row === undefined) {
          // Missing or expired: this call creates the key, so it (alone) sets the TTL.
          stmt.upsert.run({ key, value: String(by), expiresAt: ttlMs === undefined ? null : now + ttlMs });
          return by;
        }
        const next = parseCounter(row.value) + by;
        if (!Number.isSafeInteger(next)) throw new RangeError('increment would overflow');
        stmt.updateValue.run({ key, value: String(next) });
        return next;
      });
    } catch (err) {
      this.db.close();
      // E.g. "file is not a database": say which file.
      throw new Error(`the SQLite database ${file} cannot be used (${messageOf(err)})`, { cause: err });
    }

    this.sweepTimer = setInterval(() => {
      try {
        this.sweep();
      } catch {
        // A busy or closing database: the next sweep tries again, and expired rows stay invisible.
      }
    }, SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
    this.bus.setMaxListeners(0);
  }

  sweep(): number {
    return this.write(() => this.stmt.sweep.run({ now: Date.now() }).changes);
  }

  /** Runs a write; fails at once while writes are known to fail, and marks them so when this one does. */
  private write<T>(work: () => T): T {
    this.writes.check();
    try {
      return work();
    } catch (err) {
      if (isStoreUnavailable(err)) this.writes.markDown(messageOf(err));
      throw err;
    }
  }

  /** Takes and releases the write lock without waiting for it (no busy timeout: the probe must not block). */
  private probeWrite(): void {
    if (this.closed) throw new Error('store is closed');
    this.db.pragma('busy_timeout = 0');
    try {
      this.db.exec('BEGIN IMMEDIATE; ROLLBACK');
    } finally {
      this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }

  async get(key: string): Promise<string | null> {
    return this.stmt.get.get({ key: this.prefix + key, now: Date.now() })?.value ?? null;
  }

  async getMany(keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    return this.getManyTx(
      keys.map((k) => this.prefix + k),
      Date.now(),
    );
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    const expiresAt = expiryFor(ttlMs);
    this.write(() => this.stmt.upsert.run({ key: this.prefix + key, value, expiresAt }));
  }

  async setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    const expiresAt = expiryFor(ttlMs);
    return this.write(() => this.setIfAbsentTx.immediate(this.prefix + key, value, expiresAt, Date.now()));
  }

  async delete(key: string): Promise<boolean> {
    return this.write(() => this.stmt.delete.run({ key: this.prefix + key, now: Date.now() }).changes > 0);
  }

  async deleteIfEquals(key: string, expected: string): Promise<boolean> {
    return this.write(() => this.stmt.deleteIfEquals.run({ key: this.prefix + key, value: expected, now: Date.now() }).changes > 0);
  }

  async compareAndSet(key: string, expected: string, value: string): Promise<boolean> {
    return this.write(() => this.stmt.compareAndSet.run({ key: this.prefix + key, expected, value, now: Date.now() }).changes > 0);
  }

  async take(key: string): Promise<string | null> {
    return this.write(() => this.takeTx.immediate(this.prefix + key, Date.now()));
  }

  async increment(key: string, by = 1, ttlMs?: number): Promise<number> {
    if (!Number.isSafeInteger(by)) throw new RangeError(`increment: by must be a safe integer, got ${by}`);
    const ttl = normalizeTtl(ttlMs);
    return this.write(() => this.incrementTx.immediate(this.prefix + key, by, ttl, Date.now()));
  }

  async ttl(key: string): Promise<number | null> {
    const now = Date.now();
    const row = this.stmt.ttl.get({ key: this.prefix + key, now });
    if (row === undefined || row.expires_at === null) return null;
    return row.expires_at - now;
  }

  async list(prefix: string): Promise<Array<{ key: string; value: string }>> {
    const lo = this.prefix + prefix;
    const hi = prefixUpperBound(lo);
    const now = Date.now();
    const rows = hi === null ? this.stmt.listFrom.all({ lo, now }) : this.stmt.listRange.all({ lo, hi, now });
    const cut = this.prefix.length;
    return rows.map((r) => ({ key: r.key.slice(cut), value: r.value }));
  }

  async listPage(prefix: string, page: { after?: string | undefined; limit: number }): Promise<{ items: Array<{ key: string; value: string }>; next: string | undefined }> {
    const limit = pageLimit(page.limit);
    const lo = this.prefix + prefix;
    const hi = prefixUpperBound(lo);
    // Keys after `after` (exclusive), or from the prefix itself (inclusive) on the first page.
    const after = page.after === undefined ? undefined : this.prefix + page.after;
    const from = after !== undefined && after >= lo ? after : undefined;
    const params = { lo: from ?? lo, hi: hi ?? '', now: Date.now(), limit: limit + 1 };
    // A statement per bound: with `(@open = 1 OR key < @hi)` SQLite could not bound the index range
    // above, and a last page read every key after the prefix (EXPLAIN QUERY PLAN: `key>?` only).
    const rows = hi === null ? (from === undefined ? this.stmt.pageFromOpen : this.stmt.pageAfterOpen).all(params) : (from === undefined ? this.stmt.pageFrom : this.stmt.pageAfter).all(params);
    const cut = this.prefix.length;
    const items = rows.slice(0, limit).map((r) => ({ key: r.key.slice(cut), value: r.value }));
    return { items, next: rows.length > limit ? items[items.length - 1]?.key : undefined };
  }

  scanKeys(prefix: string): AsyncIterable<string[]> {
    return scanKeysByPages(this, prefix);
  }

  async setAdd(set: string, member: string): Promise<void> {
    this.write(() => this.stmt.setAdd.run({ set: this.prefix + set, member }));
  }

  async setRemove(set: string, member: string): Promise<boolean> {
    return this.write(() => this.stmt.setRemove.run({ set: this.prefix + set, member }).changes > 0);
  }

  async setPage(set: string, page: { after?: string | undefined; limit: number }): Promise<{ members: string[]; next: string | undefined }> {
    const limit = pageLimit(page.limit, 'setPage');
    const params = { set: this.prefix + set, limit: limit + 1 };
    const rows = page.after === undefined ? this.stmt.setFirst.all(params) : this.stmt.setAfter.all({ ...params, after: page.after });
    const members = rows.slice(0, limit).map((r) => r.member);
    return { members, next: rows.length > limit ? members[members.length - 1] : undefined };
  }

  async setClear(set: string): Promise<void> {
    this.write(() => this.stmt.setClear.run({ set: this.prefix + set }));
  }

  /** Fails while writes fail too: a store that cannot write is not ready. */
  async ping(): Promise<void> {
    this.stmt.ping.get();
    this.writes.check();
  }

  async time(): Promise<number> {
    if (this.closed) throw new Error('store is closed');
    // Embedded: the store's clock is this process's.
    return Date.now();
  }

  async publish(channel: string, message: string): Promise<void> {
    if (this.closed) throw new Error('store is closed');
    const event = this.prefix + channel;
    if (this.bus.listenerCount(event) === 0) return;
    // Delivered asynchronously, like Redis: publish resolves before handlers run.
    setImmediate(() => this.bus.emit(event, message));
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('store is closed');
    const event = this.prefix + channel;
    const listener = (message: string): void => {
      try {
        handler(message);
      } catch (err) {
        process.emitWarning(`store subscriber on channel "${channel}" threw: ${messageOf(err)}`);
      }
    };
    this.bus.on(event, listener);
    return async () => {
      this.bus.off(event, listener);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.writes.stop();
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    this.bus.removeAllListeners();
    this.db.close();
  }
}

type Statements = ReturnType<typeof prepareStatements>;

/** Every statement, prepared once per connection. */
function prepareStatements(db: Database.Database) {
  type Key = { key: string; now: number };
  return {
    get: db.prepare<Key, ValueRow>(`SELECT value FROM kv WHERE key = @key AND ${LIVE}`),
    upsert: db.prepare<{ key: string; value: string; expiresAt: number | null }>(
      `INSERT INTO kv (key, value, expires_at) VALUES (@key, @value, @expiresAt)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
    ),
    // Inserts, or replaces a row only when it has expired: `changes` is 1 exactly when it set the key.
    insertIfAbsent: db.prepare<{ key: string; value: string; expiresAt: number | null; now: number }>(
      `INSERT INTO kv (key, value, expires_at) VALUES (@key, @value, @expiresAt)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
       WHERE kv.expires_at IS NOT NULL AND kv.expires_at <= @now`,
    ),
    delete: db.prepare<Key>(`DELETE FROM kv WHERE key = @key AND ${LIVE}`),
    deleteIfEquals: db.prepare<{ key: string; value: string; now: number }>(`DELETE FROM kv WHERE key = @key AND value = @value AND ${LIVE}`),
    compareAndSet: db.prepare<{ key: string; expected: string; value: string; now: number }>(`UPDATE kv SET value = @value WHERE key = @key AND value = @expected AND ${LIVE}`),
    deleteKey: db.prepare<{ key: string }>(`DELETE FROM kv WHERE key = @key`),
    updateValue: db.prepare<{ key: string; value: string }>(`UPDATE kv SET value = @value WHERE key = @key`),
    ttl: db.prepare<Key, ExpiryRow>(`SELECT expires_at FROM kv WHERE key = @key AND ${LIVE}`),
    // A range on the primary key (no LIKE), so `%`, `_` and any other character in a prefix are literal.
    listRange: db.prepare<{ lo: string; hi: string; now: number }, KeyValueRow>(`SELECT key, value FROM kv WHERE key >= @lo AND key < @hi AND ${LIVE} ORDER BY key`),
    listFrom: db.prepare<{ lo: string; now: number }, KeyValueRow>(`SELECT key, value FROM kv WHERE key >= @lo AND ${LIVE} ORDER BY key`),
    pageFrom: db.prepare<PageParams, KeyValueRow>(`SELECT key, value FROM kv WHERE key >= @lo AND key < @hi AND ${LIVE} ORDER BY key LIMIT @limit`),
    pageAfter: db.prepare<PageParams, KeyValueRow>(`SELECT key, value FROM kv WHERE key > @lo AND key < @hi AND ${LIVE} ORDER BY key LIMIT @limit`),
    pageFromOpen: db.prepare<Omit<PageParams, 'hi'>, KeyValueRow>(`SELECT key, value FROM kv WHERE key >= @lo AND ${LIVE} ORDER BY key LIMIT @limit`),
    pageAfterOpen: db.prepare<Omit<PageParams, 'hi'>, KeyValueRow>(`SELECT key, value FROM kv WHERE key > @lo AND ${LIVE} ORDER BY key LIMIT @limit`),
    setAdd: db.prepare<{ set: string; member: string }>(`INSERT INTO sets (set_key, member) VALUES (@set, @member) ON CONFLICT DO NOTHING`),
    setRemove: db.prepare<{ set: string; member: string }>(`DELETE FROM sets WHERE set_key = @set AND member = @member`),
    setFirst: db.prepare<{ set: string; limit: number }, MemberRow>(`SELECT member FROM sets WHERE set_key = @set ORDER BY member LIMIT @limit`),
    setAfter: db.prepare<{ set: string; after: string; limit: number }, MemberRow>(`SELECT member FROM sets WHERE set_key = @set AND member > @after ORDER BY member LIMIT @limit`),
    setClear: db.prepare<{ set: string }>(`DELETE FROM sets WHERE set_key = @set`),
    sweep: db.prepare<{ now: number }>(`DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= @now`),
    ping: db.prepare<[], { one: number }>(`SELECT 1 AS one`),
  };
}

/** `ttlMs` checked and rounded up to whole milliseconds; `undefined` means "no TTL". */
function normalizeTtl(ttlMs: number | undefined): number | undefined {
  if (ttlMs === undefined) return undefined;
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs must be a positive number, got ${ttlMs}`);
  return Math.ceil(ttlMs);
}

function expiryFor(ttlMs: number | undefined): number | null {
  const ttl = normalizeTtl(ttlMs);
  return ttl === undefined ? null : Date.now() + ttl;
}

function parseCounter(value: string): number {
  const n = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new Error('value is not an integer or out of range');
  return n;
}

/**
 * The smallest string greater than every string that starts with `prefix` (in SQLite's BINARY
 * order, i.e. UTF-8 byte order, which is code point order), or null when there is none (an empty
 * prefix, or one made only of U+10FFFF). Used as the exclusive upper bound of a range query.
 */
export function prefixUpperBound(prefix: string): string | null {
  const cps = Array.from(prefix, (c) => c.codePointAt(0) ?? 0);
  while (cps.length > 0) {
    const last = cps.pop() ?? 0;
    if (last < MAX_CODE_POINT) {
      // Skip the surrogate range: those are not characters and cannot be stored in UTF-8.
      const next = last === 0xd7ff ? 0xe000 : last + 1;
      return String.fromCodePoint(...cps, next);
    }
  }
  return null;
}
