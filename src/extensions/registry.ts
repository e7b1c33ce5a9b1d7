import type { SpeechLang } from '../cek/types.js';
import type { Logger } from '../http/logger.js';
import { AppError } from '../http/errors.js';
import type { Metrics } from '../http/metrics.js';
import type { Keyring } from '../security/keyring.js';
import { randomSecret } from '../security/random.js';
import type { Store } from '../store/store.js';
import { isStoreUnavailable } from '../store/unavailable.js';
import { LOCALES, MESSAGE_KEYS, MessagePicker, resolveMessages, type Locale, type MessageKey, type Messages, type MessageSet, type MessageText, type Speakable } from './messages.js';
import {
  MAX_PREVIOUS_SECRETS,
  EXTENSION_ID_RULE,
  isExtensionId,
  livePreviousSecrets,
  migrateExtensionRecord,
  EXTENSION_RECORD_VERSION,
  type CreateExtensionInput,
  type ExtensionSections,
  type ExtensionRecord,
  type PatchExtensionInput,
} from './model.js';
import { keyOf, prefixOf } from '../store/keys.js';
import { messageOf } from '../http/errorInfo.js';
import { decodeRecord, isNewerRecord } from '../store/json.js';

const keyFor = (id: string): string => keyOf('extension', id);
export const secretContext = (id: string): string => `chatbot-secret:${id}`;
const CHANGED_CHANNEL = 'extensions:changed';
const DEFAULT_GRACE_SECONDS = 3600;
/** Compare-and-set tries of one change before it gives up with 409 `conflict`. */
const MAX_UPDATE_ATTEMPTS = 50;
/** While the store does not answer, a stale record is served this long before the store is asked again. */
const STALE_RETRY_MS = 1_000;
/** At most one log line this often while stale records are served. */
const STALE_LOG_INTERVAL_MS = 60_000;
/** Cached entries (known and unknown IDs) before unknown ones are dropped. */
const MAX_CACHE_ENTRIES = 10_000;

/** An extension as the request path needs it: resolved messages and opened secrets, from the in-process cache. */
export interface ResolvedExtension {
  readonly record: ExtensionRecord;
  /** The extension-language messages (first variant of each): for pages and previews. */
  readonly messages: Messages;
  /** What to say for `key` to a request in `locale` (request.locale), with variants picked; see MessagePicker. */
  say(key: MessageKey, locale: string | undefined, override?: MessageText): Speakable;
  /** The speech language of an answer to a request in `locale`. */
  langFor(locale: string | undefined): SpeechLang;
  /** The Chatbot Secrets accepted right now (current, and the previous one within its grace period). */
  liveSecrets(now?: number): readonly string[];
}

interface CacheEntry {
  value: ResolvedExtension | undefined;
  expiresAt: number;
}

export interface RegistryOptions {
  store: Store;
  keyring: Keyring;
  log: Logger;
  /** Counts the records served stale during a store outage (without it they are only logged). */
  metrics?: Metrics;
  /** Backstop expiry of cached extensions in case an invalidation message is lost. */
  cacheTtlMs?: number;
  /** How long an unknown ID is remembered, so a flood of requests for it does not reach the store. */
  negativeCacheTtlMs?: number;
}

/**
 * The extension registry: create/read/change/delete extensions, their Chatbot Secrets (sealed at
 * rest), and the sections other features keep on them. Reads on the request path come from an
 * in-process cache that every change invalidates on every instance through the store's pub/sub.
 */
export class ExtensionRegistry {
  readonly #store: Store;
  readonly #keyring: Keyring;
  readonly #log: Logger;
  readonly #metrics: Metrics | undefined;
  readonly #cacheTtlMs: number;
  readonly #negativeTtlMs: number;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #loading = new Map<string, Promise<ResolvedExtension | undefined>>();
  readonly #deleteHooks: Array<(id: string) => Promise<void>> = [];
  #unsubscribe: (() => Promise<void>) | undefined;
  #lastStaleLog = 0;
  #staleSinceLog = 0;

  constructor(o: RegistryOptions) {
    this.#store = o.store;
    this.#keyring = o.keyring;
    this.#log = o.log;
    this.#metrics = o.metrics;
    this.#cacheTtlMs = o.cacheTtlMs ?? 30_000;
    this.#negativeTtlMs = o.negativeCacheTtlMs ?? 2_000;
  }

