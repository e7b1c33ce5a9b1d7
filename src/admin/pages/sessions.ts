import { sha256Hex } from '../../security/hash.js';
import { randomToken } from '../../security/random.js';
import type { Store } from '../../store/store.js';
import { keyOf } from '../../store/keys.js';
import { decodeRecord } from '../../store/json.js';

/**
 * Sessions of the admin pages, kept in the Store so that any instance serves them.
 *
 * Written here rather than with express-session (not a dependency; it would also need an adapter
 * over our Store to work on both SQLite and Redis): the pages need a random id in a cookie, a small
 * record with a CSRF secret and a one-shot flash message, an idle expiry, and delete on sign-out.
 *
 * The store key is `adminsess:<sha256(id)>`: whoever reads the store (a backup, `redis-cli KEYS`)
 * learns no cookie value that would let them act as the admin.
 */

/** Sessions end after this long without a request (sliding). */
export const SESSION_IDLE_MS = 8 * 3600_000;
/** The idle expiry is pushed back at most this often, so most page views cost no store write. */
const TOUCH_EVERY_MS = 60_000;
const ID_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** A message shown once, on the next page after a redirect. */
export interface Flash {
  kind: 'ok' | 'error' | 'info';
  text: string;
  /**
   * A new Chatbot Secret to show once, sealed with the keyring (the store never holds it as text).
   * Bound to the extension it belongs to, so it is shown only on that extension's page.
   */
  secret?: { extensionId: string; sealed: string };
  /**
   * The values of a new or regenerated API key to show once: sealed like `secret` (the JSON of
   * `{primary?, secondary?}`), bound to the extension and the key.
   */
  apiKey?: { extensionId: string; keyId: string; name: string; sealed: string };
  /** A new webhook signing secret (`whsec_…`) to show once: sealed like `secret`, bound to the extension and the endpoint. */
  webhookSecret?: { extensionId: string; webhookId: string; sealed: string };
}

export interface SessionRecord {
  v: 1;
  /** The per-session secret every state-changing form echoes (compared in constant time). */
  csrf: string;
  /** Which admin token signed this session in (keyed hash): changing ADMIN_TOKEN ends every session. */
  tokenTag: string;
  createdAt: number;
  seenAt: number;
  flash?: Flash;
}

/** A loaded session: its cookie id, its store key hash, and the record. */
export interface AdminSession {
  readonly id: string;
  /** sha256 of the id: the store key suffix, also the sealing context of flash secrets. */
  readonly keyHash: string;
  record: SessionRecord;
}

export class AdminSessions {
  readonly #store: Store;
  readonly #idleMs: number;

  constructor(store: Store, o: { idleMs?: number } = {}) {
    this.#store = store;
    this.#idleMs = o.idleMs ?? SESSION_IDLE_MS;
  }

  static keyFor(keyHash: string): string {
    return keyOf('adminSession', keyHash);
  }

  /** A new session (a new id every sign-in: no session fixation). */
  async create(tokenTag: string): Promise<AdminSession> {
    const id = randomToken(32);
    const now = Date.now();
    const session: AdminSession = { id, keyHash: sha256Hex(id), record: { v: 1, csrf: randomToken(32), tokenTag, createdAt: now, seenAt: now } };
    await this.save(session);
    return session;
  }

  /**
   * The session of a cookie value, or `undefined` (malformed, unknown, expired, or signed in with
   * another admin token). Pushes the idle expiry back (at most once a minute).
   */
  async load(id: string | undefined, tokenTag: string): Promise<AdminSession | undefined> {
    if (id === undefined || !ID_SHAPE.test(id)) return undefined;
    const keyHash = sha256Hex(id);
    const raw = await this.#store.get(AdminSessions.keyFor(keyHash));
    if (raw === null) return undefined;
    let record: SessionRecord;
    try {
      record = decodeRecord<SessionRecord>(raw);
    } catch {
      return undefined;
    }
    if (record.v !== 1 || record.tokenTag !== tokenTag) return undefined;
    const session: AdminSession = { id, keyHash, record };
    if (Date.now() - record.seenAt >= TOUCH_EVERY_MS) await this.save(session);
    return session;
  }

  /** Writes the record with a fresh idle expiry. */
  async save(session: AdminSession): Promise<void> {
    session.record.seenAt = Date.now();
    await this.#store.set(AdminSessions.keyFor(session.keyHash), JSON.stringify(session.record), this.#idleMs);
  }

  /** Takes the flash message out of the session (one write), if there is one. */
  async takeFlash(session: AdminSession): Promise<Flash | undefined> {
    const flash = session.record.flash;
    if (flash === undefined) return undefined;
    delete session.record.flash;
    await this.save(session);
    return flash;
  }

  async setFlash(session: AdminSession, flash: Flash): Promise<void> {
    session.record.flash = flash;
    await this.save(session);
  }

  async destroy(session: AdminSession): Promise<void> {
    await this.#store.delete(AdminSessions.keyFor(session.keyHash));
  }
}
