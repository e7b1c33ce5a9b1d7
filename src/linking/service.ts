import * as oidc from 'openid-client';
import type { z } from 'zod';
import type { CekContext } from '../cek/dispatch.js';
import { cekResponse, simpleSpeech } from '../cek/response.js';
import type { CekResponseBody } from '../cek/types.js';
import type { Config } from '../config/env.js';
import { fillLoginPrompt, resolveMessages } from '../extensions/messages.js';
import { isStoreUnavailable } from '../store/unavailable.js';
import type { ExtensionRecord } from '../extensions/model.js';
import type { ExtensionRegistry, ResolvedExtension } from '../extensions/registry.js';
import { AppError } from '../http/errors.js';
import type { Logger } from '../http/logger.js';
import { parseInput } from '../http/validate.js';
import type { Metrics } from '../http/metrics.js';
import { SealError, type Keyring } from '../security/keyring.js';
import type { Store } from '../store/store.js';
import { targetUrlProblem } from '../security/outbound.js';
import { AttemptLimiter } from './attempts.js';
import { LinkFailure } from './failures.js';
import type { LinkedTokens, TokenLookup } from './linkedTokens.js';
import { clientSecretContext, OAuthClients } from './oauthClient.js';
import { normaliseCode, Pairing, spokenDigits } from './pairing.js';
import { LinkingHealth, type Misconfiguration } from './health.js';
import { classifyProviderFailure } from './providerFailure.js';
import { Refresher } from './refresher.js';
import { incompleteSettings, SECTION, settingsInput, settingsOf, type LinkingSettings } from './settings.js';
import { Tickets } from './tickets.js';
import { TokenVault, type TokenRecord } from './vault.js';
import { keyOf } from '../store/keys.js';
import { causeOf, codeOf, describeError, messageOf, nameOf } from '../http/errorInfo.js';

const STATE_TTL_MS = 5 * 60_000;
const LINK_TICKET_TTL_S = 10 * 60;
const UNLINK_TICKET_TTL_S = 60 * 60;
/** The time a token lookup may take when the caller gives no deadline of its own. */
const DEFAULT_TOKEN_BUDGET_MS = 5_000;

interface PendingAuthorization {
  extensionId: string;
  userId: string;
  codeVerifier: string;
  nonce?: string;
  /** The settings version the flow started with: a change of settings meanwhile restarts it. */
  settingsVersion: string;
}

type SettingsInput = z.infer<ReturnType<typeof settingsInput>>;
export interface LinkingDeps {
  config: Config;
  store: Store;
  keyring: Keyring;
  registry: ExtensionRegistry;
  log: Logger;
  metrics: Metrics;
}

/**
 * Account linking (DESIGN.md section 5): pairing codes and tickets, the OAuth authorization-code
 * flow with state and PKCE, the token vault, refresh and unlink. Implements `LinkedTokens` for
 * action methods.
 */
export class LinkingService implements LinkedTokens {
  #storeDownLoggedAt = 0;
  readonly vault: TokenVault;
  readonly pairing: Pairing;
  readonly attempts: AttemptLimiter;
  readonly tickets: Tickets;
  readonly clients: OAuthClients;
  readonly health: LinkingHealth;
  readonly #refresher: Refresher;
  readonly #d: LinkingDeps;
  readonly #redirectUri: string;
  readonly #settingsSchema: ReturnType<typeof settingsInput>;

  constructor(d: LinkingDeps) {
    this.#d = d;
    this.vault = new TokenVault(d.store, d.keyring);
    this.pairing = new Pairing(d.store, d.keyring, d.keyring.deriveKey('pairing codes'));
    this.attempts = new AttemptLimiter(d.store);
    this.tickets = new Tickets(d.store, d.keyring.deriveKey('link tickets'));
    this.clients = new OAuthClients(d.keyring, d.config.production);
    this.health = new LinkingHealth({ store: d.store, log: d.log, metrics: d.metrics });
    this.#refresher = new Refresher({ store: d.store, vault: this.vault, log: d.log, metrics: d.metrics, health: this.health, skewSeconds: d.config.refreshSkewSeconds });
    this.#redirectUri = `${d.config.publicUrl}/oauth/callback`;
    this.#settingsSchema = settingsInput(d.config.production);
  }

  get linkUrl(): string {
    return `${this.#d.config.publicUrl}/link`;
  }

  // ---- LinkedTokens (the voice path) ----

