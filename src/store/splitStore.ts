import { familyOf, KEY_FAMILIES } from './keys.js';
import { pageLimit, type Store } from './store.js';

/**
 * Durable and ephemeral apart (issue 15): with DATABASE_URL and REDIS_URL both set, the key families
 * that hold what users would lose (extensions, sealed tokens, quotas, usage: `durable` in
 * store/keys.ts) live in PostgreSQL, with its replicas, backups and point-in-time recovery; the hot,
 * short-lived ones (locks, pairing codes, OAuth state, sessions, rate windows) live in Redis. Every
 * key goes to the home of its family; a key of no family (none in the service; tests use them) is
 * kept durable, the safe side. Pub/sub goes through Redis: its messages are ephemeral by nature.
 *
 * Each method touches one key, so each stays atomic in its one home. Listing a prefix that names a
 * family asks that home only; listing across families (a backup's prefix '') merges both in key order.
 */
/** Code point order, as every store lists keys (UTF-8 byte order is code point order; `<` on strings is UTF-16 order). */
const byKey = (a: { key: string }, b: { key: string }): number => Buffer.compare(Buffer.from(a.key, 'utf8'), Buffer.from(b.key, 'utf8'));

export class SplitStore implements Store {
  readonly kind: 'postgres+redis' | 'postgres+redis-cluster';
  readonly durable: Store;
  readonly ephemeral: Store;

  constructor(durable: Store, ephemeral: Store) {
    this.durable = durable;
    this.ephemeral = ephemeral;
    this.kind = ephemeral.kind === 'redis-cluster' ? 'postgres+redis-cluster' : 'postgres+redis';
  }

  /** The store a key (or a prefix that lies within one family) lives in. */
  homeOf(key: string): Store {
    const family = familyOf(key);
    return family !== undefined && KEY_FAMILIES[family].durability === 'ephemeral' ? this.ephemeral : this.durable;
  }

  /** Both homes for a prefix that may span families (e.g. '' or 'gw:'), else the one home. */
  #homesOf(prefix: string): Store[] {
    return familyOf(prefix) === undefined ? [this.durable, this.ephemeral] : [this.homeOf(prefix)];
  }

  get(key: string): Promise<string | null> {
    return this.homeOf(key).get(key);
  }

  async getMany(keys: readonly string[]): Promise<Array<string | null>> {
    return Promise.all(keys.map((k) => this.homeOf(k).get(k)));
  }

  set(key: string, value: string, ttlMs?: number): Promise<void> {
    return this.homeOf(key).set(key, value, ttlMs);
  }

  setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    return this.homeOf(key).setIfAbsent(key, value, ttlMs);
  }

  delete(key: string): Promise<boolean> {
    return this.homeOf(key).delete(key);
  }

  compareAndSet(key: string, expected: string, value: string): Promise<boolean> {
    return this.homeOf(key).compareAndSet(key, expected, value);
  }

  deleteIfEquals(key: string, expected: string): Promise<boolean> {
    return this.homeOf(key).deleteIfEquals(key, expected);
  }

  take(key: string): Promise<string | null> {
    return this.homeOf(key).take(key);
  }

  increment(key: string, by?: number, ttlMs?: number): Promise<number> {
    return this.homeOf(key).increment(key, by, ttlMs);
  }

  ttl(key: string): Promise<number | null> {
    return this.homeOf(key).ttl(key);
  }

  async list(prefix: string): Promise<Array<{ key: string; value: string }>> {
    const parts = await Promise.all(this.#homesOf(prefix).map((s) => s.list(prefix)));
    return parts.flat().sort(byKey);
  }

  async listPage(prefix: string, page: { after?: string | undefined; limit: number }): Promise<{ items: Array<{ key: string; value: string }>; next: string | undefined }> {
    const limit = pageLimit(page.limit);
    const homes = this.#homesOf(prefix);
    if (homes.length === 1 && homes[0] !== undefined) return homes[0].listPage(prefix, page);
    // A page of each home after the same key, merged: the first `limit` of the union are the page.
    const parts = await Promise.all(homes.map((s) => s.listPage(prefix, page)));
    const merged = parts.flatMap((p) => p.items).sort(byKey);
    const items = merged.slice(0, limit);
    const more = merged.length > limit || parts.some((p) => p.next !== undefined);
    return { items, next: more && items.length > 0 ? items[items.length - 1]?.key : undefined };
  }

  async *scanKeys(prefix: string): AsyncIterable<string[]> {
    for (const home of this.#homesOf(prefix)) yield* home.scanKeys(prefix);
  }

  // A set lives in the home of its key's family, like a key.
  setAdd(set: string, member: string): Promise<void> {
    return this.homeOf(set).setAdd(set, member);
  }

  setRemove(set: string, member: string): Promise<boolean> {
    return this.homeOf(set).setRemove(set, member);
  }

  setPage(set: string, page: { after?: string | undefined; limit: number }): Promise<{ members: string[]; next: string | undefined }> {
    return this.homeOf(set).setPage(set, page);
  }

  setClear(set: string): Promise<void> {
    return this.homeOf(set).setClear(set);
  }

  async ping(): Promise<void> {
    await Promise.all([this.durable.ping(), this.ephemeral.ping()]);
  }

  /** Redis's: the rate windows, the counters whose windows matter most, live there. */
  time(): Promise<number> {
    return this.ephemeral.time();
  }

  publish(channel: string, message: string): Promise<void> {
    return this.ephemeral.publish(channel, message);
  }

  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    return this.ephemeral.subscribe(channel, handler);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.durable.close(), this.ephemeral.close()]);
  }
}
