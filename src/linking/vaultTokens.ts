import type { CekContext } from '../cek/dispatch.js';
import { cekResponse, simpleSpeech } from '../cek/response.js';
import type { CekResponseBody } from '../cek/types.js';
import { fillLoginPrompt } from '../extensions/messages.js';
import type { ExtensionRecord } from '../extensions/model.js';
import type { ResolvedExtension } from '../extensions/registry.js';
import type { Logger } from '../http/logger.js';
import { SealError } from '../security/keyring.js';
import { isNewerRecord } from '../store/json.js';
import { isStoreUnavailable } from '../store/unavailable.js';
import type { LinkEventSink } from './events.js';
import type { LinkingFunnel } from './funnel.js';
import type { LinkingHealth } from './health.js';
import type { LinkedTokens, TokenLookup } from './linkedTokens.js';
import type { OAuthClients } from './oauthClient.js';
import { spokenDigits, type Pairing } from './pairing.js';
import type { Refresher } from './refresher.js';
import { breakerKeyOf, settingsOf } from './settings.js';
import type { TokenVault } from './vault.js';

/** The time a token lookup may take when the caller gives no deadline of its own. */
const DEFAULT_TOKEN_BUDGET_MS = 5_000;

export interface VaultTokensDeps {
  /** Where the login prompt sends the user (`PUBLIC_URL/link`). */
  linkUrl: string;
  log: Logger;
  vault: TokenVault;
  /** Shared with keep-alive, so both use one single flight and one set of circuit breakers. */
  refresher: Refresher;
  pairing: Pairing;
  clients: OAuthClients;
  health: LinkingHealth;
  events: LinkEventSink;
  funnel: LinkingFunnel;
}

/** `LinkedTokens` (the voice path's face of account linking) served from the token vault, refreshed when due. */
export class VaultTokens implements LinkedTokens {
  #storeDownLoggedAt = 0;
  readonly #d: VaultTokensDeps;
  readonly #refresher: Refresher;

  constructor(d: VaultTokensDeps) {
    this.#d = d;
    this.#refresher = d.refresher;
  }