  async accessToken(ext: ResolvedExtension, userId: string, deadline = Date.now() + DEFAULT_TOKEN_BUDGET_MS): Promise<TokenLookup> {
    if (userId === '') return { status: 'unlinked' };
    let current;
    try {
      current = await this.vault.read(ext.record.extensionId, userId);
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
      if (!(err instanceof SealError)) throw err;
      // Sealed under a key that is no longer configured: the user has to link again, which
      // overwrites the record. Nothing is deleted here, in case the key comes back.
      this.#d.log.error({ extensionId: ext.record.extensionId, err: err.message }, 'a token record cannot be opened with the configured keys');
      return { status: 'broken' };
    }
    if (current === undefined) return { status: 'unlinked' };
    if (current.record.status === 'broken') return { status: 'broken' };
    let result: TokenLookup = { status: 'ok', token: current.tokens.accessToken };
    if (!this.#refresher.usable(current)) result = await this.#refresh(ext.record, userId, current.tokens.accessToken, deadline);
    if (result.status === 'ok' && current.record.successPending === true) {
      await this.vault.update(ext.record.extensionId, userId, (r) => {
        delete r.successPending;
      });
      return { ...result, loginSuccess: this.#messages(ext).loginSuccess };
    }
    return result;
  }

  refreshAfterRejection(ext: ResolvedExtension, userId: string, rejected: string, deadline = Date.now() + DEFAULT_TOKEN_BUDGET_MS): Promise<TokenLookup> {
    // A provider that is down (or refuses our client) says nothing about the user's grant: the link stays.
    return this.#refresh(ext.record, userId, rejected, deadline);
  }

  async markBroken(ext: ResolvedExtension, userId: string, reason: string): Promise<void> {
    await this.vault.update(ext.record.extensionId, userId, (r) => {
      r.status = 'broken';
      r.brokenReason = reason;
    });
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
    const { code } = await this.pairing.codeFor(ext.record.extensionId, cek.userId);
    const prompt = ext.say('loginPrompt', cek.locale, settings.loginPromptMessage);
    const text = fillLoginPrompt(prompt.text, { url: this.linkUrl, code: spokenDigits(code) });
    ctx.outcome = 'login_prompt';
    return cekResponse({ version: cek.version, speech: simpleSpeech(text, prompt.lang), shouldEndSession: true });
  }

  #messages(ext: ResolvedExtension): { loginPrompt: string; loginSuccess: string } {
    const s = settingsOf(ext.record);
    return { loginPrompt: s?.loginPromptMessage ?? ext.messages.loginPrompt, loginSuccess: s?.loginSuccessMessage ?? ext.messages.loginSuccess };
  }

  #refresh(ext: ExtensionRecord, userId: string, stale: string, deadline: number): Promise<TokenLookup> {
    const settings = settingsOf(ext);
    if (settings?.enabled !== true) return Promise.resolve({ status: 'unlinked' });
    return this.#refresher.refresh({
      extensionId: ext.extensionId,
      userId,
      stale,
      deadline,
      settingsVersion: settings.updatedAt,
      config: () => this.clients.configFor(ext, settings),
    });
  }

  /** The extension's account linking is refused by its provider under the current settings (admin API and pages). */
  async misconfiguration(ext: ExtensionRecord): Promise<Misconfiguration | undefined> {
    return this.health.read(ext.extensionId, settingsOf(ext)?.updatedAt);
  }

  // ---- Server settings (admin API and admin pages) ----

  /**
   * Validates and saves an extension's server settings with merge semantics: an omitted field keeps
   * its value, `null` clears it; `clientSecret` is write-only and sealed. Throws 400 `invalid_body`
   * naming each field (including settings that would be enabled but incomplete).
   */
  async saveSettings(extensionId: string, body: unknown): Promise<{ extension: ExtensionRecord; settings: LinkingSettings }> {
    const ext = await this.#d.registry.get(extensionId);
    const input = parseInput(this.#settingsSchema, body);
    const sealedSecret = typeof input.clientSecret === 'string' ? this.#d.keyring.seal(input.clientSecret, clientSecretContext(ext.extensionId)) : undefined;
    // Merged with the current record (it may run again if another change came in between).
    let next: LinkingSettings | undefined;
    const extension = await this.#d.registry.updateSection(ext.extensionId, SECTION, (current) => {
      next = this.#mergeSettings(current, input, sealedSecret);
      return next;
    });
    // New settings deserve a fresh try: the next refresh tells whether they work.
    await this.health.healed(ext.extensionId);
    return { extension, settings: next as LinkingSettings };
  }

  #mergeSettings(ext: ExtensionRecord, input: SettingsInput, sealedSecret: string | undefined): LinkingSettings {
    const prev = settingsOf(ext);
    const next: LinkingSettings = {
      enabled: input.enabled,
      scope: input.scope ?? prev?.scope ?? '',
      clientAuth: input.clientAuth ?? prev?.clientAuth ?? 'basic',
      updatedAt: new Date().toISOString(),
    };
    for (const k of ['loginUrl', 'tokenUrl', 'revocationUrl', 'issuer', 'loginPromptMessage', 'loginSuccessMessage'] as const) {
      const v = input[k];
      const value = v === undefined ? prev?.[k] : (v ?? undefined);
      if (value !== undefined) next[k] = value;
    }
    const clientId = input.clientId ?? prev?.clientId;
    if (clientId !== undefined) next.clientId = clientId;
    if (input.clientSecret === undefined) {
      if (prev?.clientSecretSealed !== undefined) next.clientSecretSealed = prev.clientSecretSealed;
    } else if (sealedSecret !== undefined) {
      next.clientSecretSealed = sealedSecret;
    }
    const problems = incompleteSettings(next);
    // The URLs the gateway itself calls follow the action targets' policy (the login URL is opened
    // by the user's browser, not by us).
    const mode = { production: this.#d.config.production, allowPrivateTargets: ext.allowPrivateTargets === true };
    for (const k of ['tokenUrl', 'revocationUrl', 'issuer'] as const) {
      const v = next[k];
      const problem = v === undefined || !URL.canParse(v) ? undefined : targetUrlProblem(new URL(v), mode);
      if (problem !== undefined) problems.push({ path: k, message: problem });
    }
    if (next.scope.split(' ').includes('openid') && next.issuer === undefined) {
      problems.push({ path: 'issuer', message: 'is required when scope includes "openid", so the id_token can be validated' });
    }
    if (problems.length > 0) {
      throw new AppError('invalid_body', `Invalid input: ${problems[0]?.path} ${problems[0]?.message}.`, { details: problems });
    }
    return next;
  }

  // ---- The flow (pages) ----

  /** The name the user knows an extension by (the unlink page names it); undefined once it is gone. */
  async extensionName(extensionId: string): Promise<string | undefined> {
    return (await this.#d.registry.resolve(extensionId))?.record.name;
  }

  /** A link minted by the admin API: the ticket URL and the user's pairing code. */
  async mintLinkTicket(extensionId: string, userId: string): Promise<{ url: string; code: string; expiresAt: string }> {
    const ext = await this.#d.registry.get(extensionId);
    if (settingsOf(ext)?.enabled !== true) throw new LinkFailure('not_configured');
    const { token, expiresAt } = await this.tickets.mint(extensionId, userId, 'link', LINK_TICKET_TTL_S);
    const { code } = await this.pairing.codeFor(extensionId, userId);
    return { url: `${this.#d.config.publicUrl}/link/start?ticket=${encodeURIComponent(token)}`, code, expiresAt: new Date(expiresAt).toISOString() };
  }

  /** `POST /link`: redeems a pairing code (guessing-limited per client) and returns where to send the browser. */
  async beginFromCode(code: string, client: string): Promise<URL> {
    if ((await this.attempts.lockedFor(client)) > 0) throw new LinkFailure('locked');
    // Empty or not a code's length: a typing slip, not a guess; it costs no try.
    if (normaliseCode(code) === undefined) throw new LinkFailure('malformed_code');
    // The try is counted before the code is looked up, so parallel guesses cannot overrun the limit.
    const tried = await this.attempts.attempt(client);
    if (!tried.allowed) throw new LinkFailure('locked');
    const pair = await this.pairing.redeem(code);
    if (pair === undefined) throw new LinkFailure((await tried.attempt.failed()) ? 'locked' : 'invalid_code');
    await tried.attempt.succeeded();
    return this.#begin(pair.extensionId, pair.userId);
  }

  /** `GET /link/start?ticket=…` */
  async beginFromTicket(ticket: string): Promise<URL> {
    const t = await this.tickets.redeem(ticket, 'link');
    if (t === undefined) throw new LinkFailure('invalid_ticket');
    // The pairing code of that user is spent with the ticket: one link, one way in.
    await this.pairing.forget(t.extensionId, t.userId);
    return this.#begin(t.extensionId, t.userId);
  }

  async #begin(extensionId: string, userId: string): Promise<URL> {
    const ext = await this.#getExtension(extensionId);
    const settings = settingsOf(ext);
    if (settings?.enabled !== true) throw new LinkFailure('not_configured');
    const config = await this.#config(ext, settings);
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const wantsIdToken = settings.scope.split(' ').includes('openid');
    const pending: PendingAuthorization = { extensionId, userId, codeVerifier, settingsVersion: settings.updatedAt };
    const params: Record<string, string> = {
      redirect_uri: this.#redirectUri,
      response_type: 'code',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    };
    if (settings.scope !== '') params['scope'] = settings.scope;
    if (wantsIdToken) {
      pending.nonce = oidc.randomNonce();
      params['nonce'] = pending.nonce;
    }
    await this.#d.store.set(keyOf('oauthState', state), JSON.stringify(pending), STATE_TTL_MS);
    return oidc.buildAuthorizationUrl(config, params);
  }

  /**
   * `GET /oauth/callback`: takes the state (single use), exchanges the code with PKCE at the token
   * endpoint, and stores the tokens. Nothing is stored unless every step succeeded.
   */
  async complete(callbackUrl: URL): Promise<{ extension: ExtensionRecord; userId: string; message: string; unlinkUrl: string }> {
    const state = callbackUrl.searchParams.get('state');
    if (state === null || state === '' || state.length > 512) throw new LinkFailure('invalid_request', 'callback without state');
    const raw = await this.#d.store.take(keyOf('oauthState', state));
    if (raw === null) throw new LinkFailure('expired_state');
    const pending = JSON.parse(raw) as PendingAuthorization;

    const error = callbackUrl.searchParams.get('error');
    if (error !== null) {
      throw new LinkFailure(error === 'access_denied' || error === 'consent_required' || error === 'login_required' ? 'denied' : 'provider_error', `provider returned error=${error.slice(0, 64)}`);
    }
    const ext = await this.#getExtension(pending.extensionId);
    const settings = settingsOf(ext);
    if (settings?.enabled !== true) throw new LinkFailure('not_configured');
    const config = await this.#config(ext, settings);

    const current = new URL(callbackUrl.href);
    // Without a configured issuer we named one ourselves; the provider's RFC 9207 `iss` cannot
    // match it, so it is dropped rather than failing every link (mix-up protection needs `issuer`).
    if (!OAuthClients.hasIssuer(settings)) current.searchParams.delete('iss');

    let tokens;
    try {
      tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: state,
        ...(pending.nonce === undefined ? {} : { expectedNonce: pending.nonce }),
        idTokenExpected: pending.nonce !== undefined && OAuthClients.hasIssuer(settings),
      });
    } catch (err) {
      const failure = classifyProviderFailure(err);
      // A refused client fails every user's linking, not just this one: the operator must see it.
      if (failure.kind === 'client_rejected') await this.health.clientRejected(ext.extensionId, settings.updatedAt, failure.reason);
      throw classifyProviderError(err);
    }
    if (typeof tokens.access_token !== 'string' || tokens.access_token === '') throw new LinkFailure('provider_error', 'no access_token');
    const expiresIn = tokens.expiresIn();
    await this.vault.link(
      pending.extensionId,
      pending.userId,
      { accessToken: tokens.access_token, refreshToken: tokens.refresh_token, idToken: tokens.id_token },
      { expiresAt: expiresIn === undefined ? null : Date.now() + expiresIn * 1000, scope: tokens.scope ?? (settings.scope || null), tokenType: tokens.token_type || 'Bearer' },
    );
    await this.pairing.forget(pending.extensionId, pending.userId);
    this.#d.log.info({ extensionId: pending.extensionId }, 'account linked');
    const unlink = await this.tickets.mint(pending.extensionId, pending.userId, 'unlink', UNLINK_TICKET_TTL_S);
    const message = settings.loginSuccessMessage ?? resolveMessages(ext.language, ext.messages).loginSuccess;
    return { extension: ext, userId: pending.userId, message, unlinkUrl: `${this.#d.config.publicUrl}/link/unlink?ticket=${encodeURIComponent(unlink.token)}` };
  }

  /**
   * Removes a link: the tokens are deleted first (so nothing uses them again), then revoked at the
   * provider (RFC 7009) when it has a revocation endpoint. A failed revocation is logged, not fatal.
   */
  async unlink(extensionId: string, userId: string): Promise<boolean> {
    const current = await this.vault.read(extensionId, userId).catch(() => undefined);
    const removed = await this.vault.remove(extensionId, userId);
    await this.pairing.forget(extensionId, userId);
    if (current === undefined) return removed;
    const ext = await this.#d.registry.get(extensionId).catch(() => undefined);
    const settings = ext === undefined ? undefined : settingsOf(ext);
    const revocationUrl = settings?.revocationUrl;
    if (ext !== undefined && settings !== undefined && (revocationUrl !== undefined || settings.issuer !== undefined)) {
      try {
        const config = await this.clients.configFor(ext, settings);
        if (config.serverMetadata().revocation_endpoint !== undefined) {
          if (current.tokens.refreshToken !== undefined) await oidc.tokenRevocation(config, current.tokens.refreshToken, { token_type_hint: 'refresh_token' });
          await oidc.tokenRevocation(config, current.tokens.accessToken, { token_type_hint: 'access_token' });
        }
      } catch (err) {
        this.#d.log.warn({ extensionId, err: describeError(err) }, 'upstream token revocation failed');
      }
    }
    this.#d.log.info({ extensionId }, 'account unlinked');
    return removed;
  }

  /**
   * CLOVA's `ClovaSkill.SkillDisabled`: unlinks the user, unless the event is older than the current
   * link. CEK has no replay protection, so a captured event could otherwise undo a link made later;
   * its signed `request.timestamp` (ISO 8601, whole seconds) cannot be changed by whoever replays it.
   * Without a readable timestamp the event is taken as current.
   */
  async skillDisabled(extensionId: string, userId: string, timestamp: unknown): Promise<'unlinked' | 'kept'> {
    const eventAt = typeof timestamp === 'string' ? Date.parse(timestamp) : typeof timestamp === 'number' ? timestamp : Number.NaN;
    if (Number.isFinite(eventAt)) {
      const linkedAt = Date.parse((await this.vault.record(extensionId, userId))?.linkedAt ?? '');
      // The timestamp has whole seconds: the event happened before the link only if its whole second did.
      if (Number.isFinite(linkedAt) && eventAt + 1000 <= linkedAt) {
        this.#d.log.warn(
          { extensionId, eventAt: new Date(eventAt).toISOString(), linkedAt: new Date(linkedAt).toISOString() },
          'ClovaSkill.SkillDisabled older than the current link (replayed or late): the link is kept',
        );
        return 'kept';
      }
    }
    await this.unlink(extensionId, userId);
    return 'unlinked';
  }

  /** One page of an extension's links (user id order). Callers have already looked the extension up (404). */
  async links(extensionId: string, page: { after?: string | undefined; limit: number }): Promise<{ links: Array<{ userId: string; record: TokenRecord }>; next: string | undefined }> {
    return this.vault.listPage(extensionId, page);
  }

  async #getExtension(extensionId: string): Promise<ExtensionRecord> {
    try {
      return await this.#d.registry.get(extensionId);
    } catch {
      throw new LinkFailure('not_configured', 'extension gone');
    }
  }

  async #config(ext: ExtensionRecord, settings: LinkingSettings): Promise<oidc.Configuration> {
    try {
      return await this.clients.configFor(ext, settings);
    } catch (err) {
      throw classifyProviderError(err);
    }
  }
}

