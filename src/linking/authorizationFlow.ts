import * as oidc from 'openid-client';
import { resolveMessages } from '../extensions/messages.js';
import type { ExtensionRecord } from '../extensions/model.js';
import type { ExtensionRegistry } from '../extensions/registry.js';
import type { Logger } from '../http/logger.js';
import { keyOf } from '../store/keys.js';
import type { Store } from '../store/store.js';
import { AttemptLimiter } from './attempts.js';
import type { LinkEventSink } from './events.js';
import { LinkFailure, linkFailureOf } from './failures.js';
import { flowFailureOf } from './flowFailure.js';
import { GATEWAY_WIDE, type LinkingFunnel } from './funnel.js';
import type { LinkingHealth } from './health.js';
import { OAuthClients } from './oauthClient.js';
import { normaliseCode, type Pairing } from './pairing.js';
import { classifyProviderFailure } from './providerFailure.js';
import { settingsOf, type LinkingSettings } from './settings.js';
import type { Tickets } from './tickets.js';
import type { TokenVault } from './vault.js';

const STATE_TTL_MS = 5 * 60_000;
const LINK_TICKET_TTL_S = 10 * 60;
const UNLINK_TICKET_TTL_S = 60 * 60;

interface PendingAuthorization {
  extensionId: string;
  userId: string;
  codeVerifier: string;
  nonce?: string;
  /** The settings version the flow started with: a change of settings meanwhile restarts it. */
  settingsVersion: string;
}

export interface AuthorizationFlowDeps {
  publicUrl: string;
  store: Store;
  registry: ExtensionRegistry;
  log: Logger;
  vault: TokenVault;
  pairing: Pairing;
  tickets: Tickets;
  clients: OAuthClients;
  health: LinkingHealth;
  events: LinkEventSink;
  funnel: LinkingFunnel;
}

/**
 * The OAuth authorization-code flow with state and PKCE (DESIGN.md section 5), from a pairing code or
 * a ticket to the stored tokens. Every failure is a `LinkFailure` the link pages put into words.
 */
export class AuthorizationFlow {
  readonly #d: AuthorizationFlowDeps;
  readonly #attempts: AttemptLimiter;
  readonly #redirectUri: string;

  constructor(d: AuthorizationFlowDeps) {
    this.#d = d;
    this.#attempts = new AttemptLimiter(d.store);
    this.#redirectUri = `${d.publicUrl}/oauth/callback`;
  }

  /** A link minted by the admin API: the ticket URL and the user's pairing code. */
  async mintLinkTicket(extensionId: string, userId: string): Promise<{ url: string; code: string; expiresAt: string }> {
    const ext = await this.#d.registry.get(extensionId);
    if (settingsOf(ext)?.enabled !== true) throw new LinkFailure('not_configured');
    const { token, expiresAt } = await this.#d.tickets.mint(extensionId, userId, 'link', LINK_TICKET_TTL_S);
    const { code } = await this.#d.pairing.codeFor(extensionId, userId);
    return { url: `${this.#d.publicUrl}/link/start?ticket=${encodeURIComponent(token)}`, code, expiresAt: new Date(expiresAt).toISOString() };
  }

