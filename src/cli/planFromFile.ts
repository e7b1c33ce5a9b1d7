import type { AdminClient } from './adminClient.js';
import { adminFrom } from './adminOptions.js';
import type { CommandContext } from './command.js';
import { readDocument } from './document.js';
import { planAll, renderPlans, type ExtensionPlan } from './plan.js';
import { EnvResolver } from './secrets.js';
import { readInstance } from './state.js';

/** What `diff` and `apply` both start from: the file read, the instance read, every secret resolved, the plans. */
export async function planFromContext(ctx: CommandContext): Promise<{ file: string; api: AdminClient; prune: boolean; plans: ExtensionPlan[]; lines: string[] }> {
  const file = ctx.positionals[0] ?? '';
  const doc = readDocument(file);
  const api = adminFrom(ctx);
  const prune = ctx.values['prune'] === true;
  const plans = planAll(doc, await readInstance(api), new EnvResolver(ctx.env.lookup), { replaceSecrets: ctx.values['replace-secrets'] === true });
  return { file, api, prune, plans, lines: renderPlans(plans, prune) };
}

/** The options `diff` and `apply` share (besides the admin API's). */
export const REPLACE_SECRETS_OPTION = { type: 'boolean', help: 'send every ${env:NAME} secret again, even where the instance has one (to change it)' } as const;
