import { ADMIN_ENV_HELP, ADMIN_OPTIONS, adminFrom } from './adminOptions.js';
import type { Command } from './command.js';
import { DOCUMENT_VERSION, formatDocument } from './document.js';
import { toDocument } from './exportForm.js';
import { CliError, USAGE_EXIT } from './errors.js';
import { readInstance } from './state.js';

/** `cek-gateway export`: the instance's configuration as a file for `apply`. */
export const exportCommand: Command = {
  name: 'export',
  summary: 'Print the configuration of the extensions of a running instance (secrets as ${env:NAME} references).',
  args: [],
  options: {
    extension: { type: 'string', value: 'ID', help: 'only this extension' },
    format: { type: 'string', value: 'json|yaml', help: 'output format (default: yaml)' },
    ...ADMIN_OPTIONS,
  },
  details: `${ADMIN_ENV_HELP}\nExample: cek-gateway export --format yaml > gateway.yaml`,
  async run(ctx) {
    const format = ctx.values['format'] ?? 'yaml';
    if (format !== 'json' && format !== 'yaml') throw new CliError(`export: --format must be json or yaml, got "${String(format)}"`, USAGE_EXIT);
    const only = ctx.values['extension'];
    const instance = await readInstance(adminFrom(ctx), typeof only === 'string' ? only : undefined);
    const doc = { version: DOCUMENT_VERSION, extensions: Object.fromEntries(instance.map((e) => [e.id, toDocument(e.id, e.state)])) };
    ctx.out(formatDocument(doc, format).trimEnd());
    return 0;
  },
};
