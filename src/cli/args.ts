import { parseArgs } from 'node:util';
import type { Command } from './command.js';
import { CliError, USAGE_EXIT } from './errors.js';
import { messageOf } from '../http/errorInfo.js';

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  help: boolean;
}

/** The one argument parser of the CLI (Node's `util.parseArgs`, strict): a command's options and its positionals. */
export function parseCommandArgs(command: Command, argv: readonly string[]): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, spec] of Object.entries(command.options)) {
    options[name] = spec.short === undefined ? { type: spec.type } : { type: spec.type, short: spec.short };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (err) {
    // parseArgs' messages name the option, then add advice about "--" that does not help here.
    const message = messageOf(err);
    const unknown = /^Unknown option '([^']+)'/.exec(message);
    const shown = unknown?.[1] !== undefined ? `unknown option ${unknown[1]}` : (message.split(/(?<=\.)\s/)[0] ?? message);
    throw new CliError(`${command.name}: ${shown} (see cek-gateway ${command.name} --help)`, USAGE_EXIT);
  }
  const values: Record<string, string | boolean | undefined> = { ...parsed.values };
  const help = values['help'] === true;
  delete values['help'];
  if (!help) {
    if (parsed.positionals.length < command.args.length) {
      throw new CliError(`${command.name}: missing ${command.args.slice(parsed.positionals.length).join(' ')} (see cek-gateway ${command.name} --help)`, USAGE_EXIT);
    }
    // A last argument written `NAME...` takes one or more values (`test PATH...`).
    const variadic = command.args.at(-1)?.endsWith('...') === true;
    if (!variadic && parsed.positionals.length > command.args.length) {
      throw new CliError(`${command.name}: unexpected argument "${parsed.positionals[command.args.length]}" (see cek-gateway ${command.name} --help)`, USAGE_EXIT);
    }
  }
  return { values, positionals: parsed.positionals, help };
}

/** `--help` of one command. */
export function commandHelp(command: Command): string {
  const lines = [`Usage: cek-gateway ${command.name}${command.args.map((a) => ` ${a}`).join('')}${Object.keys(command.options).length > 0 ? ' [options]' : ''}`, '', command.summary];
  const opts = Object.entries(command.options);
  if (opts.length > 0) {
    lines.push('', 'Options:');
    const shown = opts.map(([name, o]) => [`${o.short === undefined ? '' : `-${o.short}, `}--${name}${o.value === undefined ? '' : ` ${o.value}`}`, o.help] as const);
    const width = Math.max(...shown.map(([l]) => l.length));
    for (const [l, h] of shown) lines.push(`  ${l.padEnd(width)}  ${h}`);
  }
  if (command.details !== undefined) lines.push('', command.details);
  return lines.join('\n');
}
