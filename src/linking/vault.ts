import type { Keyring } from '../security/keyring.js';
import { MAX_PAGE, pageLimit, type Store } from '../store/store.js';
import { keyOf, prefixOf } from '../store/keys.js';
import { checkRecordVersion, decodeRecord } from '../store/json.js';
import { buildLinkIndex, linkIndexBuilt, linkIndexKey } from './linkIndex.js';

/** The secret half of a link: sealed as one blob, never stored or logged as text. */
export interface TokenSet {
  accessToken: string;
  refreshToken?: string | undefined;
  idToken?: string | undefined;
}

export type LinkStatus = 'linked' | 'broken';

/** The version of the token record's shape that this code writes and reads. */
export const TOKEN_RECORD_VERSION = 1;

/** What the store holds per (extension, userId) at `tok:<extensionId>:<userId>`. */
export interface TokenRecord {
  v: typeof TOKEN_RECORD_VERSION;
  /** AES-256-GCM sealed JSON of `TokenSet`, bound to this extension and user. */
  sealed: string;
  /** Epoch ms, or null when the provider gave no `expires_in`. */
  expiresAt: number | null;
  scope: string | null;
  tokenType: string;
  linkedAt: string;
  refreshedAt: string | null;
  status: LinkStatus;
  brokenReason?: string;
  /** Set when the link is made; cleared after the first voice answer spoke `loginSuccessMessage`. */
  successPending?: boolean;
  /**
   * A synthetic link made through the admin API's test users (for the console and the scenario
   * runner): shown as test everywhere, left out of usage, quotas and the linking funnel. Set only
   * when the link is created; a real link never becomes a test one or back.
   */
  test?: true;
}

/** A record with its tokens opened; only in memory. */
export interface OpenedRecord {
  record: TokenRecord;
  tokens: TokenSet;
}

/**
 * Told of each token record write, after it is written (the keep-alive schedule follows the records
 * through it, whoever writes them). `refreshable`: whether the new tokens hold a refresh token, when
 * the write knows. Never rejects: it logs its own failures, a record write stands regardless.
 */
export interface VaultWatcher {
  written(extensionId: string, userId: string, before: TokenRecord | undefined, after: TokenRecord | undefined, refreshable?: boolean): Promise<void>;
}

const keyFor = (extensionId: string, userId: string): string => keyOf('linkedToken', extensionId, userId);
export const contextFor = (extensionId: string, userId: string): string => `token:${extensionId}:${userId}`;

/** A stored token record; 503 `record_from_newer_version` for one a newer cek-gateway wrote (never opened or written back here). */
function decodeToken(raw: string, extensionId: string): TokenRecord {
  const record = decodeRecord<TokenRecord>(raw);
  checkRecordVersion(record.v, TOKEN_RECORD_VERSION, `A linked user's token record of extension "${extensionId}"`);
  return record;
}

/** Token records deleted at once when an extension goes. */
const REMOVE_BATCH = 100;

/**
 * The token vault: per (extension, CEK userId) access token, refresh token, expiry, scope and
 * link dates. Tokens are sealed with the keyring under its current key id; the AAD binds a record to
 * its extension and user, so a record copied to another user's key does not open.
 *
 * It also keeps each extension's link index (linkIndex.ts) in step with the records: a record is
 * written between two adds of its user to the index (the first so a crash leaves at worst an entry
 * without a record, the second so a listing that dropped the entry as stale meanwhile cannot leave
 * the record unindexed), and an entry is removed only after its record, then put back if a record
 * appeared meanwhile (a relink racing the unlink). Every method that creates a record goes through
 * `#write`.
 */
export class TokenVault {
  readonly #store: Store;
  readonly #keyring: Keyring;
  /** The index is known to be complete (its mark was seen): listing reads it instead of scanning the records. */
  #indexed = false;
  readonly #watcher: VaultWatcher | undefined;

  constructor(store: Store, keyring: Keyring, watcher?: VaultWatcher) {
    this.#store = store;
    this.#keyring = keyring;
    this.#watcher = watcher;
  }

  async read(extensionId: string, userId: string): Promise<OpenedRecord | undefined> {
    const raw = await this.#store.get(keyFor(extensionId, userId));
    if (raw === null) return undefined;
    const record = decodeToken(raw, extensionId);
    const tokens = JSON.parse(this.#keyring.open(record.sealed, contextFor(extensionId, userId))) as TokenSet;
    return { record, tokens };
  }

  /** The record without opening its tokens (dates and status only). */
  async record(extensionId: string, userId: string): Promise<TokenRecord | undefined> {
    const raw = await this.#store.get(keyFor(extensionId, userId));
    return raw === null ? undefined : decodeToken(raw, extensionId);
  }

  /** Stores a new link (replacing any earlier one) with `successPending` set. */
  async link(extensionId: string, userId: string, tokens: TokenSet, meta: { expiresAt: number | null; scope: string | null; tokenType: string }): Promise<TokenRecord> {
    const record: TokenRecord = {
      v: TOKEN_RECORD_VERSION,
      sealed: this.#seal(extensionId, userId, tokens),
      expiresAt: meta.expiresAt,
      scope: meta.scope,
      tokenType: meta.tokenType,
      linkedAt: new Date().toISOString(),
      refreshedAt: null,
      status: 'linked',
      successPending: true,
    };
    await this.#write(extensionId, userId, record);
    await this.#watcher?.written(extensionId, userId, undefined, record, tokens.refreshToken !== undefined);
    return record;
  }

  /** Writes a new record (or one over an earlier link) with its index entry around it (see the class). */
  async #write(extensionId: string, userId: string, record: TokenRecord): Promise<void> {
    const index = linkIndexKey(extensionId);
    await this.#store.setAdd(index, userId);
    await this.#store.set(keyFor(extensionId, userId), JSON.stringify(record));
    await this.#store.setAdd(index, userId);
  }

