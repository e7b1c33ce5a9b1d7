import type { Core } from '../core.js';
import type { Feature } from '../feature.js';
import type { LinkedTokens } from '../linking/linkedTokens.js';
import { Forwarder } from './forward.js';
import { createActionResponder } from './responder.js';
import { ForwardSigner } from './signing.js';

export interface ActionsDeps {
  /** Account linking's face for action methods: a user's token, or the pairing prompt. */
  tokens: LinkedTokens;
}

/**
 * Action Method v1.0: the CEK responder and the forwarding pools (closed on stop). Its admin
 * routes (`/api/v1/extensions/:id/actions`) are mounted by `app.ts`.
 */
export function installActions(core: Core, deps: ActionsDeps): Feature {
  const forwarder = new Forwarder({ production: core.config.production, log: core.log });
  return {
    name: 'actions',
    responders: [createActionResponder({ config: core.config, metrics: core.metrics, forwarder, signer: new ForwardSigner(core.keyring), linking: deps.tokens })],
    stop: () => forwarder.close(),
  };
}
