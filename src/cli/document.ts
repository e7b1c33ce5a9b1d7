import { readFileSync } from 'node:fs';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { ACTION_NAME, ACTION_NAME_PROBLEM, actionInput } from '../actions/model.js';
import { createKeyInput, gatewaySettingsInput } from '../gateway/model.js';
import { createExtensionInput, EXTENSION_ID, localesInput, messagesInput } from '../extensions/model.js';
import { settingsInput } from '../linking/settings.js';
import { CliError } from './errors.js';
import { fieldPath } from './fieldPath.js';
import { ENV_REF } from './secrets.js';
import { messageOf, reasonOf } from '../http/errorInfo.js';

/**
 * The configuration file of `export`, `diff` and `apply` (README "CLI"): extensions by id, each with
 * its settings and sections. The parts reuse the admin API's own input schemas, so a file that
 * passes here is refused by the instance only for deployment rules (e.g. https targets in production).
 *
 * Secrets are never written into the file: a secret field holds an `${env:NAME}` reference, read
 * from the CLI's environment when applying.
 */
export const DOCUMENT_VERSION = 1;

const envRef = z.string().regex(ENV_REF, 'must be an ${env:NAME} reference (secrets are not written into the file)');

const accountLinkingDoc = settingsInput(false).extend({ clientSecret: envRef.optional() });

const keyDoc = createKeyInput.extend({ enabled: z.boolean().optional() });

const gatewayDoc = gatewaySettingsInput.extend({
  messengerVerifyToken: envRef.optional(),
  keys: z
    .array(keyDoc)
    .refine((keys) => new Set(keys.map((k) => k.name)).size === keys.length, 'must not name a key twice (keys are matched by name)')
    .optional(),
});

const extensionDoc = z
  .object({
    name: createExtensionInput.shape.name,
    language: createExtensionInput.shape.language,
    verification: createExtensionInput.shape.verification,
    allowPrivateTargets: z.boolean().optional(),
    messages: messagesInput.optional(),
    locales: localesInput.optional(),
    variantSeed: z.number().int().min(0).max(1_000_000).nullable().optional(),
    accountLinking: accountLinkingDoc.optional(),
    gateway: gatewayDoc.optional(),
    actions: z.record(z.string().regex(ACTION_NAME, ACTION_NAME_PROBLEM), actionInput.omit({ name: true })).optional(),
  })
  .strict();

const documentSchema = z
  .object({
    version: z.literal(DOCUMENT_VERSION, { error: `must be ${DOCUMENT_VERSION}` }),
    // Keys are checked in `idProblems`: zod would report a bad key only as "Invalid key in record".
    extensions: z.record(z.string(), extensionDoc),
  })
  .strict();

export type ConfigDocument = z.infer<typeof documentSchema>;
export type ExtensionDoc = z.infer<typeof extensionDoc>;

/** Reads and validates a configuration file (YAML or JSON: YAML reads both); every mistake is listed with its path. */
export function readDocument(file: string): ConfigDocument {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${reasonOf(err)}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { uniqueKeys: true, prettyErrors: true });
  } catch (err) {
    throw new CliError(`${file} is not valid YAML or JSON: ${messageOf(err).split('\n')[0]}`);
  }
  // Before the schema: it would skip a `__proto__` entry of a record without a word.
  const protoProblems = protoKeyProblems(raw, []);
  const parsed = documentSchema.safeParse(raw);
  const problems = [...idProblems(raw), ...protoProblems, ...(parsed.success ? [] : parsed.error.issues.map(keyIssueInWords))];
  if (!parsed.success || problems.length > 0) {
    const lines = problems.map((i) => `  ${fieldPath(i.path)}: ${i.message}`);
    throw new CliError(`${file} is not a valid cek-gateway configuration (${lines.length} problem${lines.length === 1 ? '' : 's'}):\n${lines.join('\n')}`);
  }
  return parsed.data;
}

type Problem = { path: PropertyKey[]; message: string };

/**
 * Every `__proto__` key of the file, reported, then removed so the schema does not see it: YAML and
 * JSON keep it as an own key, but a record schema skips it silently (a plain object cannot hold it as
 * a key), so the entry would be lost without a word. The file's shape is a few levels deep; deeper
 * input is the schema's to refuse.
 */
function protoKeyProblems(value: unknown, path: PropertyKey[]): Problem[] {
  if (typeof value !== 'object' || value === null || path.length > 16) return [];
  const out: Problem[] = [];
  if (!Array.isArray(value) && Object.hasOwn(value, '__proto__')) {
    out.push({ path: [...path, '__proto__'], message: 'cannot be a name ("__proto__" is reserved)' });
    delete (value as Record<string, unknown>)['__proto__'];
  }
  Object.entries(value).forEach(([k, v], i) => out.push(...protoKeyProblems(v, [...path, Array.isArray(value) ? i : k])));
  return out;
}

/** A record key the schema refused ("Invalid key in record") says why, in the key schema's words. */
function keyIssueInWords(issue: z.core.$ZodIssue): Problem {
  if (issue.code === 'invalid_key') return { path: issue.path, message: issue.issues[0]?.message ?? issue.message };
  return issue;
}

function idProblems(raw: unknown): Problem[] {
  const extensions: unknown = typeof raw === 'object' && raw !== null && 'extensions' in raw ? raw.extensions : undefined;
  if (typeof extensions !== 'object' || extensions === null || Array.isArray(extensions)) return [];
  return Object.keys(extensions)
    .filter((id) => !EXTENSION_ID.test(id))
    .map((id) => ({ path: ['extensions', id], message: 'is not an extension ID (reverse-domain, e.g. com.example.weather)' }));
}

export function formatDocument(doc: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : stringifyYaml(doc, { lineWidth: 0 });
}
