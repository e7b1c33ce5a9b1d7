import type { Core } from '../core.js';
import type { Feature } from '../feature.js';
import { Gateway } from './gateway.js';
import { quotaPrefixes } from './limiter.js';
import { prefixOf } from '../store/keys.js';
import { messengerRoutes } from './messengerRoutes.js';

/** The gateway as installed: the service the admin API and pages manage. */
export interface GatewayFeature extends Feature {
  readonly service: Gateway;
}

/**
 * The gateway (DESIGN.md section 8): the CEK gate (API key + usage plan, before the body is read),
 * the messenger routes and the usage counters (flushed on stop). Its admin routes are mounted by `app.ts`.
 */
export function installGateway(core: Core): GatewayFeature {
  const gateway = new Gateway({ store: core.store, log: core.log, metrics: core.metrics, freeMonthlyCalls: core.config.gatewayFreeMonthlyCalls });
  void gateway.start();
  return {
    name: 'gateway',
    service: gateway,
    // Admission before the body is read; the usage count (and `quotaCondition`) once the final status is known.
    gates: [
      async (headers, ext, call) => {
        const admission = await gateway.admit(headers, ext, Date.now(), call.testUser);
        return (status, code) => gateway.finish(admission, status, code);
      },
    ],
    publicRouter: (pipeline) => messengerRoutes({ pipeline, log: core.log }),
    // A re-created extension of the same ID starts with no usage. (Rate windows expire in seconds.)
    onExtensionDeleted: async (extensionId) => {
      for (const prefix of [prefixOf('usage', extensionId), ...quotaPrefixes(extensionId)]) {
        for (const { key } of await core.store.list(prefix)) await core.store.delete(key);
      }
    },
    stop: () => gateway.stop(),
  };
}
