import type { Core } from '../core.js';
import type { Feature } from '../feature.js';
import { WebhookEndpoints } from './endpoints.js';
import { DeliveryQueue } from './queue.js';
import { WebhookSender } from './sender.js';
import { WebhooksService } from './service.js';
import { DeliveryWorker } from './worker.js';

/** Lifecycle webhooks as installed: the service the admin API manages, which is also linking's event sink. */
export interface WebhooksFeature extends Feature {
  readonly service: WebhooksService;
}

/**
 * Signed lifecycle webhooks (issue 16 item 3): endpoints per extension, a delivery queue in the
 * store, and the background worker that sends it (started here, stopped by the stop hook). Its
 * admin routes (`/api/v1/extensions/:id/webhooks`) are mounted by `app.ts`.
 */
export function installWebhooks(core: Core): WebhooksFeature {
  const queue = new DeliveryQueue({ store: core.store, firstRetrySeconds: core.config.webhookFirstRetrySeconds });
  const sender = new WebhookSender({ production: core.config.production, log: core.log });
  const endpoints = new WebhookEndpoints({ registry: core.registry, keyring: core.keyring, production: core.config.production });
  // The worker makes the service's tries; the service wakes the worker when it queues one.
  const worker: DeliveryWorker = new DeliveryWorker({ queue, store: core.store, log: core.log, metrics: core.metrics, tryDelivery: (d) => service.tryDelivery(d) });
  const service = new WebhooksService({ registry: core.registry, keyring: core.keyring, log: core.log, endpoints, queue, sender, announce: () => worker.announce() });
  const started = worker.start().catch((err: unknown) => core.log.error({ err }, 'the webhook delivery worker did not start'));
  return {
    name: 'webhooks',
    service,
    onExtensionDeleted: (extensionId) => service.extensionDeleted(extensionId),
    async stop() {
      await started;
      await worker.stop();
      await sender.close();
    },
  };
}
