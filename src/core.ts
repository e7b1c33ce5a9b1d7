import type { Config } from './config/env.js';
import { ExtensionRegistry } from './extensions/registry.js';
import type { Logger } from './http/logger.js';
import { createMetrics, type Metrics } from './http/metrics.js';
import { Keyring } from './security/keyring.js';
import { checkStoreKeys } from './sealedRecords.js';
import type { Store } from './store/store.js';

/**
 * What every part of an instance shares, built once before any feature: the features receive it
 * (they never write into it), and `createServices` hands it on to the two doors.
 */
export interface Core {
  readonly config: Config;
  readonly store: Store;
  readonly keyring: Keyring;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly registry: ExtensionRegistry;
}

export interface CoreOptions {
  config: Config;
  store: Store;
  log: Logger;
  metrics?: Metrics;
}

/** Builds the core and starts the registry (its cache listens for changes from other instances). */
export async function createCore(o: CoreOptions): Promise<Core> {
  const keyring = new Keyring(o.config.encryptionKeys);
  // Before anything reads a sealed record: a store sealed under a key this instance lacks would
  // start "healthy" and refuse every signed call (issue 13 item 11).
  await checkStoreKeys(o.store, keyring, o.config.dataDir);
  const metrics = o.metrics ?? createMetrics();
  const registry = new ExtensionRegistry({ store: o.store, keyring, log: o.log, metrics });
  await registry.start();
  return Object.freeze({ config: o.config, store: o.store, keyring, log: o.log, metrics, registry });
}
