import { describeError } from '../http/errorInfo.js';
import type { Logger } from '../http/logger.js';
import { decodeRecord } from '../store/json.js';
import { keyOf, prefixOf } from '../store/keys.js';
import type { Store } from '../store/store.js';
import type { LinkEvent, LinkEventSink, LinkEventType } from './events.js';

/**
 * Link states and linking states with their history (issue 16 item 2). Every lifecycle event of
 * account linking passes through here on its way to the webhooks: this is the one writer of the
 * history, so what the admin sees and what the webhooks say come from the same events.
 *
 * - a link (extension, user): `linked`, `broken` (with its reason) or `unlinked`; kept after unlink
 *   (for UNLINKED_TTL_MS) so the admin can still see who left and why;
 * - an extension's linking: `ok`, `misconfigured` (the provider refuses its client) or
 *   `provider_down` (the circuit breaker of its token endpoint is open).
 *
 * Each keeps its last HISTORY_LIMIT changes `{at, state, event, cause}`; a cause is a classified
 * reason in words, never a token. Writes are compare-and-set, so instances writing at once all land.
 */
export const HISTORY_LIMIT = 50;
export const UNLINKED_TTL_MS = 90 * 86_400_000;
const MAX_WRITE_TRIES = 50;

export type LinkState = 'linked' | 'broken' | 'unlinked';
export type LinkingState = 'ok' | 'misconfigured' | 'provider_down';

export interface HistoryEntry<S extends string> {
  /** ISO 8601. */
  at: string;
  /** The state after the change. */
  state: S;
  /** The lifecycle event that made it (its webhook type). */
  event: LinkEventType;
  /** Why, in words (never a token). */
  cause: string;
}

/** What `link:history:<extensionId>:<userId>` holds. */
export interface LinkStateRecord {
  v: 1;
  state: LinkState;
  /** Why a broken link broke, or who unlinked. */
  reason: string | null;
  /** ISO 8601: when the current state began. */
  since: string;
  /** Oldest first, at most HISTORY_LIMIT. */
  history: Array<HistoryEntry<LinkState>>;
}

/** What `linking:state:<extensionId>` holds: the two conditions, and the state they make. */
export interface LinkingStateRecord {
  v: 1;
  misconfigured: { reason: string; since: string } | null;
  providerDown: { reason: string; since: string } | null;
  history: Array<HistoryEntry<LinkingState>>;
}

/** A misconfigured client is the operator's to fix, so it shows over a provider outage. */
export function linkingStateOf(r: LinkingStateRecord | undefined): LinkingState {
  if (r?.misconfigured != null) return 'misconfigured';
  if (r?.providerDown != null) return 'provider_down';
  return 'ok';
}

/** The API shape of a link's state: history newest first. */
export function formatLinkState(r: LinkStateRecord): { state: LinkState; reason: string | null; since: string; history: Array<HistoryEntry<LinkState>> } {
  return { state: r.state, reason: r.reason, since: r.since, history: [...r.history].reverse() };
}

/** The API shape of an extension's linking state (`GET …/linking/state`): history newest first. */
export function formatLinkingState(extensionId: string, r: LinkingStateRecord | undefined) {
  const state = linkingStateOf(r);
  const current = state === 'misconfigured' ? r?.misconfigured : state === 'provider_down' ? r?.providerDown : undefined;
  const last = r?.history.at(-1);
  return {
    extensionId,
    state,
    reason: current?.reason ?? null,
    since: current?.since ?? last?.at ?? null,
    misconfigured: r?.misconfigured ?? null,
    providerDown: r?.providerDown ?? null,
    history: [...(r?.history ?? [])].reverse(),
  };
}

const linkKey = (extensionId: string, userId: string): string => keyOf('linkHistory', extensionId, userId);
const linkingKey = (extensionId: string): string => keyOf('linkingState', extensionId);
/** The extension's unlinked users, newest first: an ordered set, so the users page reads a page of it, not every history. */
const unlinkedKey = (extensionId: string): string => keyOf('unlinkedIndex', extensionId);
const NEVER = 9_999_999_999_999;
/** `<13 digits counting down from the unlink time>:<userId>`: byte order is newest first. */
const unlinkedMember = (since: string, userId: string): string => `${String(NEVER - Date.parse(since)).padStart(13, '0')}:${userId}`;
/** Set members read at most per `unlinked` call: entries of users who linked again are dropped as met. */
const UNLINKED_SCAN_LIMIT = 1_000;