  async start(): Promise<void> {
    this.#unsubscribe = await this.#store.subscribe(CHANGED_CHANNEL, (id) => this.#cache.delete(id));
  }

  async stop(): Promise<void> {
    await this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  /** Lets another feature drop its data when an extension is deleted. */
  onDelete(hook: (id: string) => Promise<void>): void {
    this.#deleteHooks.push(hook);
  }

  async create(input: CreateExtensionInput): Promise<{ record: ExtensionRecord; chatbotSecret: string }> {
    assertId(input.extensionId);
    const now = new Date().toISOString();
    const chatbotSecret = randomSecret();
    const messages: MessageSet = {};
    applyMessages(messages, input.messages);
    const locales: Partial<Record<Locale, MessageSet>> = {};
    applyLocales(locales, input.locales);
    const record: ExtensionRecord = {
      v: EXTENSION_RECORD_VERSION,
      extensionId: input.extensionId,
      name: input.name ?? input.extensionId,
      language: input.language ?? 'ko',
      verification: input.verification ?? 'any',
      messages,
      ...(Object.keys(locales).length === 0 ? {} : { locales }),
      ...(input.variantSeed === undefined || input.variantSeed === null ? {} : { variantSeed: input.variantSeed }),
      allowPrivateTargets: input.allowPrivateTargets ?? false,
      secret: { sealed: this.#keyring.seal(chatbotSecret, secretContext(input.extensionId)), createdAt: now },
      createdAt: now,
      updatedAt: now,
      sections: {},
    };
    const created = await this.#store.setIfAbsent(keyFor(record.extensionId), JSON.stringify(record));
    if (!created) throw new AppError('extension_exists', `An extension with ID "${record.extensionId}" already exists.`);
    await this.#changed(record.extensionId);
    return { record, chatbotSecret };
  }

  /** Every extension; throws 503 `record_from_newer_version` when a newer cek-gateway wrote one (see `listReadable`). */
  async list(): Promise<ExtensionRecord[]> {
    const { records, newer } = await this.listReadable();
    if (newer[0] !== undefined) throw newer[0].error;
    return records;
  }

  /**
   * Every extension this version can read, and apart, the refusals of those a newer cek-gateway
   * wrote (a rolling upgrade): the admin lists show the others and name these, instead of failing.
   */
  async listReadable(): Promise<{ records: ExtensionRecord[]; newer: Array<{ extensionId: string; error: AppError }> }> {
    const prefix = prefixOf('extension');
    const records: ExtensionRecord[] = [];
    const newer: Array<{ extensionId: string; error: AppError }> = [];
    for (const row of await this.#store.list(prefix)) {
      try {
        records.push(decodeExtension(row.value));
      } catch (err) {
        if (!isNewerRecord(err)) throw err;
        newer.push({ extensionId: row.key.slice(prefix.length), error: err });
      }
    }
    return { records, newer };
  }

  /** The stored record, read from the store (not the cache); throws 404 `unknown_extension`. */
  async get(id: string): Promise<ExtensionRecord> {
    return decodeExtension(await this.#readRaw(id));
  }

  /** The stored JSON of an extension; throws 404 `unknown_extension` (400 for a malformed ID). */
  async #readRaw(id: string): Promise<string> {
    const raw = isExtensionId(id) ? await this.#store.get(keyFor(id)) : null;
    if (raw === null) throw unknown(id);
    return raw;
  }

  async patch(id: string, input: PatchExtensionInput): Promise<ExtensionRecord> {
    return this.#update(id, (r) => {
      if (input.name !== undefined) r.name = input.name;
      if (input.language !== undefined) r.language = input.language;
      if (input.verification !== undefined) r.verification = input.verification;
      if (input.allowPrivateTargets !== undefined) r.allowPrivateTargets = input.allowPrivateTargets;
      applyMessages(r.messages, input.messages);
      if (input.locales !== undefined) {
        const locales = r.locales ?? {};
        applyLocales(locales, input.locales);
        if (Object.keys(locales).length === 0) delete r.locales;
        else r.locales = locales;
      }
      if (input.variantSeed === null) delete r.variantSeed;
      else if (input.variantSeed !== undefined) r.variantSeed = input.variantSeed;
    });
  }