  /** `POST /link`: redeems a pairing code (guessing-limited per client) and returns where to send the browser. */
  async beginFromCode(code: string, client: string): Promise<URL> {
    const { funnel } = this.#d;
    if ((await this.#attempts.lockedFor(client)) > 0) {
      funnel.failed(GATEWAY_WIDE, 'lockout');
      throw new LinkFailure('locked');
    }
    // Empty or not a code's length: a typing slip, not a guess; it costs no try.
    if (normaliseCode(code) === undefined) throw new LinkFailure('malformed_code');
    // The try is counted before the code is looked up, so parallel guesses cannot overrun the limit.
    const tried = await this.#attempts.attempt(client);
    if (!tried.allowed) {
      funnel.failed(GATEWAY_WIDE, 'lockout');
      throw new LinkFailure('locked');
    }
    const pair = await this.#d.pairing.redeem(code);
    if (pair === undefined) {
      // A wrong code matches no extension: counted gateway-wide (and the one that locks, as a lockout too).
      funnel.failed(GATEWAY_WIDE, 'wrong_code');
      if (await tried.attempt.failed()) {
        funnel.failed(GATEWAY_WIDE, 'lockout');
        throw new LinkFailure('locked');
      }
      throw new LinkFailure('invalid_code');
    }
    await tried.attempt.succeeded();
    funnel.step(pair.extensionId, 'code_accepted');
    return this.#begin(pair.extensionId, pair.userId);
  }

  /** `GET /link/start?ticket=…` */
  async beginFromTicket(ticket: string): Promise<URL> {
    const t = await this.#d.tickets.redeem(ticket, 'link');
    if (t === undefined) throw new LinkFailure('invalid_ticket');
    // A ticket link is the extension's own link page, and stands for its code.
    this.#d.funnel.step(t.extensionId, 'page_opened');
    this.#d.funnel.step(t.extensionId, 'code_accepted');
    // The pairing code of that user is spent with the ticket: one link, one way in.
    await this.#d.pairing.forget(t.extensionId, t.userId);
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
    if (raw === null) {
      // Gone with the extension it named.
      this.#d.funnel.failed(GATEWAY_WIDE, 'expired_state');
      throw new LinkFailure('expired_state');
    }
    const pending = JSON.parse(raw) as PendingAuthorization;
    const { funnel } = this.#d;

    const error = callbackUrl.searchParams.get('error');
    if (error !== null) {
      const denied = error === 'access_denied' || error === 'consent_required' || error === 'login_required';
      if (denied) funnel.failed(pending.extensionId, 'consent_denied');
      throw new LinkFailure(denied ? 'denied' : 'provider_error', `provider returned error=${error.slice(0, 64)}`);
    }
    funnel.step(pending.extensionId, 'consent_returned');
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
      if (failure.kind === 'client_rejected') await this.#d.health.clientRejected(ext.extensionId, settings.updatedAt, failure.reason);
      const linkFailure = flowFailureOf(err);
      // A denial can also come back through the callback's own error checks (openid-client's).
      funnel.failed(ext.extensionId, linkFailure.reason === 'denied' ? 'consent_denied' : 'token_endpoint_error');
      throw linkFailure;
    }
    if (typeof tokens.access_token !== 'string' || tokens.access_token === '') {
      funnel.failed(ext.extensionId, 'token_endpoint_error');
      throw new LinkFailure('provider_error', 'no access_token');
    }
    const expiresIn = tokens.expiresIn();
    // A user who links again over a broken link recovers it; anything else is a new link.
    const before = await this.#d.vault.record(pending.extensionId, pending.userId).catch(() => undefined);
    // A test user's id never becomes a real link (issue 17): remove the test user first.
    if (before?.test === true) throw new LinkFailure('not_configured', 'the user id is a test user');
    await this.#d.vault.link(
      pending.extensionId,
      pending.userId,
      { accessToken: tokens.access_token, refreshToken: tokens.refresh_token, idToken: tokens.id_token },
      { expiresAt: expiresIn === undefined ? null : Date.now() + expiresIn * 1000, scope: tokens.scope ?? (settings.scope || null), tokenType: tokens.token_type || 'Bearer' },
    );
    await this.#d.pairing.forget(pending.extensionId, pending.userId);
    funnel.step(pending.extensionId, 'token_stored');
    this.#d.log.info({ extensionId: pending.extensionId }, 'account linked');
    await this.#d.events.emit(
      before?.status === 'broken'
        ? { type: 'link.recovered', extensionId: pending.extensionId, userId: pending.userId, reason: 'linked again' }
        : { type: 'link.created', extensionId: pending.extensionId, userId: pending.userId },
    );
    const unlink = await this.#d.tickets.mint(pending.extensionId, pending.userId, 'unlink', UNLINK_TICKET_TTL_S);
    const message = settings.loginSuccessMessage ?? resolveMessages(ext.language, ext.messages).loginSuccess;
    return { extension: ext, userId: pending.userId, message, unlinkUrl: `${this.#d.publicUrl}/link/unlink?ticket=${encodeURIComponent(unlink.token)}` };
  }

  async #getExtension(extensionId: string): Promise<ExtensionRecord> {
    try {
      return await this.#d.registry.get(extensionId);
    } catch (err) {
      // A store that does not answer says nothing about the extension: that is an outage, not "gone".
      throw linkFailureOf(err) ?? new LinkFailure('not_configured', 'extension gone');
    }
  }

  async #config(ext: ExtensionRecord, settings: LinkingSettings): Promise<oidc.Configuration> {
    try {
      return await this.#d.clients.configFor(ext, settings);
    } catch (err) {
      throw flowFailureOf(err);
    }
  }
}
