import { ADMIN_ENV_HELP, ADMIN_OPTIONS, adminFrom } from './adminOptions.js';
import { applyPlan } from './applyPlan.js';
import type { Command } from './command.js';
import { readDocument } from './document.js';
import { EnvResolver } from './secrets.js';
import { hasWork, planAll, renderPlans } from './plan.js';
import { readInstance } from './state.js';

/** `cek-gateway apply FILE [--prune]`: makes the instance match the file. */
export const applyCommand: Command = {
  name: 'apply',
  summary: 'Make the instance match FILE: create and update extensions (and with --prune delete what the file does not have).',
  args: ['FILE'],
  options: {
    prune: { type: 'boolean', help: 'also delete extensions, actions and API keys that are not in FILE' },
    'replace-secrets': { type: 'boolean', help: 'send every ${env:NAME} secret again, even where the instance has one (to change it)' },
    ...ADMIN_OPTIONS,
  },
  details: `${ADMIN_ENV_HELP}\nVariables named by \${env:NAME} in FILE must be set; a missing one stops apply before anything changes.`,
  async run(ctx) {
    const file = ctx.positionals[0] ?? '';
    const doc = readDocument(file);
    const api = adminFrom(ctx);
    const prune = ctx.values['prune'] === true;
    // Everything is read, resolved and planned before the first write.
    const plans = planAll(doc, await readInstance(api), new EnvResolver(ctx.env.lookup), { replaceSecrets: ctx.values['replace-secrets'] === true });
    const lines = renderPlans(plans, prune);
    const work = plans.filter((p) => hasWork(p, prune));
    for (const l of lines) ctx.out(l);
    if (work.length === 0) {
      ctx.out(`No changes: ${api.baseUrl} already matches ${file}.`);
      return 0;
    }
    let writes = 0;
    for (const p of work) writes += await applyPlan(api, p, { prune, replaceSecrets: ctx.values['replace-secrets'] === true });
    ctx.out(`Applied ${writes} change${writes === 1 ? '' : 's'} to ${work.length} extension${work.length === 1 ? '' : 's'}.`);
    return 0;
  },
};
