import * as oidc from 'openid-client';
import type { ExtensionRegistry } from '../extensions/registry.js';
import { describeError } from '../http/errorInfo.js';
import type { Logger } from '../http/logger.js';
import type { LinkEventSink } from './events.js';
import type { OAuthClients } from './oauthClient.js';
import type { Pairing } from './pairing.js';
import { settingsOf } from './settings.js';
import type { Tickets } from './tickets.js';
import type { TokenRecord, TokenVault } from './vault.js';

export interface LinkLifecycleDeps {
  registry: ExtensionRegistry;
  log: Logger;
  vault: TokenVault;
  pairing: Pairing;
  tickets: Tickets;
  clients: OAuthClients;
  events: LinkEventSink;
}

/** Who removed a link: the `reason` of its `link.unlinked` event. */
export type UnlinkCause = 'admin' | 'user' | 'skill_disabled';

/** A link after it was made: listed, removed (and revoked upstream) by the admin, the user, CLOVA, or a deleted extension. */
export class LinkLifecycle {
  readonly #d: LinkLifecycleDeps;

  constructor(d: LinkLifecycleDeps) {
    this.#d = d;
  }

  /** One page of an extension's links (user id order). Callers have already looked the extension up (404). */
  links(extensionId: string, page: { after?: string | undefined; limit: number }): Promise<{ links: Array<{ userId: string; record: TokenRecord }>; next: string | undefined }> {
    return this.#d.vault.listPage(extensionId, page);
  }

  /** One link's record (no tokens opened). */
  record(extensionId: string, userId: string): Promise<TokenRecord | undefined> {
    return this.#d.vault.record(extensionId, userId);
  }

  /**
   * Removes a link: the tokens are deleted first (so nothing uses them again), then revoked at the
   * provider (RFC 7009) when it has a revocation endpoint. A failed revocation is logged, not fatal.
   */
  async unlink(extensionId: string, userId: string, cause: UnlinkCause = 'admin'): Promise<boolean> {
    const current = await this.#d.vault.read(extensionId, userId).catch(() => undefined);
    const removed = await this.#d.vault.remove(extensionId, userId);
    await this.#d.pairing.forget(extensionId, userId);
    // A test user's tokens came from the developer, not a provider: nothing to revoke, nothing to announce.
    if (current?.record.test === true) return removed;
    // Announced by whoever removed the record (two unlinks at once make one event).
    if (removed) await this.#d.events.emit({ type: 'link.unlinked', extensionId, userId, reason: cause });
    if (current === undefined) return removed;
    const ext = await this.#d.registry.get(extensionId).catch(() => undefined);
    const settings = ext === undefined ? undefined : settingsOf(ext);
    const revocationUrl = settings?.revocationUrl;
    if (ext !== undefined && settings !== undefined && (revocationUrl !== undefined || settings.issuer !== undefined)) {
      try {
        const config = await this.#d.clients.configFor(ext, settings);
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

  /** The extension an unlink ticket is for (to name it on the page), without using the ticket up. */
  async unlinkTicketExtension(ticket: string): Promise<string | undefined> {
    return (await this.#d.tickets.peek(ticket, 'unlink'))?.extensionId;
  }

  /** Uses up an unlink ticket and unlinks its user; `false` when the ticket is invalid, expired or spent. */
  async unlinkWithTicket(ticket: string): Promise<boolean> {
    const t = await this.#d.tickets.redeem(ticket, 'unlink');
    if (t === undefined) return false;
    await this.unlink(t.extensionId, t.userId, 'user');
    return true;
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
      const linkedAt = Date.parse((await this.#d.vault.record(extensionId, userId))?.linkedAt ?? '');
      // The timestamp has whole seconds: the event happened before the link only if its whole second did.
      if (Number.isFinite(linkedAt) && eventAt + 1000 <= linkedAt) {
        this.#d.log.warn(
          { extensionId, eventAt: new Date(eventAt).toISOString(), linkedAt: new Date(linkedAt).toISOString() },
          'ClovaSkill.SkillDisabled older than the current link (replayed or late): the link is kept',
        );
        return 'kept';
      }
    }
    await this.unlink(extensionId, userId, 'skill_disabled');
    return 'unlinked';
  }

  /** A deleted extension's links go without revocation: its settings, and so its provider, are gone with it. */
  async removeAll(extensionId: string): Promise<void> {
    await this.#d.vault.removeAll(extensionId);
  }
}
