import * as oidc from 'openid-client';
import type { Logger } from '../http/logger.js';
import type { Metrics } from '../http/metrics.js';
import { randomToken } from '../security/random.js';
import type { Store } from '../store/store.js';
import type { TokenLookup } from './linkedTokens.js';
import type { LinkEventSink } from './events.js';
import type { LinkingHealth } from './health.js';
import { withProviderDeadline } from './oauthClient.js';
import { CircuitBreakers, FAILURES_TO_OPEN, type BreakerState } from './circuitBreaker.js';
import { classifyProviderFailure } from './providerFailure.js';
import type { TokenVault, OpenedRecord } from './vault.js';
import { keyOf } from '../store/keys.js';
import { describeError } from '../http/errorInfo.js';

/** The longest one refresh may take (discovery and the token call together); it is cut shorter when the request has less time left. */
export const REFRESH_TIMEOUT_MS = 5_000;
/** A lock outlives its refresh's cut-off by this much (time to write the result), then anyone may take over. */
export const LOCK_GRACE_MS = 500;
const WAIT_STEP_MS = 40;
/** A failed attempt leaves this mark on its lock for so long: waiters and newcomers learn of it instead of calling the provider again. */
const FAILED_MARK_MS = 2_000;
const FAILED_PREFIX = 'failed ';

export interface RefreshTarget {
  extensionId: string;
  userId: string;
  /** The provider's configuration (built lazily: only the worker that refreshes needs it). */
  config: () => Promise<oidc.Configuration>;
  /** The version of the settings the configuration is built from (a failure under other settings does not count). */
  settingsVersion: string;
  /** The access token that prompted the refresh; a record with another usable token means someone else already refreshed. */
  stale: string;
  /** Epoch ms by which the caller needs the result: waiting for a lock and the provider call are cut to it. */
  deadline: number;
  /** Who is called (the issuer, else the token URL): the key of its circuit breaker. */
  provider: string;
}

const STATE_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/** A provider as a metric label: its URL without query or fragment (they may carry anything), at most 200 characters. */
function providerLabel(provider: string): string {
  if (!URL.canParse(provider)) return provider.slice(0, 200);
  const u = new URL(provider);
  return `${u.origin}${u.pathname}`.slice(0, 200);
}

/**
 * Refreshes a linked token by exactly one worker across processes: an in-process single flight,
 * then a store lock whose life is bounded by the refresh's own cut-off (a crashed owner holds it
 * for at most REFRESH_TIMEOUT_MS + LOCK_GRACE_MS), a re-read after acquiring it (another instance
 * may have refreshed while we waited), and release by compare-and-delete so a lock that expired and
 * was taken by someone else is never released by us. A failed attempt leaves a short mark instead,
 * so the requests that waited for it answer at once rather than start a second slow attempt.
 *
 * Only `invalid_grant` breaks a link. A refused client (wrong secret) is the operator's mistake:
 * the extension is marked misconfigured and every link is kept; 5xx and network errors break nothing.
 */
export class Refresher {
  readonly #store: Store;
  readonly #vault: TokenVault;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  readonly #health: LinkingHealth;
  readonly #events: LinkEventSink;
  readonly #skewMs: number;
  readonly #inFlight = new Map<string, Promise<TokenLookup>>();
  readonly #breakers: CircuitBreakers;
  /** Extensions this instance reported `provider.down` for (so a refusal by the open breaker reports it once, not per request). */
  readonly #downHere = new Set<string>();

