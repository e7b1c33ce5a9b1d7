import { performance } from 'node:perf_hooks';
import type { TestRequestReport } from '../admin/api/testRequestsRoutes.js';
import type { SpeechLang } from '../cek/types.js';
import type { AdminClient } from './adminClient.js';
import { Conversation, turnLabel } from './conversation.js';
import { CliError } from './errors.js';
import { checkTurn, type Mismatch } from './scenarioExpect.js';
import type { LoadedFile } from './scenarioFiles.js';
import type { Scenario } from './scenarioSchema.js';

export interface TurnResult {
  /** 1-based, as the report and the file's reader count. */
  number: number;
  label: string;
  result: 'pass' | 'fail' | 'skipped';
  mismatches: Mismatch[];
  /** The turn could not be sent (the admin API refused it): the reason. */
  error?: string;
}

export interface ScenarioResult {
  name: string;
  extension: string;
  user: string | undefined;
  /** The user is the scenario's own test user. */
  testUser: boolean;
  passed: boolean;
  /** A failure of the scenario as a whole (its extension does not exist). */
  error?: string;
  turns: TurnResult[];
  seconds: number;
}

export interface FileResult {
  file: string;
  scenarios: ScenarioResult[];
  seconds: number;
}

/**
 * Runs every scenario of every file, one turn after another, through
 * `POST /api/v1/extensions/:id/test-requests`. A scenario stops at its first failing turn (the
 * later turns build on its answer) and the rest are `skipped`; the other scenarios still run. An
 * instance that cannot be reached or refuses the admin token stops the run (CliError).
 */
export interface RunOptions {
  /** Sent with every turn, for extensions that require an API key (`--api-key`, `CEK_GATEWAY_API_KEY`). */
  apiKey?: string | undefined;
}

export async function runScenarioFiles(api: AdminClient, files: readonly LoadedFile[], o: RunOptions = {}): Promise<FileResult[]> {
  const languages = new Map<string, SpeechLang | undefined>();
  const languageOf = async (extensionId: string): Promise<SpeechLang | undefined> => {
    if (!languages.has(extensionId)) languages.set(extensionId, (await api.getOptional<{ language: SpeechLang }>(`/extensions/${extensionId}`))?.language);
    return languages.get(extensionId);
  };
  const results: FileResult[] = [];
  for (const { file, doc } of files) {
    const started = performance.now();
    const scenarios: ScenarioResult[] = [];
    for (const scenario of doc.scenarios) scenarios.push(await runScenario(api, scenario, await languageOf(scenario.extension), o));
    results.push({ file, scenarios, seconds: (performance.now() - started) / 1000 });
  }
  return results;
}

async function runScenario(api: AdminClient, scenario: Scenario, language: SpeechLang | undefined, o: RunOptions): Promise<ScenarioResult> {
  const started = performance.now();
  const base = { name: scenario.name, extension: scenario.extension };
  const labels = scenario.turns.map(turnLabel);
  if (language === undefined) {
    const turns = labels.map((label, i): TurnResult => ({ number: i + 1, label, result: 'skipped', mismatches: [] }));
    return {
      ...base,
      user: scenario.testUser?.userId ?? scenario.user,
      testUser: scenario.testUser !== undefined,
      passed: false,
      error: `no extension "${scenario.extension}" on ${api.baseUrl}`,
      turns,
      seconds: 0,
    };
  }
  const conversation = new Conversation(scenario, language);
  const testUser = scenario.testUser;
  if (testUser !== undefined) {
    try {
      await api.send('POST', `/extensions/${scenario.extension}/test-users`, testUser);
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      const turns = labels.map((label, i): TurnResult => ({ number: i + 1, label, result: 'skipped', mismatches: [] }));
      return { ...base, user: testUser.userId, testUser: true, passed: false, error: `the test user ${testUser.userId} could not be stored: ${err.message}`, turns, seconds: 0 };
    }
  }
  try {
    return await runTurns(api, scenario, conversation, labels, started, o);
  } finally {
    // The scenario's own test user goes with it (one already removed, or a failed call, changes nothing for the result).
    if (testUser !== undefined) await api.send('DELETE', `/extensions/${scenario.extension}/test-users/${encodeURIComponent(testUser.userId)}`).catch(() => undefined);
  }
}

async function runTurns(api: AdminClient, scenario: Scenario, conversation: Conversation, labels: readonly string[], started: number, o: RunOptions): Promise<ScenarioResult> {
  const base = { name: scenario.name, extension: scenario.extension };
  const turns: TurnResult[] = [];
  let failed = false;
  for (const [i, turn] of scenario.turns.entries()) {
    const number = i + 1;
    const label = labels[i] ?? '';
    if (failed) {
      turns.push({ number, label, result: 'skipped', mismatches: [] });
      continue;
    }
    let report: TestRequestReport | undefined;
    try {
      report = await api.send<TestRequestReport>('POST', `/extensions/${scenario.extension}/test-requests`, {
        request: conversation.request(turn),
        ...(o.apiKey === undefined ? {} : { apiKey: o.apiKey }),
      });
    } catch (err) {
      // E.g. refused for this extension (it accepts CLOVA's own signature only): this scenario fails, the run goes on.
      // An unreachable instance or a wrong token has stopped the run already, at the extension's look-up.
      if (!(err instanceof CliError)) throw err;
      turns.push({ number, label, result: 'fail', mismatches: [], error: err.message });
      failed = true;
      continue;
    }
    if (report === undefined) throw new CliError(`POST /extensions/${scenario.extension}/test-requests: an empty answer: is ${api.baseUrl} a cek-gateway instance of this version?`);
    conversation.answered(report);
    const mismatches = checkTurn(turn.expect, report);
    failed = mismatches.length > 0;
    turns.push({ number, label, result: failed ? 'fail' : 'pass', mismatches });
  }
  return { ...base, user: conversation.user, testUser: scenario.testUser !== undefined, passed: !failed, turns, seconds: (performance.now() - started) / 1000 };
}
