import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError } from './env.js';
import { codeOf, reasonOf } from '../http/errorInfo.js';

const ASSIGNMENT = /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*=(.*)$/;
const QUOTES = new Set(['"', "'", '`']);

/**
 * The lines of a .env file that are not `NAME=value`, a comment or blank (1-based). Node's own parser
 * skips such lines without a word, so a typo would silently drop a setting. Quoted values may span
 * lines, as Node allows.
 */
export function malformedDotEnvLines(text: string): number[] {
  const bad: number[] = [];
  const lines = text.split(/\r?\n/);
  let openQuote: string | undefined;
  lines.forEach((line, i) => {
    if (openQuote !== undefined) {
      if (line.includes(openQuote)) openQuote = undefined;
      return;
    }
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const match = ASSIGNMENT.exec(line);
    if (match === null) {
      bad.push(i + 1);
      return;
    }
    const value = (match[1] ?? '').trim();
    const quote = value.charAt(0);
    if (QUOTES.has(quote) && value.indexOf(quote, 1) === -1) openQuote = quote;
  });
  return bad;
}

export interface DotEnvResult {
  /** Absolute path of the file that was read, or undefined when there was none. */
  file: string | undefined;
}

/**
 * Reads `.env` from the working directory into `env` when the file exists, parsed by Node's own .env
 * parser (`util.parseEnv`, the one behind `process.loadEnvFile` and `--env-file`) and with the same
 * rule: a variable already set in the real environment keeps its value. A file that cannot be read or
 * has lines that are not `NAME=value` stops the start with the line numbers (never the lines
 * themselves: they may hold secrets).
 */
export function loadDotEnv(path = '.env', env: Record<string, string | undefined> = process.env): DotEnvResult {
  const file = resolve(path);
  let isFile: boolean;
  try {
    isFile = statSync(file).isFile();
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return { file: undefined };
    throw new ConfigError([`.env: ${file} cannot be read (${reasonOf(err)})`]);
  }
  if (!isFile) throw new ConfigError([`.env: ${file} is not a file`]);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`.env: ${file} cannot be read (${reasonOf(err)})`]);
  }
  const bad = malformedDotEnvLines(text);
  if (bad.length > 0) {
    const where = bad.length === 1 ? `line ${bad[0]} is` : `lines ${bad.join(', ')} are`;
    throw new ConfigError([`.env: ${where} not NAME=value (${file}; comments start with #)`]);
  }
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (env[name] === undefined) env[name] = value;
  }
  return { file };
}