  /** Removes a user's index entry, and puts it back when a record exists after all (written meanwhile). */
  async #unindex(extensionId: string, userId: string): Promise<void> {
    const index = linkIndexKey(extensionId);
    if (!(await this.#store.setRemove(index, userId))) return;
    if ((await this.#store.get(keyFor(extensionId, userId))) !== null) await this.#store.setAdd(index, userId);
  }

  /**
   * Stores a test user's link (`test: true`; no `successPending`: nobody went through linking),
   * replacing an earlier test link of the same id, but never a real link: `real` then, and nothing
   * is written. Compare-and-set, so a real link made meanwhile is not overwritten either.
   */
  async linkTest(extensionId: string, userId: string, tokens: TokenSet, expiresAt: number | null): Promise<{ result: 'created' | 'replaced' | 'real'; record?: TokenRecord }> {
    const key = keyFor(extensionId, userId);
    const record: TokenRecord = {
      v: TOKEN_RECORD_VERSION,
      sealed: this.#seal(extensionId, userId, tokens),
      expiresAt,
      scope: null,
      tokenType: 'Bearer',
      linkedAt: new Date().toISOString(),
      refreshedAt: null,
      status: 'linked',
      test: true,
    };
    const value = JSON.stringify(record);
    // Indexed first, like #write: a real link found instead has its entry anyway.
    await this.#store.setAdd(linkIndexKey(extensionId), userId);
    // Each lost race means another write landed; a handful of tries settles any real contention.
    for (let attempt = 0; attempt < 5; attempt++) {
      const raw = await this.#store.get(key);
      if (raw === null) {
        if (await this.#store.setIfAbsent(key, value)) {
          await this.#store.setAdd(linkIndexKey(extensionId), userId);
          return { result: 'created', record };
        }
        continue;
      }
      if (decodeToken(raw, extensionId).test !== true) return { result: 'real' };
      if (await this.#store.compareAndSet(key, raw, value)) return { result: 'replaced', record };
    }
    throw new Error('the test user could not be written: its record kept changing');
  }

  /** Writes refreshed tokens over an existing record, keeping its link date and flags. */
  async saveRefreshed(extensionId: string, userId: string, previous: TokenRecord, tokens: TokenSet, meta: { expiresAt: number | null; scope: string | null }): Promise<TokenRecord> {
    const record: TokenRecord = {
      ...previous,
      sealed: this.#seal(extensionId, userId, tokens),
      expiresAt: meta.expiresAt,
      scope: meta.scope ?? previous.scope,
      refreshedAt: new Date().toISOString(),
      status: 'linked',
    };
    delete record.brokenReason;
    await this.#store.set(keyFor(extensionId, userId), JSON.stringify(record));
    await this.#watcher?.written(extensionId, userId, previous, record, tokens.refreshToken !== undefined);
    return record;
  }

  async update(extensionId: string, userId: string, change: (r: TokenRecord) => void): Promise<void> {
    const raw = await this.#store.get(keyFor(extensionId, userId));
    if (raw === null) return;
    const record = decodeToken(raw, extensionId);
    change(record);
    await this.#store.set(keyFor(extensionId, userId), JSON.stringify(record));
    await this.#watcher?.written(extensionId, userId, decodeRecord<TokenRecord>(raw), record);
  }

  /** Marks a link broken; true when it was linked before (a change worth announcing), false when already broken or gone. */
  async markBroken(extensionId: string, userId: string, reason: string): Promise<boolean> {
    let wasLinked = false;
    await this.update(extensionId, userId, (r) => {
      wasLinked = r.status === 'linked';
      r.status = 'broken';
      r.brokenReason = reason;
    });
    return wasLinked;
  }

  /** Removes a test user's link, never a real one: `real` then (delete-if-equals, so a real link made meanwhile stays). */
  async removeTest(extensionId: string, userId: string): Promise<'removed' | 'none' | 'real'> {
    const key = keyFor(extensionId, userId);
    for (let attempt = 0; attempt < 5; attempt++) {
      const raw = await this.#store.get(key);
      if (raw === null) return 'none';
      if (decodeToken(raw, extensionId).test !== true) return 'real';
      if (await this.#store.deleteIfEquals(key, raw)) {
        await this.#unindex(extensionId, userId);
        return 'removed';
      }
    }
    throw new Error('the test user could not be removed: its record kept changing');
  }

  /** Deletes the record, then its index entry; the watcher hears of it. */
  async remove(extensionId: string, userId: string): Promise<boolean> {
    let removed: boolean;
    if (this.#watcher === undefined) {
      removed = await this.#store.delete(keyFor(extensionId, userId));
    } else {
      // Taken, not just deleted: the watcher needs what was there. Any version is unlinked: nothing of it is kept.
      const raw = await this.#store.take(keyFor(extensionId, userId));
      if (raw !== null) await this.#watcher.written(extensionId, userId, decodeRecord<TokenRecord>(raw), undefined);
      removed = raw !== null;
    }
    await this.#unindex(extensionId, userId);
    return removed;
  }

  /** Every link of a deleted extension: the records the index names, the index, then any record it missed. */
  async removeAll(extensionId: string): Promise<void> {
    const index = linkIndexKey(extensionId);
    let after: string | undefined;
    do {
      const page = await this.#store.setPage(index, { after, limit: MAX_PAGE });
      for (let i = 0; i < page.members.length; i += REMOVE_BATCH) {
        await Promise.all(page.members.slice(i, i + REMOVE_BATCH).map((userId) => this.#store.delete(keyFor(extensionId, userId))));
      }
      after = page.next;
    } while (after !== undefined);
    await this.#store.setClear(index);
    // Records without an entry exist only while the index is being built (an older version's links).
    for await (const keys of this.#store.scanKeys(prefixOf('linkedToken', extensionId))) {
      for (const key of keys) await this.#store.delete(key);
    }
  }

  /**
   * One page of an extension's links in user id order, without tokens (admin use). `next`: the user
   * id to continue after. Reads a page of the link index and those records (O(page) on every store);
   * an entry whose record is gone is skipped, dropped, and the page filled from the entries after it.
   * Until the index is complete (an older version's store, built at start), the records are listed by prefix.
   */
  async listPage(extensionId: string, page: { after?: string | undefined; limit: number }): Promise<{ links: Array<{ userId: string; record: TokenRecord }>; next: string | undefined }> {
    if (!this.#indexed) this.#indexed = await linkIndexBuilt(this.#store);
    if (!this.#indexed) return this.#scanPage(extensionId, page);
    const limit = pageLimit(page.limit);
    const index = linkIndexKey(extensionId);
    const links: Array<{ userId: string; record: TokenRecord }> = [];
    let after = page.after;
    while (links.length < limit) {
      const { members, next } = await this.#store.setPage(index, { after, limit: limit - links.length });
      const raws = members.length === 0 ? [] : await this.#store.getMany(members.map((userId) => keyFor(extensionId, userId)));
      for (const [i, userId] of members.entries()) {
        const raw = raws[i] ?? null;
        if (raw === null) await this.#unindex(extensionId, userId);
        else links.push({ userId, record: decodeToken(raw, extensionId) });
      }
      if (next === undefined) return { links, next: undefined };
      after = next;
    }
    // The page is full, and every member of the last set page had its record: `after` is the last link.
    return { links, next: after };
  }

  /**
   * Builds the link index once for records written before it existed (see linkIndex.ts), unless
   * its mark says it is complete. `built`: this call built it (and gave `links` records their entry).
   */
  async ensureIndex(o: { stopped?: () => boolean } = {}): Promise<{ built: boolean; links: number }> {
    if (this.#indexed || (await linkIndexBuilt(this.#store))) {
      this.#indexed = true;
      return { built: false, links: 0 };
    }
    const { links, complete } = await buildLinkIndex(this.#store, o);
    this.#indexed = complete;
    return { built: complete, links };
  }

  /** A page of records by key prefix: the listing before the index is complete (every key is scanned on Redis). */
  async #scanPage(extensionId: string, page: { after?: string | undefined; limit: number }): Promise<{ links: Array<{ userId: string; record: TokenRecord }>; next: string | undefined }> {
    const prefix = prefixOf('linkedToken', extensionId);
    const { items, next } = await this.#store.listPage(prefix, { after: page.after === undefined ? undefined : prefix + page.after, limit: page.limit });
    return {
      links: items.map((r) => ({ userId: r.key.slice(prefix.length), record: decodeToken(r.value, extensionId) })),
      next: next?.slice(prefix.length),
    };
  }

  /** Every link of an extension, without tokens. Admin use only (it lists by prefix). */
  async list(extensionId: string): Promise<Array<{ userId: string; record: TokenRecord }>> {
    const prefix = prefixOf('linkedToken', extensionId);
    const rows = await this.#store.list(prefix);
    return rows.map((r) => ({ userId: r.key.slice(prefix.length), record: decodeToken(r.value, extensionId) }));
  }

  #seal(extensionId: string, userId: string, tokens: TokenSet): string {
    return this.#keyring.seal(JSON.stringify(tokens), contextFor(extensionId, userId));
  }
}
