import { createHash } from 'node:crypto';
import type { ExtensionRegistry } from '../extensions/registry.js';
import { describeError } from '../http/errorInfo.js';
import type { Logger } from '../http/logger.js';
import { keyOf } from '../store/keys.js';
import type { Store } from '../store/store.js';
import { keepAliveIntervalMs, settingsOf } from './settings.js';
import type { TokenRecord, TokenVault, VaultWatcher } from './vault.js';

/** The ordered set of keep-alive entries (one set: the sweep reads it from the start, in due order). */
export const KEEPALIVE_SET = keyOf('keepAliveDue', 'all');
/**
 * Present once the schedule holds an entry for every kept-alive link. Backups hold no sets:
 * `cek-gateway restore` deletes this mark, and the next start builds the schedule from the links.
 */
export const KEEPALIVE_SCHEDULE_BUILT = keyOf('dataMigration', 'keepalive-schedule', 1);
/** Due times are written with 13 digits (epoch ms until the year 2286), so byte order is time order. */
const DUE_DIGITS = 13;
/** A link is refreshed up to this share of its period early, so links made together are not refreshed together. */
export const JITTER = 0.1;
const PAGE = 500;

export interface DueEntry {
  due: number;
  extensionId: string;
  userId: string;
}

/** `<13-digit due epoch ms>:<extensionId>:<userId>` (extension ids have no `:`; user ids may). */
export function memberOf(due: number, extensionId: string, userId: string): string {
  return `${String(Math.max(0, Math.round(due))).padStart(DUE_DIGITS, '0')}:${extensionId}:${userId}`;
}

export function parseMember(member: string): DueEntry | undefined {
  const m = /^(\d{13}):([^:]+):(.*)$/s.exec(member);
  return m === null ? undefined : { due: Number(m[1]), extensionId: m[2] as string, userId: m[3] as string };
}

/**
 * When a record's link is due for a keep-alive refresh: its last refresh (or link) plus the period,
 * less a jitter of up to JITTER of the period. The jitter is a hash of the link and that date, so it
 * is the same whenever it is computed (an entry can be found again from the record alone) and
 * differs from link to link. Undefined for a record that is not kept alive (broken, test).
 */
export function dueOf(record: TokenRecord, intervalMs: number, extensionId: string, userId: string): number | undefined {
  if (record.status !== 'linked' || record.test === true) return undefined;
  const base = Date.parse(record.refreshedAt ?? record.linkedAt);
  if (!Number.isFinite(base)) return undefined;
  const hash = createHash('sha256').update(`${extensionId}\u0000${userId}\u0000${base}`).digest();
  return base + intervalMs - Math.floor(intervalMs * JITTER * (hash.readUInt32BE(0) / 2 ** 32));
}

/**
 * The keep-alive schedule (issue 16): an ordered set of `<due>:<extensionId>:<userId>` members in
 * the store, so the sweep reads only what is due, in O(page), however many links there are. It is
 * a hint kept in step with the token records (it watches the vault: a link made or refreshed gets
 * its next entry, a broken or removed one loses it); the record is the truth, and the sweep drops
 * an entry whose link no longer needs it when it meets it.
 */
export class KeepAliveSchedule implements VaultWatcher {
  readonly #store: Store;
  readonly #registry: ExtensionRegistry;
  readonly #log: Logger;
  readonly #hourMs: number;
  /** Hears the due time of each entry added here (the local sweep wakes for it). */
  onAdded: (due: number) => void = () => undefined;

  constructor(o: { store: Store; registry: ExtensionRegistry; log: Logger; hourMs: number }) {
    this.#store = o.store;
    this.#registry = o.registry;
    this.#log = o.log;
    this.#hourMs = o.hourMs;
  }

