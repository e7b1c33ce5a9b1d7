import type { Services } from '../services.js';
import { Gateway } from './gateway.js';
import { messengerRoutes } from './messengerRoutes.js';

/**
 * Installs the gateway (DESIGN.md section 8): the CEK gate (API key + usage plan, before the body
 * is read), the messenger routes and the usage counters (flushed on stop). Its admin routes are
 * mounted by `app.ts`.
 */
export function installGateway(s: Services): Gateway {
  const gateway = new Gateway({ store: s.store, log: s.log, metrics: s.metrics, freeMonthlyCalls: s.config.gatewayFreeMonthlyCalls });
  s.gateway = gateway;

  // Admission before the body is read; the usage count (and `quotaCondition`) once the final status is known.
  s.gates.push(async (req, ext) => {
    const admission = await gateway.admit(req.headers, ext);
    return (status, code) => gateway.finish(admission, status, code);
  });

  s.publicRouters.push(messengerRoutes({ registry: s.registry, gateway, responders: s.responders, log: s.log }));

  // A re-created extension of the same ID starts with no usage. (Rate windows expire in seconds.)
  s.registry.onDelete(async (extensionId) => {
    for (const prefix of [`gw:usage:${extensionId}:`, `gw:quota:${extensionId}:`]) {
      for (const { key } of await s.store.list(prefix)) await s.store.delete(key);
    }
  });

  gateway.start();
  s.onStop.push(() => gateway.stop());
  return gateway;
}