function pushHistory<S extends string>(history: Array<HistoryEntry<S>>, entry: HistoryEntry<S>): Array<HistoryEntry<S>> {
  const next = [...history, entry];
  return next.length > HISTORY_LIMIT ? next.slice(next.length - HISTORY_LIMIT) : next;
}

/** The event sink linking reports to: records the state change, then hands the event on (webhooks). */
export class LinkStates implements LinkEventSink {
  readonly #store: Store;
  readonly #next: LinkEventSink;
  readonly #log: Logger;

  constructor(o: { store: Store; next: LinkEventSink; log: Logger }) {
    this.#store = o.store;
    this.#next = o.next;
    this.#log = o.log;
  }

  async emit(event: LinkEvent): Promise<void> {
    let pass = true;
    try {
      if (event.type.startsWith('link.')) await this.#recordLink(event);
      else pass = await this.#recordLinking(event);
    } catch (err) {
      // Like the webhooks: the step it reports has happened; a lost history line must not undo it.
      this.#log.error({ extensionId: event.extensionId, type: event.type, err: describeError(err) }, 'a link state change could not be recorded');
    }
    if (pass) await this.#next.emit(event);
  }

  /** A link's state and history; undefined for a user who never linked (or whose unlinked history expired). */
  async link(extensionId: string, userId: string): Promise<LinkStateRecord | undefined> {
    const raw = await this.#store.get(linkKey(extensionId, userId));
    return raw === null ? undefined : decodeRecord<LinkStateRecord>(raw);
  }

  /** Several users' states in one round trip (a page of the users list). */
  async links(extensionId: string, userIds: readonly string[]): Promise<Map<string, LinkStateRecord>> {
    const out = new Map<string, LinkStateRecord>();
    if (userIds.length === 0) return out;
    const raws = await this.#store.getMany(userIds.map((u) => linkKey(extensionId, u)));
    raws.forEach((raw, i) => {
      if (raw !== null) out.set(userIds[i] as string, decodeRecord<LinkStateRecord>(raw));
    });
    return out;
  }

  /**
   * Users of the extension whose last change was an unlink, newest first, at most `limit` (from 1 to
   * 1,000). Reads pages of the unlinked set and those users' records; an entry whose user linked
   * again, or whose history expired, is dropped when met.
   */
  async unlinked(extensionId: string, limit: number): Promise<Array<{ userId: string; record: LinkStateRecord }>> {
    const out: Array<{ userId: string; record: LinkStateRecord }> = [];
    let after: string | undefined;
    let read = 0;
    do {
      const page = await this.#store.setPage(unlinkedKey(extensionId), { after, limit: Math.min(1_000, limit + 10) });
      read += page.members.length;
      const entries = page.members.map((member) => ({ member, userId: member.slice(member.indexOf(':') + 1) }));
      const raws = await this.#store.getMany(entries.map((e) => linkKey(extensionId, e.userId)));
      for (const [i, e] of entries.entries()) {
        const raw = raws[i];
        const record = raw === null || raw === undefined ? undefined : decodeRecord<LinkStateRecord>(raw);
        if (record?.state === 'unlinked' && unlinkedMember(record.since, e.userId) === e.member) {
          if (out.length < limit) out.push({ userId: e.userId, record });
        } else {
          await this.#store.setRemove(unlinkedKey(extensionId), e.member);
        }
      }
      after = page.next;
    } while (after !== undefined && out.length < limit && read < UNLINKED_SCAN_LIMIT);
    return out;
  }

  async linking(extensionId: string): Promise<LinkingStateRecord | undefined> {
    const raw = await this.#store.get(linkingKey(extensionId));
    return raw === null ? undefined : decodeRecord<LinkingStateRecord>(raw);
  }

  /** A deleted extension's states go with it. */
  async extensionDeleted(extensionId: string): Promise<void> {
    for await (const keys of this.#store.scanKeys(prefixOf('linkHistory', extensionId))) {
      for (const key of keys) await this.#store.delete(key);
    }
    await this.#store.setClear(unlinkedKey(extensionId));
    await this.#store.delete(linkingKey(extensionId));
  }

