import type { Services } from '../services.js';
import { Forwarder } from './forward.js';
import { createActionResponder } from './responder.js';

/**
 * Installs Action Method v1.0 on the services: the CEK responder and the forwarding pools (closed
 * on stop). Its admin routes (`/api/v1/extensions/:id/actions`) are mounted by `app.ts`.
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
  s.onStop.push(() => forwarder.close());
  return Promise.resolve();
}