  /** The extension's keep-alive period in ms; undefined when it is off (or the extension is gone). */
  async intervalOf(extensionId: string): Promise<number | undefined> {
    const ext = await this.#registry.resolve(extensionId);
    return ext === undefined ? undefined : keepAliveIntervalMs(settingsOf(ext.record), this.#hourMs);
  }

  async written(extensionId: string, userId: string, before: TokenRecord | undefined, after: TokenRecord | undefined, refreshable?: boolean): Promise<void> {
    try {
      const interval = await this.intervalOf(extensionId);
      if (interval === undefined) return;
      const old = before === undefined ? undefined : dueOf(before, interval, extensionId, userId);
      const next = after === undefined || refreshable === false ? undefined : dueOf(after, interval, extensionId, userId);
      if (old === next) return;
      // The new entry first: a failure in between leaves a stale entry (dropped when met), never a link without one.
      if (next !== undefined) await this.add(memberOf(next, extensionId, userId));
      if (old !== undefined) await this.#store.setRemove(KEEPALIVE_SET, memberOf(old, extensionId, userId));
    } catch (err) {
      this.#log.warn({ extensionId, err: describeError(err) }, 'keep-alive schedule not updated (the sweep repairs it when it meets the link)');
    }
  }

  async add(member: string): Promise<void> {
    await this.#store.setAdd(KEEPALIVE_SET, member);
    const e = parseMember(member);
    if (e !== undefined) this.onAdded(e.due);
  }

  remove(member: string): Promise<boolean> {
    return this.#store.setRemove(KEEPALIVE_SET, member);
  }

  /** Moves an entry to another due time (back-off, provider rate); returns the new member. */
  async move(member: string, e: DueEntry, due: number): Promise<string> {
    const moved = memberOf(due, e.extensionId, e.userId);
    await this.add(moved);
    await this.remove(member);
    return moved;
  }

  page(after: string | undefined, limit: number): Promise<{ members: string[]; next: string | undefined }> {
    return this.#store.setPage(KEEPALIVE_SET, { after, limit });
  }

  /**
   * An extension's keep-alive period changed (or it was turned on or off): every link's entry is
   * moved from the old period's due time to the new one's. Runs through the links page by page
   * (it is started in the background by a settings save). Records it cannot read are left to the
   * sweep.
   */
  async rescheduleExtension(vault: TokenVault, extensionId: string, oldMs: number | undefined, newMs: number | undefined): Promise<number> {
    let after: string | undefined;
    let n = 0;
    do {
      const page = await vault.listPage(extensionId, { after, limit: PAGE });
      await Promise.all(
        page.links.map(async ({ userId, record }) => {
          const next = newMs === undefined ? undefined : dueOf(record, newMs, extensionId, userId);
          const old = oldMs === undefined ? undefined : dueOf(record, oldMs, extensionId, userId);
          if (next === old) return;
          if (next !== undefined) await this.add(memberOf(next, extensionId, userId));
          if (old !== undefined) await this.remove(memberOf(old, extensionId, userId));
          n++;
        }),
      );
      after = page.next;
    } while (after !== undefined);
    return n;
  }

  /**
   * Gives every link of the extensions that keep links alive its entry, unless the mark says the
   * schedule is complete (a restored store: backups hold no sets). Idempotent; needs the link index.
   */
  async ensureBuilt(vault: TokenVault, stopped: () => boolean): Promise<{ built: boolean; links: number }> {
    if ((await this.#store.get(KEEPALIVE_SCHEDULE_BUILT)) !== null) return { built: false, links: 0 };
    let links = 0;
    for (const ext of await this.#registry.list()) {
      if (stopped()) return { built: false, links };
      const ms = keepAliveIntervalMs(settingsOf(ext), this.#hourMs);
      if (ms !== undefined) links += await this.rescheduleExtension(vault, ext.extensionId, undefined, ms);
    }
    await this.#store.set(KEEPALIVE_SCHEDULE_BUILT, '1');
    return { built: true, links };
  }

  /** A deleted extension's entries go (its settings, and so its period, are gone: found by reading the whole set). */
  async dropExtension(extensionId: string): Promise<void> {
    let after: string | undefined;
    do {
      const page = await this.page(after, PAGE);
      await Promise.all(page.members.filter((m) => parseMember(m)?.extensionId === extensionId).map((m) => this.remove(m)));
      after = page.next;
    } while (after !== undefined);
  }
}