  async rotateSecret(id: string, graceSeconds = DEFAULT_GRACE_SECONDS): Promise<{ record: ExtensionRecord; chatbotSecret: string }> {
    const chatbotSecret = randomSecret();
    const record = await this.#update(id, (r) => {
      const now = Date.now();
      // Every earlier secret keeps its own grace period: rotating twice in a row (a double click)
      // must not cut off the secret still configured in CLOVA. `graceSeconds: 0` ends them all.
      const earlier = livePreviousSecrets(r, now);
      delete r.previousSecret;
      if (graceSeconds > 0) {
        r.previousSecrets = [{ ...r.secret, expiresAt: new Date(now + graceSeconds * 1000).toISOString() }, ...earlier].slice(0, MAX_PREVIOUS_SECRETS);
      } else {
        delete r.previousSecrets;
      }
      r.secret = { sealed: this.#keyring.seal(chatbotSecret, secretContext(id)), createdAt: new Date(now).toISOString() };
    });
    return { record, chatbotSecret };
  }

  /**
   * Changes one feature's section of an extension (account linking, actions, gateway settings):
   * `change` gets the current record and returns the section's new value (`undefined` removes it).
   * It may run more than once (see `#update`), and may throw an AppError to refuse the change.
   */
  async updateSection<K extends keyof ExtensionSections>(id: string, section: K, change: (record: ExtensionRecord) => ExtensionSections[K] | undefined): Promise<ExtensionRecord> {
    return this.#update(id, (r) => {
      const value = change(r);
      if (value === undefined) delete r.sections[section];
      else r.sections[section] = value;
    });
  }

  async delete(id: string): Promise<void> {
    if (!isExtensionId(id) || !(await this.#store.delete(keyFor(id)))) throw unknown(id);
    await this.#changed(id);
    for (const hook of this.#deleteHooks) {
      try {
        await hook(id);
      } catch (err) {
        this.#log.error({ err, extensionId: id }, 'cleanup after extension delete failed');
      }
    }
  }

  /**
   * The extension for a request, from the cache (one store read on a miss, shared by concurrent
   * callers). `undefined` for an unknown or malformed ID. While the store cannot answer, the last
   * record read is served past its expiry (stale-if-error): voice keeps answering through a store
   * outage. Only an ID never read before fails then (503 `store_unavailable`). A record written by
   * a newer cek-gateway is refused (503 `record_from_newer_version`).
   */
  async resolve(id: string): Promise<ResolvedExtension | undefined> {
    const hit = this.#cache.get(id);
    if (hit !== undefined && hit.expiresAt > Date.now()) return hit.value;
    if (!isExtensionId(id)) return undefined;
    let loading = this.#loading.get(id);
    if (loading === undefined) {
      loading = this.#load(id).finally(() => this.#loading.delete(id));
      this.#loading.set(id, loading);
    }
    return loading;
  }

  async #load(id: string): Promise<ResolvedExtension | undefined> {
    let raw: string | null;
    try {
      raw = await this.#store.get(keyFor(id));
    } catch (err) {
      const stale = this.#cache.get(id);
      if (stale === undefined || !isStoreUnavailable(err)) throw err;
      // Ask the store again in a while, not on every request of the outage.
      stale.expiresAt = Date.now() + STALE_RETRY_MS;
      this.#servedStale(id, err);
      return stale.value;
    }
    const value = raw === null ? undefined : this.#resolveRecord(decodeExtension(raw));
    // Bounded: unknown IDs must not grow the map without limit under a flood of random IDs. Known
    // extensions are kept: they are what voice answers from while the store is down.
    if (this.#cache.size > MAX_CACHE_ENTRIES) {
      for (const [key, entry] of this.#cache) if (entry.value === undefined) this.#cache.delete(key);
      if (this.#cache.size > MAX_CACHE_ENTRIES) this.#cache.clear();
    }
    this.#cache.set(id, { value, expiresAt: Date.now() + (value === undefined ? this.#negativeTtlMs : this.#cacheTtlMs) });
    return value;
  }

  #servedStale(id: string, err: unknown): void {
    this.#metrics?.staleExtensions.inc();
    this.#staleSinceLog++;
    const now = Date.now();
    if (now - this.#lastStaleLog < STALE_LOG_INTERVAL_MS) return;
    this.#log.warn(
      { extensionId: id, error: err instanceof Error ? err.message : String(err), servedStale: this.#staleSinceLog },
      'the store does not answer: serving cached extension records until it does',
    );
    this.#lastStaleLog = now;
    this.#staleSinceLog = 0;
  }

  #resolveRecord(record: ExtensionRecord): ResolvedExtension {
    const id = record.extensionId;
    const open = (sealed: string): string | undefined => {
      try {
        return this.#keyring.open(sealed, secretContext(id));
      } catch (err) {
        // Sealed under a key that is no longer configured: the Chatbot Secret is unusable until it
        // is rotated (SignatureCEK still works). Fail closed, loudly, without taking the extension down.
        this.#log.error({ extensionId: id, err: messageOf(err) }, 'the Chatbot Secret cannot be opened with the configured keys; rotate it');
        return undefined;
      }
    };
    const current = open(record.secret.sealed);
    const previous = livePreviousSecrets(record).map((p) => ({ secret: open(p.sealed), until: Date.parse(p.expiresAt) }));
    const picker = new MessagePicker(record.language, record.messages, record.locales, record.variantSeed);
    return {
      record,
      messages: resolveMessages(record.language, record.messages),
      say: (key, locale, override) => picker.pick(key, locale, override),
      langFor: (locale) => picker.langFor(locale),
      liveSecrets: (now = Date.now()) => {
        const live: string[] = [];
        if (current !== undefined) live.push(current);
        for (const p of previous) if (p.secret !== undefined && p.until > now) live.push(p.secret);
        return live;
      },
    };
  }

  /**
   * Read, change, compare-and-set: two admin edits of one extension at the same time (two API keys
   * created at once, two action methods saved at once, from one instance or several) both land,
   * instead of the later write silently dropping the earlier one. `change` runs again on the fresh
   * record when another write came in between, so it must only depend on the record it is given.
   */
  async #update(id: string, change: (r: ExtensionRecord) => void): Promise<ExtensionRecord> {
    for (let attempt = 1; ; attempt++) {
      const raw = await this.#readRaw(id);
      const record = decodeExtension(raw);
      change(record);
      record.updatedAt = new Date().toISOString();
      if (await this.#store.compareAndSet(keyFor(id), raw, JSON.stringify(record))) {
        await this.#changed(id);
        return record;
      }
      if (attempt >= MAX_UPDATE_ATTEMPTS) {
        throw new AppError('conflict', `Extension "${id}" is being changed by other requests right now; try again.`);
      }
      // Spread the retries of writers that collided, so they do not collide again in lockstep.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
  }

  async #changed(id: string): Promise<void> {
    this.#cache.delete(id);
    try {
      await this.#store.publish(CHANGED_CHANNEL, id);
    } catch (err) {
      // Other instances fall back to the cache expiry; the change itself is stored.
      this.#log.warn({ err, extensionId: id }, 'could not publish extension change');
    }
  }
}

