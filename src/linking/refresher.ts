import * as oidc from 'openid-client';
import type { Logger } from '../http/logger.js';
import type { Metrics } from '../http/metrics.js';
import { randomToken } from '../security/random.js';
import type { Store } from '../store/store.js';
import type { TokenLookup } from './linkedTokens.js';
import type { TokenVault, OpenedRecord } from './vault.js';

const LOCK_TTL_MS = 15_000;
const WAIT_STEP_MS = 40;

export interface RefreshTarget {
  extensionId: string;
  userId: string;
  /** The provider's configuration (built lazily: only the worker that refreshes needs it). */
  config: () => Promise<oidc.Configuration>;
  /** The access token that prompted the refresh; a record with another usable token means someone else already refreshed. */
  stale: string;
  /** Until when waiting for another worker is worth it (epoch ms). */
  waitUntil: number;
}

/**
 * Refreshes a linked token by exactly one worker across processes: an in-process single flight,
 * then a store lock with a TTL, a re-read after acquiring it (another instance may have refreshed
 * while we waited), and release by compare-and-delete so a lock that expired and was taken by
 * someone else is never released by us.
 */
export class Refresher {
  readonly #store: Store;
  readonly #vault: TokenVault;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  readonly #skewMs: number;
  readonly #inFlight = new Map<string, Promise<TokenLookup>>();

  constructor(o: { store: Store; vault: TokenVault; log: Logger; metrics: Metrics; skewSeconds: number }) {
    this.#store = o.store;
    this.#vault = o.vault;
    this.#log = o.log;
    this.#metrics = o.metrics;
    this.#skewMs = o.skewSeconds * 1000;
  }

  /** True when the record's access token can be used now without refreshing. */
  usable(r: OpenedRecord): boolean {
    return r.record.status === 'linked' && (r.record.expiresAt === null || r.record.expiresAt - this.#skewMs > Date.now());
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
    const lockKey = `lock:refresh:${t.extensionId}:${t.userId}`;
    const owner = randomToken(12);
    while (!(await this.#store.setIfAbsent(lockKey, owner, LOCK_TTL_MS))) {
      // Another instance is refreshing: wait for its result instead of calling the provider too.
      await new Promise((r) => setTimeout(r, WAIT_STEP_MS));
      const done = this.#fresh(await this.#vault.read(t.extensionId, t.userId), t.stale);
      if (done !== undefined) return done;
      if (Date.now() > t.waitUntil) {
        this.#metrics.tokenRefreshes.inc({ outcome: 'lock_timeout' });
        return { status: 'unavailable' };
      }
    }
    try {
      const current = await this.#vault.read(t.extensionId, t.userId);
      const done = this.#fresh(current, t.stale);
      if (done !== undefined || current === undefined) return done ?? { status: 'unlinked' };
      const refreshToken = current.tokens.refreshToken;
      if (refreshToken === undefined) {
        await this.#markBroken(t, 'the provider gave no refresh token and the access token expired');
        return { status: 'broken' };
      }
      let response;
      try {
        response = await oidc.refreshTokenGrant(await t.config(), refreshToken);
      } catch (err) {
        if (err instanceof oidc.ResponseBodyError && (err.error === 'invalid_grant' || err.error === 'unauthorized_client' || err.error === 'invalid_client')) {
          this.#metrics.tokenRefreshes.inc({ outcome: err.error });
          await this.#markBroken(t, `refresh refused: ${err.error}`);
          return { status: 'broken' };
        }
        this.#metrics.tokenRefreshes.inc({ outcome: 'provider_error' });
        this.#log.warn({ extensionId: t.extensionId, err: describe(err) }, 'token refresh failed');
        return { status: 'unavailable' };
      }
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
      return { status: 'ok', token: response.access_token };
    } finally {
      await this.#store.deleteIfEquals(lockKey, owner);
    }
  }

  async #markBroken(t: RefreshTarget, reason: string): Promise<void> {
    await this.#vault.update(t.extensionId, t.userId, (r) => {
      r.status = 'broken';
      r.brokenReason = reason;
    });
    this.#log.warn({ extensionId: t.extensionId, reason }, 'link marked broken');
  }
}

/** An error as the log may show it: class, code and OAuth error, never a token or a body. */
export function describe(err: unknown): Record<string, unknown> {
  if (err instanceof oidc.ResponseBodyError) return { type: 'ResponseBodyError', error: err.error, status: err.status };
  if (err instanceof oidc.AuthorizationResponseError) return { type: 'AuthorizationResponseError', error: err.error };
  if (typeof err === 'object' && err !== null) {
    const { name, code, message, cause } = err as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown };
    return { type: name, code, message: typeof message === 'string' ? message.slice(0, 200) : undefined, cause: cause === undefined ? undefined : describe(cause) };
  }
  return { type: typeof err };
}
