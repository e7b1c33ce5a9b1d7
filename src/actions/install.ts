import { actionsRoutes } from '../admin/api/actionsRoutes.js';
import type { Services } from '../services.js';
import { Forwarder } from './forward.js';
import { createActionResponder } from './responder.js';

/**
 * Installs Action Method v1.0 on the services: the CEK responder, the admin routes under
 * `/api/v1/extensions/:id/actions`, and the forwarding pools (closed on stop).
 */
export async function installActions(s: Services): Promise<void> {
  const forwarder = new Forwarder({ production: s.config.production, log: s.log });
  s.responders.push(
    createActionResponder({
      config: s.config,
      metrics: s.metrics,
      forwarder,
      linking: () => s.linking,
    }),
  );
  s.adminRouters.push(actionsRoutes({ registry: s.registry, production: s.config.production }));
  s.onStop.push(() => forwarder.close());
  return Promise.resolve();
}
