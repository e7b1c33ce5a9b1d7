import { writeFileSync } from 'node:fs';
import { reasonOf } from '../http/errorInfo.js';
import { ADMIN_ENV_HELP, ADMIN_OPTIONS, adminFrom } from './adminOptions.js';
import type { CliEnv } from '../config/cli.js';
import type { Command } from './command.js';
import { CliError } from './errors.js';
import { junitXml } from './junit.js';
import { renderReport } from './scenarioReport.js';
import { loadScenarioFiles, type LoadedFile } from './scenarioFiles.js';
import { EnvResolver } from './secrets.js';
import { runScenarioFiles } from './scenarioRun.js';

/** `cek-gateway test PATH...`: replays scenario files against a running instance (README "CLI", "Scenarios"). */
export const testCommand: Command = {
  name: 'test',
  summary: 'Run scenario files (YAML or JSON; folders: every .yaml, .yml, .json in them) against the instance. Exit code 0: all passed; 1: a failure; 2: a bad file.',
  args: ['PATH...'],
  options: {
    junit: { type: 'string', value: 'FILE', help: 'also write the results as JUnit XML to FILE (for CI)' },
    'api-key': { type: 'string', value: 'KEY', help: 'an API key sent with every turn, for extensions that require one (default: $CEK_GATEWAY_API_KEY)' },
    ...ADMIN_OPTIONS,
  },
  details: `${ADMIN_ENV_HELP}\nEvery file is checked before anything is sent; each mistake names the file, scenario, turn and field.\nRequests are signed with each extension's Chatbot Secret by the instance (POST /api/v1/extensions/:id/test-requests).\nAn extension that requires an API key: --api-key KEY or CEK_GATEWAY_API_KEY.`,
  async run(ctx) {
    const files = loadScenarioFiles(ctx.positionals);
    resolveTestUserTokens(files, ctx.env);
    const api = adminFrom(ctx);
    const flag = ctx.values['api-key'];
    const apiKey = typeof flag === 'string' ? flag : ctx.env.lookup('CEK_GATEWAY_API_KEY');
    const results = await runScenarioFiles(api, files, { apiKey: apiKey === '' ? undefined : apiKey });
    for (const line of renderReport(results)) ctx.out(line);
    const junit = ctx.values['junit'];
    if (typeof junit === 'string') {
      try {
        writeFileSync(junit, junitXml(results));
      } catch (err) {
        throw new CliError(`cannot write ${junit}: ${reasonOf(err)}`);
      }
      ctx.err(`JUnit XML written to ${junit}.`);
    }
    return results.every((f) => f.scenarios.every((s) => s.passed)) ? 0 : 1;
  },
};

/** Test users' `${env:NAME}` token values, read before anything is sent; every missing variable is named at once. */
function resolveTestUserTokens(files: readonly LoadedFile[], env: CliEnv): void {
  const resolver = new EnvResolver((name) => env.lookup(name));
  for (const { doc } of files) {
    doc.scenarios.forEach((s, i) => {
      const t = s.testUser;
      if (t === undefined) return;
      const at = ['scenarios', i, 'testUser'];
      t.accessToken = resolver.resolve(t.accessToken, [...at, 'accessToken']);
      if (t.refreshToken !== undefined) t.refreshToken = resolver.resolve(t.refreshToken, [...at, 'refreshToken']);
    });
  }
  resolver.check();
}
