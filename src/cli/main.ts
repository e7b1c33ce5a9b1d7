#!/usr/bin/env node
import { createRequire } from 'node:module';
import { loadCliEnv } from '../config/cli.js';
import { commandHelp, parseCommandArgs } from './args.js';
import { COMMANDS } from './commands.js';
import { CliError, USAGE_EXIT } from './errors.js';

/** `cek-gateway`, the package's command line (README "CLI"). */
function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => `${c.name}${c.args.map((a) => ` ${a}`).join('')}`.length));
  return [
    'Usage: cek-gateway <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${`${c.name}${c.args.map((a) => ` ${a}`).join('')}`.padEnd(width)}  ${c.summary}`),
    '',
    'Run "cek-gateway <command> --help" for its options.',
  ].join('\n');
}

function version(): string {
  // src/cli/main.ts and dist/cli/main.js both sit two folders below package.json.
  const pkg: unknown = createRequire(import.meta.url)('../../package.json');
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg ? String(pkg.version) : 'unknown';
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const err = (line: string) => process.stderr.write(`${line}\n`);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(overview());
    return name === undefined ? USAGE_EXIT : 0;
  }
  if (name === '--version' || name === '-v') {
    out(version());
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (command === undefined) throw new CliError(`unknown command "${name}" (commands: ${COMMANDS.map((c) => c.name).join(', ')})`, USAGE_EXIT);
    const args = parseCommandArgs(command, rest);
    if (args.help) {
      out(commandHelp(command));
      return 0;
    }
    return await command.run({ values: args.values, positionals: args.positionals, env: loadCliEnv(), out, err });
  } catch (e) {
    // Expected failures are one line; anything else is a bug, still reported without a stack trace.
    if (e instanceof CliError) {
      err(`cek-gateway: ${e.message}`);
      return e.exitCode;
    }
    err(`cek-gateway: ${command?.name ?? name} failed unexpectedly: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
