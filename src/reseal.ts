import { ConfigError } from './config/env.js';
import { loadConfig } from './config/load.js';
import { reportReseal } from './sealedRecords.js';
import { Keyring } from './security/keyring.js';
import { createStore } from './store/createStore.js';

/**
 * `npm run reseal` (in production: `node dist/reseal.js`, with the service's environment): rewrites
 * every sealed record under ENCRYPTION_KEY, so the keys in ENCRYPTION_KEYS_PREVIOUS can be dropped.
 * Safe while the service runs and safe to run again; exits 1 when something is left under an old key.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig().config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`reseal cannot start.\n${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const keyring = new Keyring(config.encryptionKeys);
  // The config has the store's settings under the same names (CreateStoreOptions).
  const store = await createStore(config);
  try {
    process.exitCode = await reportReseal(store, keyring, (line) => process.stdout.write(`${line}\n`));
  } finally {
    await store.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`reseal failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