  async #recordLink(event: LinkEvent): Promise<void> {
    if (event.userId === undefined) return;
    const at = new Date().toISOString();
    const state: LinkState = event.type === 'link.broken' ? 'broken' : event.type === 'link.unlinked' ? 'unlinked' : 'linked';
    const cause = event.type === 'link.created' ? 'linked' : event.type === 'link.unlinked' ? `unlinked by ${event.reason ?? 'admin'}` : (event.reason ?? state);
    const reason = state === 'linked' ? null : (event.reason ?? null);
    let before: LinkStateRecord | undefined;
    let after: LinkStateRecord | undefined;
    // Only an unlinked user's record has a TTL (UNLINKED_TTL_MS).
    await this.#update<LinkStateRecord>(
      linkKey(event.extensionId, event.userId),
      (stored) => stored.state === 'unlinked',
      (prev) => {
        before = prev;
        after = {
          v: 1,
          state,
          reason,
          since: prev?.state === state ? prev.since : at,
          history: pushHistory(prev?.history ?? [], { at, state, event: event.type, cause }),
        };
        // An unlinked user's history is kept a while, then goes; a live link's stays.
        return { record: after, ttlMs: state === 'unlinked' ? UNLINKED_TTL_MS : undefined };
      },
    );
    // The unlinked set follows the record (a stale entry is dropped when read, so a crash here is harmless).
    const { userId, extensionId } = event;
    if (before?.state === 'unlinked' && (after?.state !== 'unlinked' || after.since !== before.since)) {
      await this.#store.setRemove(unlinkedKey(extensionId), unlinkedMember(before.since, userId));
    }
    if (after?.state === 'unlinked') await this.#store.setAdd(unlinkedKey(extensionId), unlinkedMember(after.since, userId));
  }

  /** True when the event changed the extension's state (and so is news for the webhooks). */
  async #recordLinking(event: LinkEvent): Promise<boolean> {
    const at = new Date().toISOString();
    const reason = event.reason ?? '';
    let changed = false;
    await this.#update<LinkingStateRecord>(
      linkingKey(event.extensionId),
      () => false,
      (prev) => {
        // Decided again on each try: a write that lost the race re-reads what the winner wrote.
        changed = false;
        const next: LinkingStateRecord = { v: 1, misconfigured: prev?.misconfigured ?? null, providerDown: prev?.providerDown ?? null, history: prev?.history ?? [] };
        switch (event.type) {
          case 'linking.misconfigured':
            next.misconfigured = { reason, since: prev?.misconfigured?.since ?? at };
            break;
          case 'linking.recovered':
            next.misconfigured = null;
            break;
          case 'provider.down':
            if (prev?.providerDown != null) return undefined;
            next.providerDown = { reason, since: at };
            break;
          case 'provider.up':
            if (prev?.providerDown == null) return undefined;
            next.providerDown = null;
            break;
          default:
            return undefined;
        }
        changed = true;
        const cause =
          event.type === 'provider.down'
            ? `token endpoint down: ${reason}`
            : event.type === 'provider.up'
              ? `token endpoint back: ${reason}`
              : event.type === 'linking.misconfigured'
                ? `client refused: ${reason}`
                : reason;
        next.history = pushHistory(next.history, { at, state: linkingStateOf(next), event: event.type, cause });
        return { record: next, ttlMs: undefined };
      },
    );
    // The misconfigured mark has its own once-only guard (health.ts): its events always go on.
    return changed || event.type.startsWith('linking.');
  }

  /**
   * Read, change, write by compare-and-set until it lands. `change` returns undefined for "no
   * change". A change of lifetime (a TTL set on unlink, cleared on a new link) is written as
   * delete-if-unchanged then set-if-absent, since compare-and-set keeps the key's TTL. `hasTtl`
   * says whether a stored record was written with one (it follows from the record: no TTL read).
   */
  async #update<R>(key: string, hasTtl: (stored: R) => boolean, change: (prev: R | undefined) => { record: R; ttlMs: number | undefined } | undefined): Promise<void> {
    for (let i = 0; i < MAX_WRITE_TRIES; i++) {
      // After a lost race, a short random pause, so writers colliding again and again spread out.
      if (i > 0) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * i)));
      const raw = await this.#store.get(key);
      const prev = raw === null ? undefined : decodeRecord<R>(raw);
      const next = change(prev);
      if (next === undefined) return;
      const value = JSON.stringify(next.record);
      if (raw === null) {
        if (await this.#store.setIfAbsent(key, value, next.ttlMs)) return;
        continue;
      }
      const hadTtl = prev !== undefined && hasTtl(prev);
      if (hadTtl === (next.ttlMs !== undefined)) {
        if (await this.#store.compareAndSet(key, raw, value)) return;
        continue;
      }
      if ((await this.#store.deleteIfEquals(key, raw)) && (await this.#store.setIfAbsent(key, value, next.ttlMs))) return;
    }
    throw new Error(`${key.split(':').slice(0, 2).join(':')}: gave up after ${MAX_WRITE_TRIES} concurrent changes`);
  }
}
