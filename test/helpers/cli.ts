import { execFile } from 'node:child_process';
import path from 'node:path';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * Runs `cek-gateway ARGS` as a real child process on the TypeScript sources (test/helpers/tsRun.mjs
 * transpiles them on load, so no build is needed), with only the given environment besides PATH.
 */
export function runCli(args: readonly string[], env: Record<string, string> = {}, cwd = ROOT): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', path.join(ROOT, 'test/helpers/tsRun.mjs'), path.join(ROOT, 'src/cli/main.ts'), ...args],
      { cwd, env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
