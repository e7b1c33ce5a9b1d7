import { ConfigError } from './config/env.js';
import { loadConfig } from './config/load.js';
import { resealStore } from './sealedRecords.js';
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
  const store = await createStore({ redisUrl: config.redisUrl, redisKeyPrefix: config.redisKeyPrefix, dataDir: config.dataDir });
  try {
    const report = await resealStore(store, keyring);
    process.stdout.write(`reseal: ${report.records} records read, ${report.resealed} rewritten under key ${keyring.currentKeyId}.\n`);
    for (const u of report.unreadable) process.stdout.write(`  cannot open ${u.key} (key ${u.keyId}): ${u.reason}\n`);
    if (report.remaining > 0) process.stdout.write(`  ${report.remaining} values were written under an old key meanwhile: run reseal again.\n`);
    if (report.unreadable.length > 0 || report.remaining > 0) {
      process.stdout.write('Keep the old keys in ENCRYPTION_KEYS_PREVIOUS until reseal reports nothing left.\n');
      process.exitCode = 1;
    } else {
      process.stdout.write('Every sealed record is under the current key: ENCRYPTION_KEYS_PREVIOUS can be emptied.\n');
    }
  } finally {
    await store.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`reseal failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
