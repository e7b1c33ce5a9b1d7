import type { CekContext } from '../cek/dispatch.js';
import type { CekResponseBody } from '../cek/types.js';
import type { Config } from '../config/env.js';
import type { ExtensionRecord } from '../extensions/model.js';
import type { ExtensionRegistry, ResolvedExtension } from '../extensions/registry.js';
import { describeError } from '../http/errorInfo.js';
import type { Logger } from '../http/logger.js';
import type { Metrics } from '../http/metrics.js';
import type { Keyring } from '../security/keyring.js';
import type { Store } from '../store/store.js';
import { AuthorizationFlow } from './authorizationFlow.js';
import { NO_EVENTS, type LinkEventSink } from './events.js';
import { GATEWAY_WIDE, LinkingFunnel, type FunnelReport } from './funnel.js';
import { LinkingHealth, type Misconfiguration } from './health.js';
import { LinkLifecycle } from './linkLifecycle.js';
import { LinkStates, type LinkingStateRecord, type LinkStateRecord } from './linkStates.js';
import type { LinkedTokens, TokenLookup } from './linkedTokens.js';
import { OAuthClients } from './oauthClient.js';
import { Pairing } from './pairing.js';
import { KeepAliveSchedule } from './keepAliveSchedule.js';
import { KeepAliveWorker } from './keepAliveWorker.js';
import { Refresher } from './refresher.js';
import { keepAliveIntervalMs, type LinkingSettings } from './settings.js';
import { SettingsAdmin } from './settingsAdmin.js';
import { TestUsers } from './testUsers.js';
import { Tickets } from './tickets.js';
import { VaultTokens } from './vaultTokens.js';
import { TokenVault, type TokenRecord } from './vault.js';

export interface LinkingDeps {
  config: Config;
  store: Store;
  keyring: Keyring;
  registry: ExtensionRegistry;
  log: Logger;
  metrics: Metrics;
  /** Where link and linking state changes are reported (the webhooks feature's sink); none by default. */
  events?: LinkEventSink;
}

/**
 * Account linking (DESIGN.md section 5) as the rest of the service sees it: one method per use, each
 * handed to the part that does that job: the server settings (`settingsAdmin.ts`), the OAuth flow
 * (`authorizationFlow.ts`), the voice path's tokens (`vaultTokens.ts`), and the links once made
 * (`linkLifecycle.ts`). What they share (vault, pairing codes, tickets, OAuth clients, health) is
 * built here and stays inside `linking/`.
 */
export class LinkingService implements LinkedTokens {
  readonly linkUrl: string;
  readonly #clients: OAuthClients;
  readonly #health: LinkingHealth;
  readonly #settings: SettingsAdmin;
  readonly #flow: AuthorizationFlow;
  readonly #tokens: VaultTokens;
  readonly #lifecycle: LinkLifecycle;
  readonly #testUsers: TestUsers;
  readonly #registry: ExtensionRegistry;
  readonly #vault: TokenVault;
  readonly #log: Logger;
  #index: Promise<void> | undefined;
  #stopping = false;
  readonly #states: LinkStates;
  readonly #funnel: LinkingFunnel;
  readonly #schedule: KeepAliveSchedule;
  readonly #keepAlive: KeepAliveWorker;
  readonly #hourMs: number;
  /** Keep-alive reschedules started by settings saves (awaited on close; tests wait for them). */
  readonly #rescheduling = new Set<Promise<void>>();

