import { ADMIN_ENV_HELP, ADMIN_OPTIONS, adminFrom } from './adminOptions.js';
import type { Command } from './command.js';
import { readDocument } from './document.js';
import { EnvResolver } from './secrets.js';
import { hasWork, planAll, renderPlans } from './plan.js';
import { readInstance } from './state.js';

/** `cek-gateway diff FILE`: what `apply FILE` would change; exit 0 when nothing, 3 when something. */
export const diffCommand: Command = {
  name: 'diff',
  summary: 'Show what "apply FILE" would change on the instance, per extension and field. Exit code 0: nothing; 3: changes.',
  args: ['FILE'],
  options: {
    prune: { type: 'boolean', help: 'show what "apply --prune" would delete' },
    'replace-secrets': { type: 'boolean', help: 'send every ${env:NAME} secret again, even where the instance has one (to change it)' },
    ...ADMIN_OPTIONS,
  },
  details: `${ADMIN_ENV_HELP}\nVariables named by \${env:NAME} in FILE must be set (header values are compared).`,
  async run(ctx) {
    const file = ctx.positionals[0] ?? '';
    const doc = readDocument(file);
    const api = adminFrom(ctx);
    const prune = ctx.values['prune'] === true;
    const plans = planAll(doc, await readInstance(api), new EnvResolver(ctx.env.lookup), { replaceSecrets: ctx.values['replace-secrets'] === true });
    const lines = renderPlans(plans, prune);
    if (!plans.some((p) => hasWork(p, prune))) {
      for (const l of lines) ctx.out(l);
      ctx.out(`No changes: ${api.baseUrl} matches ${file}.`);
      return 0;
    }
    for (const l of lines) ctx.out(l);
    return 3;
  },
};