function assertId(id: string): void {
  if (!isExtensionId(id)) throw new AppError('invalid_extension_id', EXTENSION_ID_RULE);
}

function unknown(id: string): AppError {
  return isExtensionId(id) ? new AppError('unknown_extension', `No extension with ID "${id}".`) : new AppError('invalid_extension_id', EXTENSION_ID_RULE);
}

/** Writes the given messages into `target`; `null` removes one (back to the default). */
function applyMessages(target: MessageSet, input: Partial<Record<MessageKey, MessageText | null | undefined>> | undefined): void {
  for (const key of MESSAGE_KEYS) {
    const value = input?.[key];
    if (value === null) delete target[key];
    else if (value !== undefined) target[key] = value;
  }
}

/** Writes the given locales' messages into `target`; `null` for a locale removes all of its messages. */
function applyLocales(target: Partial<Record<Locale, MessageSet>>, input: Partial<Record<Locale, Partial<Record<MessageKey, MessageText | null | undefined>> | null>> | undefined): void {
  for (const locale of LOCALES) {
    const value = input?.[locale];
    if (value === undefined) continue;
    if (value === null) {
      delete target[locale];
      continue;
    }
    const set = target[locale] ?? {};
    applyMessages(set, value);
    target[locale] = set;
  }
}

/** A stored extension record, migrated to today's shape. */
function decodeExtension(raw: string): ExtensionRecord {
  return migrateExtensionRecord(decodeRecord<ExtensionRecord>(raw));
}
