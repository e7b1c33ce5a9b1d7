import type { CliEnv } from '../config/cli.js';

/** An option of a command, in the shape `util.parseArgs` takes, plus its help line. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Shown as `--name VALUE` in the help. */
  value?: string;
  help: string;
}

export interface CommandContext {
  values: Readonly<Record<string, string | boolean | undefined>>;
  positionals: readonly string[];
  env: CliEnv;
  /** Standard output (results); `err` is standard error (progress and notes). */
  out: (line: string) => void;
  err: (line: string) => void;
}

/**
 * One CLI command. Adding a command is one entry in the table in `commands.ts`: its options,
 * positional arguments and help come from here, so `--help` and the parser stay in step.
 */
export interface Command {
  name: string;
  summary: string;
  /** Positional arguments, e.g. `['FILE']`; all required. A last one written `'PATH...'` takes one or more. */
  args: readonly string[];
  options: Readonly<Record<string, OptionSpec>>;
  /** Extra help text: environment variables, examples. */
  details?: string;
  /** Returns the exit code. */
  run(ctx: CommandContext): Promise<number>;
}
