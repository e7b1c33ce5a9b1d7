import type { ExtensionRecord } from '../extensions/model.js';
import type { ExtensionRegistry } from '../extensions/registry.js';
import { describeError } from '../http/errorInfo.js';
import type { Logger } from '../http/logger.js';
import type { Metrics } from '../http/metrics.js';
import { SealError } from '../security/keyring.js';
import { keyOf } from '../store/keys.js';
import { Lease } from '../store/lease.js';
import type { Store } from '../store/store.js';
import { OPEN_MS, type BreakerState } from './circuitBreaker.js';
import type { TokenLookup } from './linkedTokens.js';
import { ProviderPacer } from './keepAlivePacer.js';
import { memberOf, parseMember, dueOf, type DueEntry, type KeepAliveSchedule } from './keepAliveSchedule.js';
import { REFRESH_TIMEOUT_MS } from './refresher.js';
import { breakerKeyOf, keepAliveIntervalMs, settingsOf, tokenOriginOf } from './settings.js';
import type { TokenVault } from './vault.js';

/** The lease lives this long unless renewed: a holder that died is replaced within it. */
export const LEASE_MS = 15_000;
/** The holder renews (and the others try to take over) this often. */
const RENEW_MS = LEASE_MS / 3;
/** Members read per page of the schedule, and at most this many due ones handled per pass. */
const PAGE = 200;
const MAX_PER_PASS = 2_000;
/** Refreshes in flight at once on the sweeping instance. */
const MAX_IN_FLIGHT = 32;
/** Entries moved to a slot of the provider rate that this instance remembers (so they go at once when met); beyond it they queue again. */
const MAX_RESERVED = 100_000;
/** The longest a failed or backed-off link waits before it is tried again. */
const MAX_RETRY_MS = 15 * 60_000;
/** Every instance's lease release wakes the others through this channel, so one takes over at once. */
const LEASE_CHANNEL = 'keepalive:lease';

export interface KeepAliveDeps {
  store: Store;
  log: Logger;
  metrics: Metrics;
  registry: ExtensionRegistry;
  vault: TokenVault;
  schedule: KeepAliveSchedule;
  /** The voice path's refresh (one single flight, one store lock, one breaker per provider). */
  refresh: (ext: ExtensionRecord, userId: string, stale: string, deadline: number) => Promise<TokenLookup>;
  circuitState: (provider: string) => BreakerState;
  /** Whether the provider refuses the extension's client under these settings (`health.ts`): keep-alive waits for a fix. */
  misconfigured: (extensionId: string, settingsVersion: string) => Promise<boolean>;
  ratePerSecond: number;
  hourMs: number;
}

type Result = 'ok' | 'broken' | 'failed' | 'backed_off' | 'deferred' | 'dropped';

/**
 * Keep-alive refresh (issue 16): links of extensions with `keepAliveHours` are refreshed at least
 * that often even when their users are idle, so an idle refresh token does not expire.
 *
 * One instance sweeps at a time: the holder of a store lease (another takes over within LEASE_MS
 * when it dies, at once when it stops). A pass reads the schedule from its start and stops at the
 * first entry not yet due. Each due entry is checked against its token record (the truth: gone,
 * broken, test, no refresh token, keep-alive off, or refreshed since → dropped) and then refreshed
 * through the voice path's refresher, at most `ratePerSecond` per provider (later entries are moved
 * to the provider's next free slot). While a provider's circuit breaker is open its entries are
 * moved later instead of calling it; half-open, the breaker's one probe is all that goes through.
 */
export class KeepAliveWorker {
  readonly #d: KeepAliveDeps;
  readonly #lease: Lease;
  readonly #pacer: ProviderPacer;
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #reserved = new Set<string>();
  /** Per pass: extensions whose provider refuses their client (read once a pass, not once a link). */
  #misconfigured = new Map<string, Promise<boolean>>();
  #timer: NodeJS.Timeout | undefined;
  #wakeAt = Infinity;
  #running: Promise<void> | undefined;
  #stopped = false;
  #leader = false;
  #unsubscribe: (() => Promise<void>) | undefined;

