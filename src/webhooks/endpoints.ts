import type { ExtensionRecord } from '../extensions/model.js';
import type { ExtensionRegistry } from '../extensions/registry.js';
import { AppError } from '../http/errors.js';
import { parseInput } from '../http/validate.js';
import type { Keyring } from '../security/keyring.js';
import { targetUrlProblem } from '../security/outbound.js';
import { randomToken } from '../security/random.js';
import { newSecret, previousExpiresAt, rotatedSecrets } from '../security/standardWebhooks.js';
import { endpointInput, endpointPatch, isEnabled, MAX_ENDPOINTS, WEBHOOKS_SECTION, webhookSecretContext, type WebhookEndpoint } from './model.js';
import { rotateSecretInput } from '../extensions/model.js';

/** An extension's webhook endpoints as the admin API and pages manage them (create, list, change, delete, rotate the secret). */
export class WebhookEndpoints {
  readonly #registry: ExtensionRegistry;
  readonly #keyring: Keyring;
  readonly #production: boolean;

  constructor(d: { registry: ExtensionRegistry; keyring: Keyring; production: boolean }) {
    this.#registry = d.registry;
    this.#keyring = d.keyring;
    this.#production = d.production;
  }

  /** Every endpoint of an extension, oldest first (404 for an unknown extension). */
  async list(extensionId: string): Promise<WebhookEndpoint[]> {
    return endpointsOf(await this.#registry.get(extensionId));
  }

  /** One endpoint; 404 `not_found` when the extension has none of that id. */
  async get(extensionId: string, webhookId: string): Promise<WebhookEndpoint> {
    return endpointOf(await this.#registry.get(extensionId), webhookId);
  }

  /**
   * Validates and adds an endpoint: 404 before 400, the body (naming each field), the target policy
   * (https and public addresses in production, as for action targets), at most MAX_ENDPOINTS (409).
   * Returns it with its secret, which is shown this once.
   */
  async create(extensionId: string, body: unknown): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const record = await this.#registry.get(extensionId);
    const input = parseInput(endpointInput, body);
    this.#checkUrl(input.url, record);
    const id = `wh_${randomToken(12)}`;
    const secret = newSecret();
    const endpoint: WebhookEndpoint = {
      id,
      url: input.url,
      events: input.events,
      enabled: input.enabled ?? true,
      secrets: rotatedSecrets(undefined, this.#keyring.seal(secret, webhookSecretContext(record.extensionId, id)), 0),
      createdAt: new Date().toISOString(),
    };
    await this.#registry.updateSection(record.extensionId, WEBHOOKS_SECTION, (current) => {
      // Checked on the current record: a change to allowPrivateTargets or another endpoint meanwhile counts.
      this.#checkUrl(input.url, current);
      const endpoints = { ...(current.sections[WEBHOOKS_SECTION]?.endpoints ?? {}) };
      if (Object.keys(endpoints).length >= MAX_ENDPOINTS) throw new AppError('conflict', `An extension has at most ${MAX_ENDPOINTS} webhook endpoints: delete one first.`);
      endpoints[id] = endpoint;
      return { endpoints };
    });
    return { endpoint, secret };
  }

  /**
   * Changes an endpoint's url, events or enabled flag: 404 (extension, then endpoint) before 400,
   * the create rules for what is given, the target policy for a new url. The secret stays.
   */
  async update(extensionId: string, webhookId: string, body: unknown): Promise<WebhookEndpoint> {
    const record = await this.#registry.get(extensionId);
    endpointOf(record, webhookId);
    const input = parseInput(endpointPatch, body);
    if (input.url !== undefined) this.#checkUrl(input.url, record);
    const updated = await this.#registry.updateSection(record.extensionId, WEBHOOKS_SECTION, (current) => {
      const previous = endpointOf(current, webhookId);
      if (input.url !== undefined) this.#checkUrl(input.url, current);
      const endpoint: WebhookEndpoint = {
        ...previous,
        ...(input.url === undefined ? {} : { url: input.url }),
        ...(input.events === undefined ? {} : { events: input.events }),
        enabled: input.enabled ?? isEnabled(previous),
      };
      return { endpoints: { ...(current.sections[WEBHOOKS_SECTION]?.endpoints ?? {}), [webhookId]: endpoint } };
    });
    return endpointOf(updated, webhookId);
  }

  /** Removes an endpoint (its queued deliveries are the queue's to drop); 404 when there is none. */
  async delete(extensionId: string, webhookId: string): Promise<void> {
    await this.#registry.updateSection(extensionId, WEBHOOKS_SECTION, (current) => {
      endpointOf(current, webhookId);
      const endpoints = { ...(current.sections[WEBHOOKS_SECTION]?.endpoints ?? {}) };
      delete endpoints[webhookId];
      return Object.keys(endpoints).length === 0 ? undefined : { endpoints };
    });
  }

  /** A new secret for the endpoint; the old one keeps signing for `graceSeconds` (default 1 day). Shown this once. */
  async rotate(extensionId: string, webhookId: string, body: unknown): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const record = await this.#registry.get(extensionId);
    endpointOf(record, webhookId);
    const { graceSeconds = 86_400 } = parseInput(rotateSecretInput, body);
    const secret = newSecret();
    const sealed = this.#keyring.seal(secret, webhookSecretContext(record.extensionId, webhookId));
    let endpoint: WebhookEndpoint | undefined;
    await this.#registry.updateSection(record.extensionId, WEBHOOKS_SECTION, (current) => {
      const previous = endpointOf(current, webhookId);
      endpoint = { ...previous, secrets: rotatedSecrets(previous.secrets, sealed, graceSeconds) };
      return { endpoints: { ...(current.sections[WEBHOOKS_SECTION]?.endpoints ?? {}), [webhookId]: endpoint } };
    });
    return { endpoint: endpoint ?? endpointOf(await this.#registry.get(record.extensionId), webhookId), secret };
  }

  #checkUrl(url: string, record: ExtensionRecord): void {
    const problem = targetUrlProblem(new URL(url), { production: this.#production, allowPrivateTargets: record.allowPrivateTargets === true });
    if (problem !== undefined) throw new AppError('invalid_body', `Invalid input: url ${problem}.`, { details: [{ path: 'url', message: problem }] });
  }
}

export function endpointsOf(record: ExtensionRecord): WebhookEndpoint[] {
  return Object.values(record.sections[WEBHOOKS_SECTION]?.endpoints ?? {}).sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
}

export function endpointOf(record: ExtensionRecord, webhookId: string): WebhookEndpoint {
  const endpoints = record.sections[WEBHOOKS_SECTION]?.endpoints ?? {};
  const endpoint = Object.hasOwn(endpoints, webhookId) ? endpoints[webhookId] : undefined;
  if (endpoint === undefined) throw new AppError('not_found', `Extension "${record.extensionId}" has no webhook endpoint "${webhookId.slice(0, 64)}".`);
  return endpoint;
}

/** The API shape of an endpoint: never its secret. */
export function formatEndpoint(e: WebhookEndpoint) {
  return { id: e.id, url: e.url, events: e.events, enabled: isEnabled(e), createdAt: e.createdAt, secretCreatedAt: e.secrets.secret.createdAt, previousSecretExpiresAt: previousExpiresAt(e.secrets) };
}
