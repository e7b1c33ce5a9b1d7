import { ConfigError } from '../config/env.js';
import { loadConfig } from '../config/load.js';
import { reportReseal } from '../sealedRecords.js';
import { Keyring } from '../security/keyring.js';
import { STORE_ENV_HELP } from './backupCommand.js';
import type { Command } from './command.js';
import { CliError } from './errors.js';
import { openConfiguredStore } from './storeAccess.js';

/**
 * `cek-gateway reseal`: the same as `npm run reseal` — every sealed record under ENCRYPTION_KEY, so
 * the keys in ENCRYPTION_KEYS_PREVIOUS can be dropped. It reads the service's whole configuration
 * (the keys with the store), and is safe while the service runs.
 */
export const resealCommand: Command = {
  name: 'reseal',
  summary: 'Re-seal every sealed record (secrets, tokens) under the current ENCRYPTION_KEY.',
  args: [],
  options: {},
  details: `${STORE_ENV_HELP}\nENCRYPTION_KEY is the key to seal under; ENCRYPTION_KEYS_PREVIOUS the keys the records may still be sealed with.`,
  async run(ctx) {
    let keys;
    try {
      keys = loadConfig().config.encryptionKeys;
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(`reseal: the configuration is not usable: ${err.message}`);
      throw err;
    }
    const { store } = await openConfiguredStore(ctx.env, { mustExist: true });
    try {
      return await reportReseal(store, new Keyring(keys), ctx.out);
    } finally {
      await store.close();
    }
  },
};
