import type { ExtensionRecord } from '../extensions/model.js';
import type { ExtensionRegistry } from '../extensions/registry.js';
import { AppError } from '../http/errors.js';
import { describeError } from '../http/errorInfo.js';
import type { Logger } from '../http/logger.js';
import type { LinkEvent, LinkEventSink } from '../linking/events.js';
import type { Keyring } from '../security/keyring.js';
import { openKeys, signatureHeader } from '../security/standardWebhooks.js';
import { endpointOf, endpointsOf, type WebhookEndpoints } from './endpoints.js';
import { isEnabled, webhookSecretContext, type WebhookEndpoint, type WebhookEventType, type WebhookPayload } from './model.js';
import type { Delivery, DeliveryQueue, TryResult } from './queue.js';
import type { WebhookSender } from './sender.js';

export interface WebhooksServiceDeps {
  registry: ExtensionRegistry;
  keyring: Keyring;
  log: Logger;
  endpoints: WebhookEndpoints;
  queue: DeliveryQueue;
  sender: WebhookSender;
  /** Wakes the delivery workers (this instance's and the others'). */
  announce: () => Promise<void>;
}

/**
 * Lifecycle webhooks as the rest of the instance sees them: linking's event sink (each event
 * queued once per subscribed endpoint), the admin API's operations, and the one try the worker makes.
 */
export class WebhooksService implements LinkEventSink {
  readonly endpoints: WebhookEndpoints;
  readonly #d: WebhooksServiceDeps;

  constructor(d: WebhooksServiceDeps) {
    this.#d = d;
    this.endpoints = d.endpoints;
  }

  async emit(event: LinkEvent): Promise<void> {
    try {
      const record = await this.#d.registry.get(event.extensionId).catch(() => undefined);
      // An extension being deleted has no endpoints left to tell.
      if (record === undefined) return;
      const subscribed = endpointsOf(record).filter((e) => isEnabled(e) && e.events.includes(event.type));
      if (subscribed.length === 0) return;
      const data = { extensionId: event.extensionId, ...(event.userId === undefined ? {} : { userId: event.userId }), ...(event.reason === undefined ? {} : { reason: event.reason }) };
      const body = payload(event.type, data);
      for (const e of subscribed) await this.#d.queue.enqueue(record.extensionId, e.id, event.type, body);
      await this.#d.announce();
    } catch (err) {
      // The linking step it reports has happened: it must not fail for this (events.ts).
      this.#d.log.error({ extensionId: event.extensionId, type: event.type, err: describeError(err) }, 'a lifecycle event could not be queued for its webhooks');
    }
  }

  /** `POST …/webhooks/:webhookId/test`: queues a `ping` to that endpoint. */
  async ping(extensionId: string, webhookId: string): Promise<Delivery> {
    const record = await this.#d.registry.get(extensionId);
    endpointOf(record, webhookId);
    const delivery = await this.#d.queue.enqueue(record.extensionId, webhookId, 'ping', payload('ping', { extensionId: record.extensionId }));
    await this.#d.announce();
    return delivery;
  }

  /** Deletes the endpoint and what is queued for it. */
  async deleteEndpoint(extensionId: string, webhookId: string): Promise<void> {
    await this.endpoints.delete(extensionId, webhookId);
    await this.#d.queue.drop(extensionId, webhookId);
  }

  /** One page of an endpoint's deliveries, newest first (`queue.listPage`). */
  async deliveries(extensionId: string, webhookId: string, page: { after?: string | undefined; limit: number }): Promise<{ deliveries: Delivery[]; next: string | undefined }> {
    const record = await this.#d.registry.get(extensionId);
    endpointOf(record, webhookId);
    return this.#d.queue.listPage(record.extensionId, webhookId, page);
  }

  /** Sends a delivery's message again, as a new delivery (its own tries and id). */
  async redeliver(extensionId: string, webhookId: string, deliveryId: string): Promise<Delivery> {
    const record = await this.#d.registry.get(extensionId);
    endpointOf(record, webhookId);
    const original = await this.#d.queue.get(record.extensionId, webhookId, deliveryId);
    if (original === undefined) throw new AppError('not_found', `Webhook endpoint "${webhookId}" has no delivery "${deliveryId.slice(0, 64)}".`);
    const delivery = await this.#d.queue.enqueue(record.extensionId, webhookId, original.type, original.body, original.id);
    await this.#d.announce();
    return delivery;
  }

  /** What an extension's deletion leaves in the queue. */
  extensionDeleted(extensionId: string): Promise<void> {
    return this.#d.queue.drop(extensionId);
  }

  /** One try of a delivery (the worker's): signed with the endpoint's current secrets, sent under the target policy. */
  async tryDelivery(delivery: Delivery): Promise<TryResult> {
    let record: ExtensionRecord;
    let endpoint: WebhookEndpoint;
    try {
      record = await this.#d.registry.get(delivery.extensionId);
      endpoint = endpointOf(record, delivery.webhookId);
    } catch (err) {
      if (err instanceof AppError && err.status === 404) return { ok: false, statusCode: null, error: 'endpoint deleted', final: true };
      throw err;
    }
    const context = webhookSecretContext(record.extensionId, endpoint.id);
    const keys = openKeys(endpoint.secrets, (sealed) => this.#d.keyring.open(sealed, context));
    const now = Date.now();
    const timestamp = String(Math.floor(now / 1000));
    const headers = { 'webhook-id': delivery.id, 'webhook-timestamp': timestamp, 'webhook-signature': signatureHeader(keys, delivery.id, timestamp, delivery.body, now) };
    return this.#d.sender.send(endpoint.url, headers, delivery.body, record.allowPrivateTargets === true);
  }
}

function payload(type: WebhookEventType, data: WebhookPayload['data']): string {
  const body: WebhookPayload = { type, timestamp: new Date().toISOString(), data };
  return JSON.stringify(body);
}
