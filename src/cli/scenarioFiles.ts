import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { messageOf, reasonOf } from '../http/errorInfo.js';
import { CliError, USAGE_EXIT } from './errors.js';
import { fieldPath } from './fieldPath.js';
import { scenarioFileSchema, type ScenarioFile } from './scenarioSchema.js';

const SCENARIO_EXTENSIONS = ['.yaml', '.yml', '.json'];

export interface LoadedFile {
  /** As given or found, relative to the working directory when under it: the report's and JUnit's name. */
  file: string;
  doc: ScenarioFile;
}

/**
 * Reads every scenario file of the given files and folders (folders: their `.yaml`, `.yml` and
 * `.json` files, sub-folders included, in name order) and checks them all before anything runs.
 * Every mistake of every file is one line naming the file, the scenario, the turn and the field;
 * then a CliError with the usage exit code (2).
 */
export function loadScenarioFiles(paths: readonly string[]): LoadedFile[] {
  const files = paths.flatMap(expand);
  if (files.length === 0) throw new CliError(`no scenario files (.yaml, .yml, .json) in ${paths.join(', ')}`, USAGE_EXIT);
  const loaded: LoadedFile[] = [];
  const problems: string[] = [];
  for (const file of files) {
    let raw: unknown;
    try {
      raw = parseYaml(readFileSync(file, 'utf8'), { uniqueKeys: true, prettyErrors: true });
    } catch (err) {
      problems.push(`${file}: not valid YAML or JSON: ${(messageOf(err).split('\n')[0] ?? '').replace(/:$/, '')}`);
      continue;
    }
    // zod's default for a missing field reads "expected string, received undefined".
    const parsed = scenarioFileSchema.safeParse(raw, { error: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined) });
    if (parsed.success) loaded.push({ file, doc: parsed.data });
    else problems.push(...parsed.error.issues.map((issue) => `${file}: ${whereIn(raw, issue)}`));
  }
  if (problems.length > 0) {
    throw new CliError(`the scenarios are not valid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  ${p}`).join('\n')}`, USAGE_EXIT);
  }
  return loaded;
}

function expand(given: string): string[] {
  let stat;
  try {
    stat = statSync(given);
  } catch (err) {
    throw new CliError(`cannot read ${given}: ${reasonOf(err)}`, USAGE_EXIT);
  }
  if (!stat.isDirectory()) return [given];
  return readdirSync(given, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((entry) => {
      const full = path.join(given, entry.name);
      if (entry.isDirectory()) return expand(full);
      return SCENARIO_EXTENSIONS.includes(path.extname(entry.name).toLowerCase()) ? [full] : [];
    });
}

/** `scenario 1 "Points", turn 2: expect.speech.matches: is not a valid regular expression`. */
function whereIn(raw: unknown, issue: z.core.$ZodIssue): string {
  const message = issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message;
  const [top, scenarioIndex, turnsKey, turnIndex, ...rest] = issue.path;
  if (top !== 'scenarios' || typeof scenarioIndex !== 'number') return `${fieldPath(issue.path)}: ${message}`;
  const name = nameAt(raw, scenarioIndex);
  const scenario = `scenario ${scenarioIndex + 1}${name === undefined ? '' : ` "${name}"`}`;
  if (turnsKey !== 'turns' || typeof turnIndex !== 'number') {
    const field = issue.path.slice(2);
    return `${scenario}: ${field.length === 0 ? '' : `${fieldPath(field)}: `}${message}`;
  }
  return `${scenario}, turn ${turnIndex + 1}: ${rest.length === 0 ? '' : `${fieldPath(rest)}: `}${message}`;
}

function nameAt(raw: unknown, index: number): string | undefined {
  const list: unknown = typeof raw === 'object' && raw !== null && 'scenarios' in raw ? raw.scenarios : undefined;
  const entry: unknown = Array.isArray(list) ? list[index] : undefined;
  const name: unknown = typeof entry === 'object' && entry !== null && 'name' in entry ? entry.name : undefined;
  return typeof name === 'string' ? name.slice(0, 80) : undefined;
}