  constructor(d: LinkingDeps) {
    const { config, store, keyring, registry, log, metrics } = d;
    // Every lifecycle event is recorded as a state change first (history), then handed on (webhooks).
    const events = new LinkStates({ store, log, next: d.events ?? NO_EVENTS });
    const funnel = new LinkingFunnel({ store, log, metrics });
    this.#states = events;
    this.#funnel = funnel;
    this.linkUrl = `${config.publicUrl}/link`;
    this.#registry = registry;
    this.#log = log;
    this.#hourMs = config.keepAliveHourSeconds * 1000;
    // The keep-alive schedule follows every token record write (link, refresh, break, unlink).
    this.#schedule = new KeepAliveSchedule({ store, registry, log, hourMs: this.#hourMs });
    const vault = new TokenVault(store, keyring, this.#schedule);
    this.#vault = vault;
    const pairing = new Pairing(store, keyring, keyring.deriveKey('pairing codes'));
    const tickets = new Tickets(store, keyring.deriveKey('link tickets'));
    const clients = new OAuthClients(keyring, config.production);
    const health = new LinkingHealth({ store, log, metrics, events });
    this.#clients = clients;
    this.#health = health;
    this.#settings = new SettingsAdmin({ registry, keyring, health, production: config.production });
    this.#flow = new AuthorizationFlow({ publicUrl: config.publicUrl, store, registry, log, vault, pairing, tickets, clients, health, events, funnel });
    const refresher = new Refresher({ store, vault, log, metrics, health, events, skewSeconds: config.refreshSkewSeconds });
    this.#tokens = new VaultTokens({ linkUrl: this.linkUrl, log, vault, refresher, pairing, clients, health, events, funnel });
    this.#keepAlive = new KeepAliveWorker({
      store,
      log,
      metrics,
      registry,
      vault,
      schedule: this.#schedule,
      refresh: (ext, userId, stale, deadline) => this.#tokens.refresh(ext, userId, stale, deadline),
      circuitState: (provider) => refresher.circuitState(provider),
      misconfigured: async (extensionId, settingsVersion) => (await health.read(extensionId, settingsVersion)) !== undefined,
      ratePerSecond: config.keepAliveRatePerSecond,
      hourMs: this.#hourMs,
    });
    this.#lifecycle = new LinkLifecycle({ registry, log, vault, pairing, tickets, clients, events });
    this.#testUsers = new TestUsers({ vault, pairing, log });
  }

  // ---- LinkedTokens (the voice path; documented on the interface) ----

  accessToken(ext: ResolvedExtension, userId: string, deadline?: number, locale?: string): Promise<TokenLookup> {
    return this.#tokens.accessToken(ext, userId, deadline, locale);
  }

  refreshAfterRejection(ext: ResolvedExtension, userId: string, rejected: string, deadline?: number): Promise<TokenLookup> {
    return this.#tokens.refreshAfterRejection(ext, userId, rejected, deadline);
  }

  markBroken(ext: ResolvedExtension, userId: string, reason: string): Promise<void> {
    return this.#tokens.markBroken(ext, userId, reason);
  }

  loginPrompt(ctx: CekContext): Promise<CekResponseBody> {
    return this.#tokens.loginPrompt(ctx);
  }

  // ---- Server settings (admin API and admin pages) ----

  /** The extension's account linking is refused by its provider under the current settings. */
  misconfiguration(ext: ExtensionRecord): Promise<Misconfiguration | undefined> {
    return this.#settings.misconfiguration(ext);
  }

  /**
   * Merge-saves the settings; 400 `invalid_body` naming each field (`SettingsAdmin.save`). A change
   * of the keep-alive period (or turning it or linking on or off) moves every link's schedule entry,
   * in the background (an extension may have a million links).
   */
  async saveSettings(extensionId: string, body: unknown): Promise<{ extension: ExtensionRecord; settings: LinkingSettings }> {
    const { extension, settings, previous } = await this.#settings.save(extensionId, body);
    const before = keepAliveIntervalMs(previous, this.#hourMs);
    const after = keepAliveIntervalMs(settings, this.#hourMs);
    if (before !== after) {
      const run = this.#schedule
        .rescheduleExtension(this.#vault, extension.extensionId, before, after)
        .then((n) => this.#log.info({ extensionId: extension.extensionId, links: n }, 'keep-alive schedule moved to the new period'))
        .catch((err: unknown) => this.#log.warn({ extensionId: extension.extensionId, err: describeError(err) }, 'keep-alive schedule not moved to the new period'))
        .finally(() => this.#rescheduling.delete(run));
      this.#rescheduling.add(run);
    }
    return { extension, settings };
  }

  /** Settles when the keep-alive reschedules started by earlier settings saves are done. */
  async keepAliveSettled(): Promise<void> {
    await Promise.all(this.#rescheduling);
  }

  // ---- The flow (link pages; the admin API mints tickets) ----

  /** The name the user knows an extension by (the unlink page names it); undefined once it is gone. */
  async extensionName(extensionId: string): Promise<string | undefined> {
    return (await this.#registry.resolve(extensionId))?.record.name;
  }

  /** The code page (`GET /link`) was opened: a funnel step of no extension yet. */
  linkPageOpened(): void {
    this.#funnel.step(GATEWAY_WIDE, 'page_opened');
  }

  mintLinkTicket(extensionId: string, userId: string): Promise<{ url: string; code: string; expiresAt: string }> {
    return this.#flow.mintLinkTicket(extensionId, userId);
  }

  beginFromCode(code: string, client: string): Promise<URL> {
    return this.#flow.beginFromCode(code, client);
  }

  beginFromTicket(ticket: string): Promise<URL> {
    return this.#flow.beginFromTicket(ticket);
  }

  complete(callbackUrl: URL): Promise<{ extension: ExtensionRecord; userId: string; message: string; unlinkUrl: string }> {
    return this.#flow.complete(callbackUrl);
  }

  // ---- Links once made (admin API, admin pages, link pages, CLOVA's SkillDisabled) ----

  links(extensionId: string, page: { after?: string | undefined; limit: number }): Promise<{ links: Array<{ userId: string; record: TokenRecord }>; next: string | undefined }> {
    return this.#lifecycle.links(extensionId, page);
  }

  /** A user's link record (status, dates; never its tokens); undefined when not linked. */
  linkRecord(extensionId: string, userId: string): Promise<TokenRecord | undefined> {
    return this.#lifecycle.record(extensionId, userId);
  }

  /** A user's link state and history (kept 90 days after an unlink); undefined for one who never linked. */
  linkState(extensionId: string, userId: string): Promise<LinkStateRecord | undefined> {
    return this.#states.link(extensionId, userId);
  }

  /** The link states of a page of users, in one round trip. */
  linkStates(extensionId: string, userIds: readonly string[]): Promise<Map<string, LinkStateRecord>> {
    return this.#states.links(extensionId, userIds);
  }

  /** Users whose last change was an unlink (their history is still kept), newest first. */
  unlinkedUsers(extensionId: string, limit: number): Promise<Array<{ userId: string; record: LinkStateRecord }>> {
    return this.#states.unlinked(extensionId, limit);
  }

  /** The extension's linking state (`ok`, `misconfigured`, `provider_down`) with its history. */
  linkingState(extensionId: string): Promise<LinkingStateRecord | undefined> {
    return this.#states.linking(extensionId);
  }

  /** The linking funnel of the last `days` days, with the gateway-wide steps. */
  funnel(extensionId: string, days: number): Promise<FunnelReport> {
    return this.#funnel.report(extensionId, days);
  }

  unlink(extensionId: string, userId: string): Promise<boolean> {
    return this.#lifecycle.unlink(extensionId, userId);
  }

  /** The name of the extension an unlink ticket is for; undefined for a ticket that is invalid, expired or spent. */
  async unlinkTicketExtensionName(ticket: string): Promise<string | undefined> {
    const id = await this.#lifecycle.unlinkTicketExtension(ticket);
    return id === undefined ? undefined : ((await this.extensionName(id)) ?? id);
  }

  unlinkWithTicket(ticket: string): Promise<boolean> {
    return this.#lifecycle.unlinkWithTicket(ticket);
  }

  skillDisabled(extensionId: string, userId: string, timestamp: unknown): Promise<'unlinked' | 'kept'> {
    return this.#lifecycle.skillDisabled(extensionId, userId, timestamp);
  }

  // ---- Test users (admin API and pages; the test sender asks whether a user is one) ----

  /** Creates or replaces a test user (`TestUsers.create`): 400 `invalid_body`, 409 `real_user_linked`. */
  createTestUser(extensionId: string, body: unknown): Promise<{ created: boolean; userId: string; record: TokenRecord }> {
    return this.#testUsers.create(extensionId, body);
  }

  /** Removes a test user: 404 `not_found`, 409 `not_test_user` for a real link. */
  removeTestUser(extensionId: string, userId: string): Promise<void> {
    return this.#testUsers.remove(extensionId, userId);
  }

  isTestUser(extensionId: string, userId: string): Promise<boolean> {
    return this.#testUsers.isTestUser(extensionId, userId);
  }

  /** Drops what a deleted extension left: its links, its misconfiguration mark and its states. */
  async extensionDeleted(extensionId: string): Promise<void> {
    await this.#lifecycle.removeAll(extensionId);
    await this.#schedule.dropExtension(extensionId);
    await this.#health.healed(extensionId);
    await this.#states.extensionDeleted(extensionId);
    await this.#funnel.extensionDeleted(extensionId);
  }

  /**
   * Builds the link index of a store written by a version without it (once; started at install, in
   * the background: until it is complete, links are listed by scanning their records, as before).
   * Resolves when it is done or given up (logged; the next start tries again); never rejects.
   */
  ensureLinkIndex(): Promise<void> {
    const stopped = (): boolean => this.#stopping;
    this.#index ??= this.#vault
      .ensureIndex({ stopped })
      .then(async ({ built, links }) => {
        if (built && links > 0) this.#log.info({ links }, 'link index built for the links of an earlier version');
        // The keep-alive schedule pages through the index, so it is rebuilt (after a restore) only now.
        const schedule = await this.#schedule.ensureBuilt(this.#vault, stopped);
        if (schedule.built && schedule.links > 0) this.#log.info({ links: schedule.links }, 'keep-alive schedule built from the links');
      })
      // A failure of either build (the schedule's too: a catch, not then's second argument).
      .catch((err: unknown) => {
        if (!this.#stopping)
          this.#log.warn(
            { err: describeError(err) },
            'building the link index or the keep-alive schedule failed; the next start tries again (until then links are listed by scanning, or kept alive once used)',
          );
      });
    return this.#index;
  }

  /** Starts the keep-alive sweep (one instance at a time sweeps; `keepAliveWorker.ts`). */
  start(): Promise<void> {
    return this.#keepAlive.start();
  }

  /** Stops the keep-alive sweep and a link index build (between two pages), writes the last funnel counts, then closes the OAuth clients' connection pools (on stop). */
  async close(): Promise<void> {
    this.#stopping = true;
    await this.#keepAlive.stop();
    await this.keepAliveSettled();
    await this.#index;
    await this.#funnel.stop().catch(() => undefined);
    await this.#clients.close();
  }
}