/** Maps openid-client failures to what the user is told; the cause stays in the log. */
function classifyProviderError(err: unknown): LinkFailure {
  if (err instanceof LinkFailure) return err;
  if (err instanceof oidc.AuthorizationResponseError) {
    return new LinkFailure(err.error === 'access_denied' ? 'denied' : 'provider_error', `authorization error ${err.error}`, err);
  }
  if (err instanceof oidc.ResponseBodyError) return new LinkFailure('provider_error', `token endpoint error ${err.error} (${err.status})`, err);
  // openid-client wraps transport failures (ClientError → TypeError "fetch failed" → the socket error).
  // Checked by name and code, not `instanceof`: fetch's errors may come from another realm.
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = causeOf(e), depth++) {
    const name = nameOf(e);
    const code = codeOf(e);
    const message = messageOf(e);
    if (name === 'TimeoutError' || name === 'AbortError' || code === 'OAUTH_TIMEOUT' || (name === 'TypeError' && message === 'fetch failed')) {
      return new LinkFailure('provider_down', 'provider unreachable', err);
    }
    if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|UND_ERR)/.test(code)) {
      return new LinkFailure('provider_down', 'provider unreachable', err);
    }
  }
  // Everything else is a response we could not use: HTML instead of JSON, a 5xx, a missing field.
  return new LinkFailure('provider_error', `provider response rejected: ${classifyProviderFailure(err).reason}`, err);
}