  constructor(d: KeepAliveDeps) {
    this.#d = d;
    this.#lease = new Lease(d.store, keyOf('keepAliveLease', 'sweep'), LEASE_MS);
    this.#pacer = new ProviderPacer(d.ratePerSecond);
    d.schedule.onAdded = (due) => {
      if (this.#leader) this.#wake(due - Date.now());
    };
  }

  async start(): Promise<void> {
    this.#unsubscribe = await this.#d.store.subscribe(LEASE_CHANNEL, () => {
      if (!this.#leader) this.#wake(0);
    });
    this.#wake(0);
  }

  /** Stops sweeping, waits for the refreshes in flight, and hands the lease on. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    await Promise.all(this.#inFlight.values());
    await this.#unsubscribe?.().catch(() => undefined);
    if (this.#leader) {
      this.#leader = false;
      this.#d.metrics.keepAliveLeader.set(0);
      this.#d.metrics.keepAliveBacklog.set(0);
      await this.#lease.release().catch(() => false);
      await this.#d.store.publish(LEASE_CHANNEL, '').catch(() => undefined);
    }
  }

  /** Runs the next tick within `ms` (sooner if one is already planned sooner). */
  #wake(ms: number): void {
    if (this.#stopped) return;
    const at = Date.now() + Math.max(0, ms);
    if (this.#running !== undefined) {
      // The tick in progress plans the next one; remember the earliest asked for.
      this.#wakeAt = Math.min(this.#wakeAt, at);
      return;
    }
    if (this.#timer !== undefined && at >= this.#wakeAt) return;
    clearTimeout(this.#timer);
    this.#wakeAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#wakeAt = Infinity;
        this.#running = this.#tick()
          .catch((err: unknown) => {
            // The store is down, most likely: the schedule is still there; look again later.
            this.#d.log.warn({ err: describeError(err) }, 'keep-alive sweep failed');
            return RENEW_MS;
          })
          .then((delay) => {
            this.#running = undefined;
            const asked = this.#wakeAt - Date.now();
            this.#wakeAt = Infinity;
            this.#wake(Math.min(delay, asked));
          });
      },
      Math.max(0, ms),
    );
    this.#timer.unref();
  }

  /** Holds (or tries to take) the lease, sweeps when held; returns when to look next (at least once per renewal period). */
  async #tick(): Promise<number> {
    const leader = await this.#lease.hold();
    if (leader !== this.#leader) {
      this.#leader = leader;
      this.#d.metrics.keepAliveLeader.set(leader ? 1 : 0);
      if (!leader) {
        this.#reserved.clear();
        this.#d.metrics.keepAliveBacklog.set(0);
      }
      this.#d.log.info({}, leader ? 'keep-alive: this instance sweeps the schedule' : 'keep-alive: another instance sweeps the schedule');
    }
    if (!leader) return RENEW_MS;
    return Math.min(RENEW_MS, await this.#pass());
  }

