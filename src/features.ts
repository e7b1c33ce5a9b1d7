import { installActions } from './actions/install.js';
import type { Core } from './core.js';
import type { Feature } from './feature.js';
import { installGateway, type GatewayFeature } from './gateway/install.js';
import { installLinking, type LinkingFeature } from './linking/install.js';
import { installWebhooks, type WebhooksFeature } from './webhooks/install.js';

/** The installed features, typed for the parts that manage them (admin API and pages), and in order. */
export interface Features {
  readonly linking: LinkingFeature;
  readonly actions: Feature;
  readonly gateway: GatewayFeature;
  readonly webhooks: WebhooksFeature;
  /** In installation order: the order of their CEK responders and gates. */
  readonly all: readonly Feature[];
}

/**
 * Installs the feature modules on the core, in one visible order. A new feature plugs in here: one
 * `install…(core, deps)` line, and its entry in `all`.
 */
export function installFeatures(core: Core): Features {
  // Webhooks first: linking reports its events to it (and it stops last, after linking's last event).
  const webhooks = installWebhooks(core);
  const linking = installLinking(core, { events: webhooks.service });
  const actions = installActions(core, { tokens: linking.service });
  const gateway = installGateway(core);
  return { linking, actions, gateway, webhooks, all: [webhooks, linking, actions, gateway] };
}