  async accessToken(ext: ResolvedExtension, userId: string, deadline = Date.now() + DEFAULT_TOKEN_BUDGET_MS, locale?: string): Promise<TokenLookup> {
    if (userId === '') return { status: 'unlinked' };
    let current;
    try {
      current = await this.#d.vault.read(ext.record.extensionId, userId);
    } catch (err) {
      if (isStoreUnavailable(err)) {
        // The store is down: the error message is spoken (not the prompt: the link may well exist),
        // and the log says so once a minute instead of once a request.
        if (Date.now() - this.#storeDownLoggedAt > 60_000) {
          this.#storeDownLoggedAt = Date.now();
          this.#d.log.warn({ extensionId: ext.record.extensionId }, 'token lookups fail: the store does not answer (logged once a minute)');
        }
        return { status: 'unavailable' };
      }
      if (isNewerRecord(err)) {
        // A newer instance wrote it (a rolling upgrade): not this one's to open, refresh or prompt over.
        this.#d.log.warn({ extensionId: ext.record.extensionId, code: err.code }, 'a token record is from a newer cek-gateway: upgrade this instance');
        return { status: 'unavailable' };
      }
      if (!(err instanceof SealError)) throw err;
      // Sealed under a key that is no longer configured: the user has to link again, which
      // overwrites the record. Nothing is deleted here, in case the key comes back.
      this.#d.log.error({ extensionId: ext.record.extensionId, err: err.message }, 'a token record cannot be opened with the configured keys');
      return { status: 'broken' };
    }
    if (current === undefined) return { status: 'unlinked' };
    if (current.record.status === 'broken') return { status: 'broken' };
    if (current.record.test === true) return this.#testUserToken(ext, current.record.expiresAt, current.tokens.accessToken);
    let result: TokenLookup = { status: 'ok', token: current.tokens.accessToken };
    if (!this.#refresher.usable(current)) result = await this.refresh(ext.record, userId, current.tokens.accessToken, deadline);
    if (result.status === 'ok' && current.record.successPending === true) {
      await this.#d.vault.update(ext.record.extensionId, userId, (r) => {
        delete r.successPending;
      });
      // The first request after linking that gets the token: the funnel's last step (test users stay out of it).
      if (current.record.test !== true) this.#d.funnel.step(ext.record.extensionId, 'first_action');
      return { ...result, loginSuccess: ext.say('loginSuccess', locale, settingsOf(ext.record)?.loginSuccessMessage).text };
    }
    return result;
  }

  async refreshAfterRejection(ext: ResolvedExtension, userId: string, rejected: string, deadline = Date.now() + DEFAULT_TOKEN_BUDGET_MS): Promise<TokenLookup> {
    // A test user's token is what the developer gave: nothing to refresh it with, and no link to break.
    if ((await this.#d.vault.record(ext.record.extensionId, userId))?.test === true) {
      this.#d.log.warn({ extensionId: ext.record.extensionId }, "the target refused a test user's token: it is not refreshed (replace the test user)");
      return { status: 'unavailable' };
    }
    // A provider that is down (or refuses our client) says nothing about the user's grant: the link stays.
    return this.refresh(ext.record, userId, rejected, deadline);
  }

  /**
   * A test user's token is used as given until its `expiresIn` passes, never refreshed against the
   * provider (none issued it). After that the lookup is `unavailable` (the error message is spoken),
   * not `unlinked`: a login prompt would hand out a pairing code for an id that must never become a
   * real link.
   */
  #testUserToken(ext: ResolvedExtension, expiresAt: number | null, token: string): TokenLookup {
    if (expiresAt === null || expiresAt > Date.now()) return { status: 'ok', token };
    this.#d.log.warn({ extensionId: ext.record.extensionId }, "a test user's token has expired: it is not refreshed (replace the test user)");
    return { status: 'unavailable' };
  }

  async markBroken(ext: ResolvedExtension, userId: string, reason: string): Promise<void> {
    const extensionId = ext.record.extensionId;
    if (await this.#d.vault.markBroken(extensionId, userId, reason)) await this.#d.events.emit({ type: 'link.broken', extensionId, userId, reason });
  }

  async loginPrompt(ctx: CekContext): Promise<CekResponseBody> {
    const { ext, cek } = ctx;
    const settings = settingsOf(ext.record);
    if (settings?.enabled !== true || cek.userId === '') {
      ctx.outcome = 'linking_unavailable';
      ctx.log.warn({ reqId: ctx.requestId, extensionId: ext.record.extensionId }, 'a token is needed but account linking is not enabled for this extension');
      const error = ext.say('error', cek.locale);
      return cekResponse({ version: cek.version, speech: simpleSpeech(error.text, error.lang), shouldEndSession: true });
    }
    const { code } = await this.#d.pairing.codeFor(ext.record.extensionId, cek.userId);
    const prompt = ext.say('loginPrompt', cek.locale, settings.loginPromptMessage);
    const text = fillLoginPrompt(prompt.text, { url: this.#d.linkUrl, code: spokenDigits(code) });
    ctx.outcome = 'login_prompt';
    // A map update: the count reaches the store with the next second's flush, off this request.
    this.#d.funnel.step(ext.record.extensionId, 'prompted');
    return cekResponse({ version: cek.version, speech: simpleSpeech(text, prompt.lang), shouldEndSession: true });
  }

  /** Refreshes the user's token unless someone already replaced `stale` (voice path and keep-alive). */
  refresh(ext: ExtensionRecord, userId: string, stale: string, deadline: number): Promise<TokenLookup> {
    const settings = settingsOf(ext);
    if (settings?.enabled !== true) return Promise.resolve({ status: 'unlinked' });
    return this.#refresher.refresh({
      extensionId: ext.extensionId,
      userId,
      stale,
      deadline,
      settingsVersion: settings.updatedAt,
      provider: breakerKeyOf(ext, settings),
      config: () => this.#d.clients.configFor(ext, settings),
    });
  }
}
