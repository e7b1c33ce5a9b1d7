import type { Keyring } from '../security/keyring.js';
import type { Store } from '../store/store.js';
import { keyOf, prefixOf } from '../store/keys.js';
import { decodeRecord } from '../store/json.js';

/** The secret half of a link: sealed as one blob, never stored or logged as text. */
export interface TokenSet {
  accessToken: string;
  refreshToken?: string | undefined;
  idToken?: string | undefined;
}

export type LinkStatus = 'linked' | 'broken';

/** What the store holds per (extension, userId) at `tok:<extensionId>:<userId>`. */
export interface TokenRecord {
  v: 1;
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

/**
 * The token vault: per (extension, CEK userId) access token, refresh token, expiry, scope and
 * link dates. Tokens are sealed with the keyring under its current key id; the AAD binds a record to
 * its extension and user, so a record copied to another user's key does not open.
 */
export class TokenVault {
  readonly #store: Store;
  readonly #keyring: Keyring;
  readonly #watcher: VaultWatcher | undefined;

  constructor(store: Store, keyring: Keyring, watcher?: VaultWatcher) {
    this.#store = store;
    this.#keyring = keyring;
    this.#watcher = watcher;
  }

  async read(extensionId: string, userId: string): Promise<OpenedRecord | undefined> {
    const raw = await this.#store.get(keyFor(extensionId, userId));
    if (raw === null) return undefined;
    const record = decodeRecord<TokenRecord>(raw);
    const tokens = JSON.parse(this.#keyring.open(record.sealed, contextFor(extensionId, userId))) as TokenSet;
    return { record, tokens };
  }

  /** The record without opening its tokens (dates and status only). */
  async record(extensionId: string, userId: string): Promise<TokenRecord | undefined> {
    const raw = await this.#store.get(keyFor(extensionId, userId));
    return raw === null ? undefined : decodeRecord<TokenRecord>(raw);
  }

  /** Stores a new link (replacing any earlier one) with `successPending` set. */
  async link(extensionId: string, userId: string, tokens: TokenSet, meta: { expiresAt: number | null; scope: string | null; tokenType: string }): Promise<TokenRecord> {
    const record: TokenRecord = {
      v: 1,
      sealed: this.#seal(extensionId, userId, tokens),
      expiresAt: meta.expiresAt,
      scope: meta.scope,
      tokenType: meta.tokenType,
      linkedAt: new Date().toISOString(),
      refreshedAt: null,
      status: 'linked',
      successPending: true,
    };
    await this.#store.set(keyFor(extensionId, userId), JSON.stringify(record));
    await this.#watcher?.written(extensionId, userId, undefined, record, tokens.refreshToken !== undefined);
    return record;
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
    const record = decodeRecord<TokenRecord>(raw);
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

  async remove(extensionId: string, userId: string): Promise<boolean> {
    if (this.#watcher === undefined) return this.#store.delete(keyFor(extensionId, userId));
    // Taken, not just deleted: the watcher needs what was there.
    const raw = await this.#store.take(keyFor(extensionId, userId));
    if (raw !== null) await this.#watcher.written(extensionId, userId, decodeRecord<TokenRecord>(raw), undefined);
    return raw !== null;
  }

  /** One page of an extension's links in user id order, without tokens (admin use). `next`: the user id to continue after. */
  async listPage(extensionId: string, page: { after?: string | undefined; limit: number }): Promise<{ links: Array<{ userId: string; record: TokenRecord }>; next: string | undefined }> {
    const prefix = prefixOf('linkedToken', extensionId);
    const { items, next } = await this.#store.listPage(prefix, { after: page.after === undefined ? undefined : prefix + page.after, limit: page.limit });
    return {
      links: items.map((r) => ({ userId: r.key.slice(prefix.length), record: decodeRecord<TokenRecord>(r.value) })),
      next: next?.slice(prefix.length),
    };
  }

  /** Every link of an extension, without tokens. Admin use only (it lists by prefix). */
  async list(extensionId: string): Promise<Array<{ userId: string; record: TokenRecord }>> {
    const prefix = prefixOf('linkedToken', extensionId);
    const rows = await this.#store.list(prefix);
    return rows.map((r) => ({ userId: r.key.slice(prefix.length), record: decodeRecord<TokenRecord>(r.value) }));
  }

  #seal(extensionId: string, userId: string, tokens: TokenSet): string {
    return this.#keyring.seal(JSON.stringify(tokens), contextFor(extensionId, userId));
  }
}
