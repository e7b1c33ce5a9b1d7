import { ADMIN_ENV_HELP, ADMIN_OPTIONS } from './adminOptions.js';
import type { Command } from './command.js';
import { hasWork } from './plan.js';
import { planFromContext, REPLACE_SECRETS_OPTION } from './planFromFile.js';

/** `cek-gateway diff FILE`: what `apply FILE` would change; exit 0 when nothing, 3 when something. */
export const diffCommand: Command = {
  name: 'diff',
  summary: 'Show what "apply FILE" would change on the instance, per extension and field. Exit code 0: nothing; 3: changes.',
  args: ['FILE'],
  options: {
    prune: { type: 'boolean', help: 'show what "apply --prune" would delete' },
    'replace-secrets': REPLACE_SECRETS_OPTION,
    ...ADMIN_OPTIONS,
  },
  details: `${ADMIN_ENV_HELP}\nVariables named by \${env:NAME} in FILE must be set (header values are compared).`,
  async run(ctx) {
    const { file, api, prune, plans, lines } = await planFromContext(ctx);
    if (!plans.some((p) => hasWork(p, prune))) {
      for (const l of lines) ctx.out(l);
      ctx.out(`No changes: ${api.baseUrl} matches ${file}.`);
      return 0;
    }
    for (const l of lines) ctx.out(l);
    return 3;
  },
};
