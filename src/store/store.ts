/**
 * The one storage interface of cek-gateway. Everything the service keeps (extensions, sealed
 * secrets, token records, pairing codes, OAuth state, locks, counters, sessions) goes through it,
 * so the embedded SQLite store and Redis are interchangeable. Values are strings; callers JSON-encode.
 *
 * Keys are plain strings built by the key helpers of each feature; the implementation adds its own
 * namespace prefix (config `REDIS_KEY_PREFIX`, per test run in tests) so several deployments and
 * test runs can share one Redis without seeing each other's keys.
 *
 * TTLs are in milliseconds. A key past its TTL is gone for every method (get, list, take, ...).
 */
export interface Store {
  /**
   * What the store runs on, for the start log line, /readyz, backups and tests: `'sqlite'`, `'redis'`
   * (one server), `'redis-cluster'`, `'postgres'`, or PostgreSQL with Redis beside it
   * (`'postgres+redis'`, `'postgres+redis-cluster'`).
   */
  readonly kind: StoreKind;

  get(key: string): Promise<string | null>;
  /** Several keys in one round trip; the result has the same order, `null` for missing keys. */
  getMany(keys: readonly string[]): Promise<Array<string | null>>;
  /** Sets the value; with `ttlMs` it expires, without it it lives until deleted (an existing TTL is cleared). */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Sets only when the key does not exist (or has expired). True when this call set it. */
  setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean>;
  /** True when a key was deleted. */
  delete(key: string): Promise<boolean>;
  /**
   * Replaces the value only when the current one equals `expected` (optimistic concurrency for
   * read-modify-write records); the key's TTL is kept. False when the key is missing or changed.
   */
  compareAndSet(key: string, expected: string, value: string): Promise<boolean>;
  /** Deletes only when the current value equals `expected` (lock release). True when deleted. */
  deleteIfEquals(key: string, expected: string): Promise<boolean>;
  /** Atomically reads and deletes: a single-use value can be taken by exactly one caller. */
  take(key: string): Promise<string | null>;
  /**
   * Atomically adds `by` (default 1) and returns the new value. A missing key counts from 0.
   * `ttlMs` is applied only when this call created the key, so a window's expiry is not pushed back.
   */
  increment(key: string, by?: number, ttlMs?: number): Promise<number>;
  /** Remaining TTL in ms, `null` when the key has no TTL or does not exist. */
  ttl(key: string): Promise<number | null>;
  /** Every live key that starts with `prefix`, with its value, sorted by key. Not for hot paths. */
  list(prefix: string): Promise<Array<{ key: string; value: string }>>;
  /**
   * One page of `list`: at most `limit` entries with keys after `after` (exclusive; a key of an
   * earlier page), in key order. `next` is the key to pass as `after` for the following page, or
   * undefined on the last page. Not for hot paths (on Redis it still scans the prefix's keys, but
   * reads only the page's values).
   */
  listPage(prefix: string, page: { after?: string | undefined; limit: number }): Promise<{ items: Array<{ key: string; value: string }>; next: string | undefined }>;
  /**
   * Every live key under `prefix`, in batches, in no set order, each at least once (a Redis SCAN may
   * repeat one). For whole-store work (building an index, sweeping an extension's keys): unlike
   * paging `listPage`, which on Redis scans the prefix for every page, one pass costs O(keys) on every
   * store and holds only a batch in memory.
   */
  scanKeys(prefix: string): AsyncIterable<string[]>;
  /**
   * Members of an ordered set, kept in byte (code point) order; for indexes that must page in
   * O(page). A set's key is a key of a family (keys.ts) like any other, of a family that holds only
   * sets: a set is not a value (never `get`, `set` or `delete` its key; `list`, `listPage` and so
   * backups do not show it), and it has no TTL.
   */
  setAdd(set: string, member: string): Promise<void>; // idempotent
  /** True when the member was there. */
  setRemove(set: string, member: string): Promise<boolean>;
  /** At most `limit` members after `after` (exclusive) in order; `next` = last member when more may follow. */
  setPage(set: string, page: { after?: string | undefined; limit: number }): Promise<{ members: string[]; next: string | undefined }>;
  /** Removes the whole set (extension deleted). */
  setClear(set: string): Promise<void>;

  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;
  /**
   * The store's own clock, epoch ms (Redis TIME, PostgreSQL's clock; SQLite, embedded, the local
   * one). Instances sharing a store take their counting windows from it (store/storeClock.ts), so
   * instances whose own clocks are apart still count in the same windows.
   */
  time(): Promise<number>;

  /** Publishes a message to every subscriber of `channel`, on every instance that shares the store. */
  publish(channel: string, message: string): Promise<void>;
  /** Calls `handler` for each message on `channel`; returns an unsubscribe function. */
  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>>;

  /** Releases connections and file handles. */
  close(): Promise<void>;
}

export type StoreKind = 'sqlite' | 'redis' | 'redis-cluster' | 'postgres' | 'postgres+redis' | 'postgres+redis-cluster';

/** The largest page `listPage` and `setPage` return. */
export const MAX_PAGE = 1_000;

/** `scanKeys` for stores whose `listPage` is a range of an ordered index (SQLite, PostgreSQL): pages of keys. */
export async function* scanKeysByPages(store: Pick<Store, 'listPage'>, prefix: string): AsyncIterable<string[]> {
  let after: string | undefined;
  do {
    const page = await store.listPage(prefix, { after, limit: MAX_PAGE });
    if (page.items.length > 0) yield page.items.map((i) => i.key);
    after = page.next;
  } while (after !== undefined);
}

/** A page size for `listPage` and `setPage`: an integer from 1 to MAX_PAGE. */
export function pageLimit(limit: number, method = 'listPage'): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new RangeError(`${method}: limit must be an integer from 1 to ${MAX_PAGE}, got ${limit}`);
  return limit;
}
