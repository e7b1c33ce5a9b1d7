/**
 * An expected failure of a CLI command (a bad file, a wrong token, an unreachable URL): `main`
 * prints its message on one line and exits with `exitCode`, never with a stack trace.
 */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** Exit code of a usage mistake (unknown command or option, missing argument). */
export const USAGE_EXIT = 2;
