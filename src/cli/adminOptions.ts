import type { OptionSpec, CommandContext } from './command.js';
import { adminClient, type AdminClient } from './adminClient.js';

/** The options of every command that talks to a running instance. */
export const ADMIN_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  url: { type: 'string', value: 'URL', help: 'the instance, e.g. http://localhost:3000 (default: $CEK_GATEWAY_URL)' },
  token: { type: 'string', value: 'TOKEN', help: 'its ADMIN_TOKEN (default: $CEK_GATEWAY_TOKEN; prefer the variable: a flag shows in the process list)' },
};

export const ADMIN_ENV_HELP = 'Environment: CEK_GATEWAY_URL, CEK_GATEWAY_TOKEN (used when --url / --token are not given).';

export function adminFrom(ctx: CommandContext): AdminClient {
  const url = ctx.values['url'];
  const token = ctx.values['token'];
  return adminClient({ url: typeof url === 'string' ? url : ctx.env.adminUrl, token: typeof token === 'string' ? token : ctx.env.adminToken });
}
