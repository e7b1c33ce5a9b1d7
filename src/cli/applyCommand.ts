import { ADMIN_ENV_HELP, ADMIN_OPTIONS } from './adminOptions.js';
import { applyPlan } from './applyPlan.js';
import type { Command } from './command.js';
import { hasWork } from './plan.js';
import { planFromContext, REPLACE_SECRETS_OPTION } from './planFromFile.js';

/** `cek-gateway apply FILE [--prune]`: makes the instance match the file. */
export const applyCommand: Command = {
  name: 'apply',
  summary: 'Make the instance match FILE: create and update extensions (and with --prune delete what the file does not have).',
  args: ['FILE'],
  options: {
    prune: { type: 'boolean', help: 'also delete extensions, actions and API keys that are not in FILE' },
    'replace-secrets': REPLACE_SECRETS_OPTION,
    ...ADMIN_OPTIONS,
  },
  details: `${ADMIN_ENV_HELP}\nVariables named by \${env:NAME} in FILE must be set; a missing one stops apply before anything changes.`,
  async run(ctx) {
    // Everything is read, resolved and planned before the first write.
    const { file, api, prune, plans, lines } = await planFromContext(ctx);
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
