import type { Router } from 'express';
import type { Config } from './config/env.js';
import type { CekGate } from './cek/handler.js';
import type { CekResponder } from './cek/dispatch.js';
import { installFeatures } from './features.js';
import { ExtensionRegistry } from './extensions/registry.js';
import type { Gateway } from './gateway/gateway.js';
import type { LinkingService } from './linking/service.js';
import type { Logger } from './http/logger.js';
import { createMetrics, type Metrics } from './http/metrics.js';
import { Keyring } from './security/keyring.js';
import { checkStoreKeys } from './sealedRecords.js';
import type { Store } from './store/store.js';

/** Everything the two doors (the CEK handler and the Express app) share: built once per instance. */
export interface Services {
  readonly config: Config;
  readonly store: Store;
  readonly keyring: Keyring;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly registry: ExtensionRegistry;
  /** CEK responders in order (features add theirs); the defaults answer when none does. */
  readonly responders: CekResponder[];
  /** Checks before a CEK request is verified (gateway keys and quotas). */
  readonly gates: CekGate[];
  /**
   * Account linking, once installed. Action methods use it only through its `LinkedTokens` face
   * (tokens and the pairing prompt); the admin API and pages use the rest (settings, links, unlink).
   */
  linking: LinkingService | undefined;
  /** The gateway (API keys, usage plans, usage), once installed; the admin API and pages manage it. */
  gateway: Gateway | undefined;
  /** Feature routers mounted at the root, without admin auth (account-linking pages, messenger routes). */
  readonly publicRouters: Router[];
  /** Cleanup run on stop, in reverse order of registration (feature modules add theirs). */
  readonly onStop: Array<() => Promise<void>>;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  config: Config;
  store: Store;
  log: Logger;
  metrics?: Metrics;
}

export async function createServices(o: ServiceOptions): Promise<Services> {
  const keyring = new Keyring(o.config.encryptionKeys);
  await checkStoreKeys(o.store, keyring, o.config.dataDir);
  const metrics = o.metrics ?? createMetrics();
  const registry = new ExtensionRegistry({ store: o.store, keyring, log: o.log });
  await registry.start();
  const services: Services = {
    config: o.config,
    store: o.store,
    keyring,
    log: o.log,
    metrics,
    registry,
    responders: [],
    gates: [],
    linking: undefined,
    gateway: undefined,
    publicRouters: [],
    onStop: [],
    async stop() {
      for (const fn of [...this.onStop].reverse()) await fn();
      await registry.stop();
    },
  };
  await installFeatures(services);
  return services;
}
