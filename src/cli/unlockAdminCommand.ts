import { isIP } from 'node:net';
import { clearAdminLockouts } from '../admin/adminAuth.js';
import { STORE_ENV_HELP } from './backupCommand.js';
import type { Command } from './command.js';
import { CliError, USAGE_EXIT } from './errors.js';
import { describeStore, openConfiguredStore } from './storeAccess.js';

/** `cek-gateway unlock-admin [--address IP]`: ends the admin sign-in lockout, on the store directly. */
export const unlockAdminCommand: Command = {
  name: 'unlock-admin',
  summary: 'Clear the admin sign-in lockout (too many wrong admin tokens), for every address or one.',
  args: [],
  options: { address: { type: 'string', value: 'IP', help: 'only this client address' } },
  details: STORE_ENV_HELP,
  async run(ctx) {
    const address = ctx.values['address'];
    if (address !== undefined && (typeof address !== 'string' || isIP(address) === 0)) throw new CliError(`unlock-admin: --address must be an IP address, got "${String(address)}"`, USAGE_EXIT);
    const { store, settings } = await openConfiguredStore(ctx.env, { mustExist: true });
    try {
      let cleared = 0;
      if (address === undefined) cleared = await clearAdminLockouts(store);
      else {
        // Express reports IPv4 clients on a dual-stack socket as ::ffff:a.b.c.d: clear both spellings.
        for (const a of isIP(address) === 4 ? [address, `::ffff:${address}`] : [address]) cleared += await clearAdminLockouts(store, a);
      }
      ctx.err(`Cleared the admin sign-in failures of ${cleared} address${cleared === 1 ? '' : 'es'} in ${describeStore(store, settings)}.`);
    } finally {
      await store.close();
    }
    return 0;
  },
};
