import type { Logger } from '../http/logger.js';
import type { Metrics } from '../http/metrics.js';
import type { Store } from '../store/store.js';
import { keyOf } from '../store/keys.js';
import { NO_EVENTS, type LinkEventSink } from './events.js';

/** An extension whose provider refuses its client (`invalid_client`, `unauthorized_client`). */
export interface Misconfiguration {
  /** The classified refusal, e.g. `invalid_client (HTTP 401)`. */
  reason: string;
  /** ISO dates: first and latest refusal noted (the latter at most once a minute). */
  since: string;
  lastSeenAt: string;
  /** The settings version (`updatedAt`) that was refused: saving new settings makes it moot. */
  settingsVersion: string;
}

/** The API shape: `null`, or why the provider refuses the extension's client under the current settings. */
export function formatMisconfiguration(m: Misconfiguration | undefined): { reason: string; since: string; lastSeenAt: string } | null {
  return m === undefined ? null : { reason: m.reason, since: m.since, lastSeenAt: m.lastSeenAt };
}

const keyFor = (extensionId: string): string => keyOf('linkingHealth', extensionId);
/** A refusal repeats on every request of every user: note and log it at most this often per extension. */
const NOTE_EVERY_MS = 60_000;

/**
 * Whether an extension's account linking works, as far as its client settings go. Kept in the store
 * so every instance (and the admin API on any of them) sees it; the links themselves are never
 * touched: once the settings are fixed, the next refresh works and clears the mark.
 */
export class LinkingHealth {
  readonly #store: Store;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  readonly #events: LinkEventSink;
  readonly #noted = new Map<string, { at: number; version: string }>();

  constructor(o: { store: Store; log: Logger; metrics: Metrics; events?: LinkEventSink }) {
    this.#store = o.store;
    this.#log = o.log;
    this.#metrics = o.metrics;
    this.#events = o.events ?? NO_EVENTS;
  }

  async clientRejected(extensionId: string, settingsVersion: string, reason: string): Promise<void> {
    const now = Date.now();
    const last = this.#noted.get(extensionId);
    if (last !== undefined && last.version === settingsVersion && now - last.at < NOTE_EVERY_MS) return;
    this.#noted.set(extensionId, { at: now, version: settingsVersion });
    const previous = await this.read(extensionId, settingsVersion);
    const mark: Misconfiguration = { reason, since: previous?.since ?? new Date(now).toISOString(), lastSeenAt: new Date(now).toISOString(), settingsVersion };
    await this.#store.set(keyFor(extensionId), JSON.stringify(mark));
    this.#metrics.linkingMisconfigured.set(this.#noted.size);
    this.#log.warn(
      { extensionId, reason, since: mark.since },
      'account linking misconfigured: the provider refuses the client ID or secret; links are kept, voice answers speak the error message until the settings are fixed',
    );
    // Only a new mark is news (the same refusal again, on this or another instance, only dates it).
    if (previous === undefined) await this.#events.emit({ type: 'linking.misconfigured', extensionId, reason });
  }

  /**
   * A refresh worked, or the settings were saved: the mark goes. `reason` says which (for the
   * `linking.recovered` event); without one (the extension is being deleted) nothing is announced.
   */
  async healed(extensionId: string, reason?: string): Promise<void> {
    const wasNoted = this.#noted.delete(extensionId);
    const removed = await this.#store.delete(keyFor(extensionId));
    if (wasNoted) this.#metrics.linkingMisconfigured.set(this.#noted.size);
    if (!removed) return;
    this.#log.info({ extensionId }, 'account linking is no longer marked misconfigured');
    // The one instance whose delete removed the mark announces it.
    if (reason !== undefined) await this.#events.emit({ type: 'linking.recovered', extensionId, reason });
  }

  /** The current mark, if it was made under the settings version in use. */
  async read(extensionId: string, settingsVersion: string | undefined): Promise<Misconfiguration | undefined> {
    const raw = await this.#store.get(keyFor(extensionId));
    if (raw === null) return undefined;
    const mark = JSON.parse(raw) as Misconfiguration;
    return mark.settingsVersion === settingsVersion ? mark : undefined;
  }
}