  constructor(o: { store: Store; vault: TokenVault; log: Logger; metrics: Metrics; health: LinkingHealth; events: LinkEventSink; skewSeconds: number }) {
    this.#breakers = new CircuitBreakers(
      (open) => o.metrics.providerCircuitsOpen.set(open),
      (provider, to) => {
        const label = providerLabel(provider);
        o.metrics.providerCircuitState.set({ provider: label }, STATE_VALUE[to]);
        o.metrics.providerCircuitTransitions.inc({ provider: label, to });
      },
    );
    this.#store = o.store;
    this.#vault = o.vault;
    this.#log = o.log;
    this.#metrics = o.metrics;
    this.#health = o.health;
    this.#events = o.events;
    this.#skewMs = o.skewSeconds * 1000;
  }

  /**
   * True when the record's access token can be used now without refreshing. The skew is capped at
   * half the token's lifetime, so tokens that live shorter than the skew are refreshed at most once
   * per half-life, not on every request.
   */
  usable(r: OpenedRecord): boolean {
    const { status, expiresAt, refreshedAt, linkedAt } = r.record;
    if (status !== 'linked') return false;
    if (expiresAt === null) return true;
    const issuedAt = Date.parse(refreshedAt ?? linkedAt);
    const skew = Number.isFinite(issuedAt) ? Math.min(this.#skewMs, Math.max(0, (expiresAt - issuedAt) / 2)) : this.#skewMs;
    return expiresAt - skew > Date.now();
  }

  /** The state of `provider`'s circuit breaker on this instance (keep-alive backs off while it is not closed). */
  circuitState(provider: string): BreakerState {
    return this.#breakers.stateOf(provider);
  }

  refresh(t: RefreshTarget): Promise<TokenLookup> {
    const key = `${t.extensionId}\u0000${t.userId}`;
    let p = this.#inFlight.get(key);
    if (p === undefined) {
      p = this.#refreshOnce(t).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, p);
    }
    return p;
  }

  #fresh(r: OpenedRecord | undefined, stale: string): TokenLookup | undefined {
    if (r === undefined) return { status: 'unlinked' };
    if (r.record.status === 'broken') return { status: 'broken' };
    if (r.tokens.accessToken !== stale && this.usable(r)) return { status: 'ok', token: r.tokens.accessToken };
    return undefined;
  }

  async #refreshOnce(t: RefreshTarget): Promise<TokenLookup> {
    const lockKey = keyOf('refreshLock', t.extensionId, t.userId);
    const owner = randomToken(12);
    // The attempt ends at its full timeout, or sooner when this request's deadline comes first.
    const cutoffFrom = (now: number): number => Math.min(now + REFRESH_TIMEOUT_MS, t.deadline);
    let cutoff = cutoffFrom(Date.now());
    if (cutoff <= Date.now()) return { status: 'unavailable' };
    // The provider is known to be down: answer at once instead of waiting for it (circuitBreaker.ts).
    if (this.#breakers.stateOf(t.provider) === 'open') {
      this.#metrics.tokenRefreshes.inc({ outcome: 'circuit_open' });
      // Another extension with the same provider may have opened it: this one is down too.
      if (!this.#downHere.has(t.extensionId)) await this.#providerDown(t, 'its provider’s circuit breaker is open');
      return { status: 'unavailable' };
    }
    while (!(await this.#store.setIfAbsent(lockKey, owner, Math.max(1, cutoff - Date.now()) + LOCK_GRACE_MS))) {
      const held = await this.#store.get(lockKey);
      if (held !== null && held.startsWith(FAILED_PREFIX)) {
        if (held === FAILED_PREFIX + t.settingsVersion) {
          // The attempt we would wait for (or one a moment ago) failed: answer now, do not call the provider again.
          this.#metrics.tokenRefreshes.inc({ outcome: 'failed_recently' });
          return this.#fresh(await this.#vault.read(t.extensionId, t.userId), t.stale) ?? { status: 'unavailable' };
        }
        // Failed under settings that have changed since: try with the new ones.
        await this.#store.deleteIfEquals(lockKey, held);
        continue;
      }
      // Another instance is refreshing: wait for its result instead of calling the provider too.
      if (Date.now() + WAIT_STEP_MS >= t.deadline) {
        this.#metrics.tokenRefreshes.inc({ outcome: 'lock_timeout' });
        return { status: 'unavailable' };
      }
      await new Promise((r) => setTimeout(r, WAIT_STEP_MS));
      const done = this.#fresh(await this.#vault.read(t.extensionId, t.userId), t.stale);
      if (done !== undefined) return done;
      cutoff = cutoffFrom(Date.now());
    }
    // Cut short by this request's own deadline: running out of time then says nothing about the provider.
    const cutShort = cutoff === t.deadline;
    let failed = false;
    try {
      const current = await this.#vault.read(t.extensionId, t.userId);
      const done = this.#fresh(current, t.stale);
      if (done !== undefined || current === undefined) return done ?? { status: 'unlinked' };
      const refreshToken = current.tokens.refreshToken;
      if (refreshToken === undefined) {
        await this.#markBroken(t, 'the provider gave no refresh token and the access token expired');
        return { status: 'broken' };
      }
      if (!this.#breakers.allow(t.provider)) {
        // Half-open, and another refresh is the probe.
        this.#metrics.tokenRefreshes.inc({ outcome: 'circuit_open' });
        return { status: 'unavailable' };
      }
      let response;
      try {
        response = await withProviderDeadline(cutoff, async () => oidc.refreshTokenGrant(await t.config(), refreshToken));
      } catch (err) {
        const { result, timedOut, providerFailed, reason } = await this.#failed(t, err);
        if (!providerFailed) this.#breakers.succeeded(t.provider);
        else if (timedOut && cutShort) this.#breakers.released(t.provider);
        else {
          const before = this.#breakers.stateOf(t.provider);
          this.#breakers.failed(t.provider);
          // The breaker (re)opened: the extension's linking is `provider_down` (announced once across instances, linkStates.ts).
          if (this.#breakers.stateOf(t.provider) === 'open') {
            await this.#providerDown(t, before === 'closed' ? `${FAILURES_TO_OPEN} token refreshes in a row failed, the last: ${reason}` : `the probe refresh failed: ${reason}`);
          }
        }
        failed = result.status === 'unavailable' && !(timedOut && cutShort);
        return result;
      }
      this.#breakers.succeeded(t.provider);
      const expiresIn = response.expiresIn();
      await this.#vault.saveRefreshed(
        t.extensionId,
        t.userId,
        current.record,
        {
          accessToken: response.access_token,
          // Providers that do not rotate refresh tokens send none back: keep the old one.
          refreshToken: response.refresh_token ?? refreshToken,
          idToken: response.id_token ?? current.tokens.idToken,
        },
        { expiresAt: expiresIn === undefined ? null : Date.now() + expiresIn * 1000, scope: response.scope ?? null },
      );
      this.#metrics.tokenRefreshes.inc({ outcome: 'ok' });
      // saveRefreshed clears a broken status: a refresh of a broken record (keep-alive) recovers the link.
      if (current.record.status === 'broken') await this.#events.emit({ type: 'link.recovered', extensionId: t.extensionId, userId: t.userId, reason: 'refreshed' });
      await this.#health.healed(t.extensionId, 'a token refresh succeeded');
      // Clears a `provider_down` this or another instance reported (a no-op read when there is none).
      this.#downHere.delete(t.extensionId);
      await this.#events.emit({ type: 'provider.up', extensionId: t.extensionId, reason: 'a token refresh succeeded' });
      return { status: 'ok', token: response.access_token };
    } finally {
      if (!failed) await this.#store.deleteIfEquals(lockKey, owner);
      // Only over our own lock (it may have expired and been taken meanwhile), then with the mark's own life.
      else if (await this.#store.compareAndSet(lockKey, owner, FAILED_PREFIX + t.settingsVersion)) await this.#store.set(lockKey, FAILED_PREFIX + t.settingsVersion, FAILED_MARK_MS);
    }
  }

  async #providerDown(t: RefreshTarget, reason: string): Promise<void> {
    this.#downHere.add(t.extensionId);
    await this.#events.emit({ type: 'provider.down', extensionId: t.extensionId, reason });
  }

  async #failed(t: RefreshTarget, err: unknown): Promise<{ result: TokenLookup; timedOut: boolean; providerFailed: boolean; reason: string }> {
    const failure = classifyProviderFailure(err);
    this.#metrics.tokenRefreshes.inc({ outcome: failure.kind });
    switch (failure.kind) {
      case 'grant_revoked':
        await this.#markBroken(t, `refresh refused: ${failure.reason}`);
        return { result: { status: 'broken' }, timedOut: false, providerFailed: false, reason: failure.reason };
      case 'client_rejected':
        await this.#health.clientRejected(t.extensionId, t.settingsVersion, failure.reason);
        return { result: { status: 'unavailable' }, timedOut: false, providerFailed: false, reason: failure.reason };
      case 'provider_error':
        this.#log.warn({ extensionId: t.extensionId, reason: failure.reason, err: describeError(err) }, 'token refresh failed');
        return { result: { status: 'unavailable' }, timedOut: failure.timedOut === true, providerFailed: true, reason: failure.reason };
    }
  }

  async #markBroken(t: RefreshTarget, reason: string): Promise<void> {
    if (await this.#vault.markBroken(t.extensionId, t.userId, reason)) await this.#events.emit({ type: 'link.broken', extensionId: t.extensionId, userId: t.userId, reason });
    this.#log.warn({ extensionId: t.extensionId, reason }, 'link marked broken');
  }
}