  async #pass(): Promise<number> {
    const now = Date.now();
    this.#pacer.prune(now);
    this.#misconfigured = new Map();
    let after: string | undefined;
    let due = 0;
    let handled = 0;
    const done = (next: number): number => {
      this.#d.metrics.keepAliveBacklog.set(due + this.#reserved.size);
      return next;
    };
    for (;;) {
      const page = await this.#d.schedule.page(after, PAGE);
      for (const member of page.members) {
        if (this.#stopped) return done(RENEW_MS);
        const e = parseMember(member);
        if (e === undefined) {
          await this.#d.schedule.remove(member);
          continue;
        }
        if (e.due > now) return done(e.due - Date.now());
        due++;
        if (this.#inFlight.has(member)) continue;
        if (this.#inFlight.size >= MAX_IN_FLIGHT || handled >= MAX_PER_PASS) return done(50);
        handled++;
        await this.#meet(member, e, now);
      }
      if (page.next === undefined) return done(RENEW_MS);
      after = page.next;
    }
  }

  /** Decides what a due entry needs: drop, move (rate, breaker) or a refresh now. */
  async #meet(member: string, e: DueEntry, now: number): Promise<void> {
    const ext = await this.#d.registry.resolve(e.extensionId);
    const settings = ext === undefined ? undefined : settingsOf(ext.record);
    const interval = keepAliveIntervalMs(settings, this.#d.hourMs);
    if (ext === undefined || settings === undefined || interval === undefined) return this.#drop(member);
    // A record sealed under a key no longer configured is broken for good; a store that fails fails the pass (tried again later).
    const current = await this.#d.vault.read(e.extensionId, e.userId).catch((err: unknown) => {
      if (err instanceof SealError) return undefined;
      throw err;
    });
    const expected = current === undefined || current.tokens.refreshToken === undefined ? undefined : dueOf(current.record, interval, e.extensionId, e.userId);
    if (current === undefined || expected === undefined) return this.#drop(member);
    if (expected > now) {
      // Refreshed since this entry was written (or the period grew): the record's own entry stands for it.
      await this.#d.schedule.add(memberOf(expected, e.extensionId, e.userId));
      return this.#drop(member);
    }
    const provider = breakerKeyOf(ext.record, settings);
    if (this.#d.circuitState(provider) === 'open' || (await this.#isMisconfigured(e.extensionId, settings.updatedAt))) {
      // The provider is down, or refuses the client (a wrong secret): calling it again helps nobody.
      await this.#later(member, e, now + this.#backoff(interval), 'backed_off');
      return;
    }
    if (!this.#reserved.delete(member)) {
      const slot = this.#pacer.take(tokenOriginOf(ext.record, settings), now);
      if (slot > now) {
        const moved = await this.#later(member, e, slot, 'deferred');
        if (this.#reserved.size < MAX_RESERVED) this.#reserved.add(moved);
        return;
      }
    }
    const run = this.#refresh(member, e, ext.record, current.tokens.accessToken, provider, interval).finally(() => this.#inFlight.delete(member));
    this.#inFlight.set(member, run);
  }

  async #refresh(member: string, e: DueEntry, ext: ExtensionRecord, stale: string, provider: string, interval: number): Promise<void> {
    let result: TokenLookup;
    try {
      result = await this.#d.refresh(ext, e.userId, stale, Date.now() + REFRESH_TIMEOUT_MS);
    } catch (err) {
      this.#d.log.warn({ extensionId: e.extensionId, err: describeError(err) }, 'keep-alive refresh failed');
      result = { status: 'unavailable' };
    }
    try {
      switch (result.status) {
        case 'ok':
          // The vault's watcher has scheduled the next one from the new refresh date.
          this.#count('ok');
          await this.#d.schedule.remove(member);
          return;
        case 'broken':
          this.#count('broken');
          await this.#d.schedule.remove(member);
          return;
        case 'unlinked':
          await this.#drop(member);
          return;
        case 'unavailable': {
          const now = Date.now();
          // The breaker is not closed: wait for it to close instead of adding to the probes.
          if (this.#d.circuitState(provider) !== 'closed') await this.#later(member, e, now + this.#backoff(interval), 'backed_off');
          else await this.#later(member, e, now + this.#retry(interval), 'failed');
        }
      }
    } catch (err) {
      this.#d.log.warn({ extensionId: e.extensionId, err: describeError(err) }, 'keep-alive schedule not updated after a refresh');
    }
  }

  #isMisconfigured(extensionId: string, settingsVersion: string): Promise<boolean> {
    let known = this.#misconfigured.get(extensionId);
    if (known === undefined) {
      known = this.#d.misconfigured(extensionId, settingsVersion);
      this.#misconfigured.set(extensionId, known);
    }
    return known;
  }

  async #drop(member: string): Promise<void> {
    this.#count('dropped');
    this.#reserved.delete(member);
    await this.#d.schedule.remove(member);
  }

  async #later(member: string, e: DueEntry, due: number, result: Result): Promise<string> {
    this.#count(result);
    this.#reserved.delete(member);
    return this.#d.schedule.move(member, e, due);
  }

  /** After a failed refresh: a tenth of the period (so several tries fit before the refresh token idles out), 1 s to 15 min, jittered. */
  #retry(interval: number): number {
    return jittered(Math.min(MAX_RETRY_MS, Math.max(1_000, interval / 10)));
  }

  /** While the provider's breaker is open: at least its open time, else as a retry. */
  #backoff(interval: number): number {
    return jittered(Math.min(MAX_RETRY_MS, Math.max(OPEN_MS, interval / 10)));
  }

  #count(result: Result): void {
    this.#d.metrics.keepAliveRefreshes.inc({ result });
  }
}

/** ±20 %: links that failed together do not come back together. */
function jittered(ms: number): number {
  return Math.round(ms * (0.8 + Math.random() * 0.4));
}
