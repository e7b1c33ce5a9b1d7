import type { Logger } from '../http/logger.js';
import { AppError } from '../http/errors.js';
import type { Keyring } from '../security/keyring.js';
import { randomSecret } from '../security/random.js';
import type { Store } from '../store/store.js';
import { resolveMessages, type Messages } from './messages.js';
import {
  MAX_PREVIOUS_SECRETS,
  NEW_EXTENSION_ID,
  isExtensionId,
  livePreviousSecrets,
  type CreateExtensionInput,
  type ExtensionRecord,
  type PatchExtensionInput,
} from './model.js';

const keyFor = (id: string): string => `ext:${id}`;
export const secretContext = (id: string): string => `chatbot-secret:${id}`;
const CHANGED_CHANNEL = 'extensions:changed';
const DEFAULT_GRACE_SECONDS = 3600;
/** Compare-and-set tries of one change before it gives up with 409 `conflict`. */
const MAX_UPDATE_ATTEMPTS = 50;

/** An extension as the request path needs it: resolved messages and opened secrets, from the in-process cache. */
export interface ResolvedExtension {
  readonly record: ExtensionRecord;
  readonly messages: Messages;
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
  readonly #cacheTtlMs: number;
  readonly #negativeTtlMs: number;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #loading = new Map<string, Promise<ResolvedExtension | undefined>>();
  readonly #deleteHooks: Array<(id: string) => Promise<void>> = [];
  #unsubscribe: (() => Promise<void>) | undefined;

  constructor(o: RegistryOptions) {
    this.#store = o.store;
    this.#keyring = o.keyring;
    this.#log = o.log;
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
    const messages: ExtensionRecord['messages'] = {};
    for (const [k, v] of Object.entries(input.messages ?? {})) if (typeof v === 'string') messages[k as keyof Messages] = v;
    const record: ExtensionRecord = {
      extensionId: input.extensionId,
      name: input.name ?? input.extensionId,
      language: input.language ?? 'ko',
      verification: input.verification ?? 'any',
      messages,
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

  async list(): Promise<ExtensionRecord[]> {
    const rows = await this.#store.list('ext:');
    return rows.map((r) => JSON.parse(r.value) as ExtensionRecord);
  }

  /** The stored record, read from the store (not the cache); throws 404 `unknown_extension`. */
  async get(id: string): Promise<ExtensionRecord> {
    return JSON.parse(await this.#readRaw(id)) as ExtensionRecord;
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
      for (const [k, v] of Object.entries(input.messages ?? {})) {
        if (v === null) delete r.messages[k as keyof Messages];
        else if (typeof v === 'string') r.messages[k as keyof Messages] = v;
      }
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
  async updateSection(id: string, section: string, change: (record: ExtensionRecord) => unknown): Promise<ExtensionRecord> {
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
   * callers). `undefined` for an unknown or malformed ID.
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
    const raw = await this.#store.get(keyFor(id));
    const value = raw === null ? undefined : this.#resolveRecord(JSON.parse(raw) as ExtensionRecord);
    // Bounded: unknown IDs must not grow the map without limit under a flood of random IDs.
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(id, { value, expiresAt: Date.now() + (value === undefined ? this.#negativeTtlMs : this.#cacheTtlMs) });
    return value;
  }

  #resolveRecord(record: ExtensionRecord): ResolvedExtension {
    const id = record.extensionId;
    const open = (sealed: string): string | undefined => {
      try {
        return this.#keyring.open(sealed, secretContext(id));
      } catch (err) {
        // Sealed under a key that is no longer configured: the Chatbot Secret is unusable until it
        // is rotated (SignatureCEK still works). Fail closed, loudly, without taking the extension down.
        this.#log.error({ extensionId: id, err: (err as Error).message }, 'the Chatbot Secret cannot be opened with the configured keys; rotate it');
        return undefined;
      }
    };
    const current = open(record.secret.sealed);
    const previous = livePreviousSecrets(record).map((p) => ({ secret: open(p.sealed), until: Date.parse(p.expiresAt) }));
    return {
      record,
      messages: resolveMessages(record.language, record.messages),
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
      const record = JSON.parse(raw) as ExtensionRecord;
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
  if (!NEW_EXTENSION_ID.test(id)) {
    throw new AppError(
      'invalid_extension_id',
      'Extension IDs are reverse-domain names: lowercase letters, digits and hyphens in at least two dot-separated labels, none starting or ending with a hyphen (e.g. "com.example.points"), at most 255 characters.',
    );
  }
}

function unknown(id: string): AppError {
  return isExtensionId(id)
    ? new AppError('unknown_extension', `No extension with ID "${id}".`)
    : new AppError('invalid_extension_id', 'Extension IDs are reverse-domain names such as "com.example.points".');
}
