import { readFileSync } from 'node:fs';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { actionInput, normaliseHeaders } from '../actions/model.js';
import { cleanPlan, createKeyInput, gatewaySettingsInput } from '../gateway/model.js';
import { createExtensionInput, EXTENSION_ID, messagesInput } from '../extensions/model.js';
import { settingsInput } from '../linking/settings.js';
import { CliError } from './errors.js';
import { sortedRecord, type ActionState, type ExtensionState, type KeyState } from './state.js';

/**
 * The configuration file of `export`, `diff` and `apply` (README "CLI"): extensions by id, each with
 * its settings and sections. The parts reuse the admin API's own input schemas, so a file that
 * passes here is refused by the instance only for deployment rules (e.g. https targets in production).
 *
 * Secrets are never written into the file: a secret field holds an `${env:NAME}` reference, read
 * from the CLI's environment when applying.
 */
export const DOCUMENT_VERSION = 1;

const ENV_REF = /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$/;
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
    accountLinking: accountLinkingDoc.optional(),
    gateway: gatewayDoc.optional(),
    actions: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'action names are 1-64 characters of A-Z a-z 0-9 _ . -'), actionInput.omit({ name: true })).optional(),
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
type ExtensionDoc = z.infer<typeof extensionDoc>;

/** `a.b["com.example.x"][2]`: the path of a field as the user reads it in the file. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out === '' ? '(top level)' : out;
}

/** Reads and validates a configuration file (YAML or JSON: YAML reads both); every mistake is listed with its path. */
export function readDocument(file: string): ConfigDocument {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { uniqueKeys: true, prettyErrors: true });
  } catch (err) {
    throw new CliError(`${file} is not valid YAML or JSON: ${String((err as Error).message).split('\n')[0]}`);
  }
  const parsed = documentSchema.safeParse(raw);
  const problems = [...idProblems(raw), ...(parsed.success ? [] : parsed.error.issues)];
  if (!parsed.success || problems.length > 0) {
    const lines = problems.map((i) => `  ${fieldPath(i.path)}: ${i.message}`);
    throw new CliError(`${file} is not a valid cek-gateway configuration (${lines.length} problem${lines.length === 1 ? '' : 's'}):\n${lines.join('\n')}`);
  }
  return parsed.data;
}

function idProblems(raw: unknown): Array<{ path: PropertyKey[]; message: string }> {
  const extensions: unknown = typeof raw === 'object' && raw !== null && 'extensions' in raw ? raw.extensions : undefined;
  if (typeof extensions !== 'object' || extensions === null || Array.isArray(extensions)) return [];
  return Object.keys(extensions)
    .filter((id) => !EXTENSION_ID.test(id))
    .map((id) => ({ path: ['extensions', id], message: 'is not an extension ID (reverse-domain, e.g. com.example.weather)' }));
}

export function formatDocument(doc: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : stringifyYaml(doc, { lineWidth: 0 });
}

/** The name of the variable an exported secret is referenced by, e.g. `CEK_COM_EXAMPLE_WEATHER_CLIENT_SECRET`. */
export function envName(extensionId: string, ...parts: string[]): string {
  return ['CEK', extensionId, ...parts].map((p) => p.toUpperCase().replace(/[^A-Z0-9]+/g, '_')).join('_');
}

const ref = (name: string): string => `\${env:${name}}`;

/** The file form of an extension's state: secrets as `${env:NAME}` references, no dates or ids. */
export function toDocument(id: string, s: ExtensionState): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: s.name,
    language: s.language,
    verification: s.verification,
    allowPrivateTargets: s.allowPrivateTargets,
    messages: s.messages,
  };
  const l = s.accountLinking;
  if (l !== null) {
    const linking: Record<string, unknown> = { enabled: l.enabled };
    for (const f of ['loginUrl', 'tokenUrl', 'revocationUrl', 'issuer', 'clientId'] as const) if (l[f] !== null) linking[f] = l[f];
    if (l.clientSecret) linking['clientSecret'] = ref(envName(id, 'CLIENT_SECRET'));
    linking['scope'] = l.scope;
    linking['clientAuth'] = l.clientAuth;
    for (const f of ['loginPromptMessage', 'loginSuccessMessage'] as const) if (l[f] !== null) linking[f] = l[f];
    out['accountLinking'] = linking;
  }
  const g = s.gateway;
  const gateway: Record<string, unknown> = { requireApiKey: g.requireApiKey, usagePlan: g.usagePlan };
  if (g.freeMonthlyCalls !== null) gateway['freeMonthlyCalls'] = g.freeMonthlyCalls;
  if (g.messengerVerifyToken) gateway['messengerVerifyToken'] = ref(envName(id, 'MESSENGER_VERIFY_TOKEN'));
  gateway['keys'] = Object.entries(g.keys).map(([name, k]) => ({ name, enabled: k.enabled, usagePlan: k.usagePlan }));
  out['gateway'] = gateway;
  const actions: Record<string, unknown> = {};
  for (const [name, a] of Object.entries(s.actions)) {
    const action: Record<string, unknown> = { trigger: a.trigger, url: a.url, useOAuthToken: a.useOAuthToken, tokenSource: a.tokenSource, timeoutMs: a.timeoutMs };
    const headers = Object.keys(a.headers);
    // Static headers often carry the target's credentials: referenced, never printed.
    if (headers.length > 0) action['headers'] = Object.fromEntries(headers.map((h) => [h, ref(envName(id, 'ACTION', name, 'HEADER', h))]));
    actions[name] = action;
  }
  out['actions'] = actions;
  return out;
}

/** The write-only secrets of a desired extension, resolved from the environment. */
export interface DesiredSecrets {
  clientSecret?: string;
  messengerVerifyToken?: string;
}

export interface Desired {
  state: ExtensionState;
  secrets: DesiredSecrets;
}

/** Resolves `${env:NAME}` references, remembering the missing ones so all can be named in one error. */
export class EnvResolver {
  readonly missing: string[] = [];
  readonly #lookup: (name: string) => string | undefined;
  constructor(lookup: (name: string) => string | undefined) {
    this.#lookup = lookup;
  }

  /** A literal stays as it is; a reference becomes the variable's value ('' while it is missing). */
  resolve(value: string, path: ReadonlyArray<PropertyKey>): string {
    const m = ENV_REF.exec(value);
    if (m?.[1] === undefined) return value;
    const found = this.#lookup(m[1]);
    if (found === undefined || found === '') {
      this.missing.push(`${m[1]} (${fieldPath(path)})`);
      return '';
    }
    return found;
  }

  /** Throws, before anything is changed, when a referenced variable is not set. */
  check(): void {
    if (this.missing.length > 0) throw new CliError(`missing environment variable${this.missing.length === 1 ? '' : 's'} referenced by the file: ${this.missing.join(', ')}`);
  }
}

/**
 * The state a file asks for. A section the file leaves out (messages, accountLinking, gateway,
 * actions) stays as it is on the instance; inside a section, a field left out takes its default.
 */
export function desiredState(id: string, d: ExtensionDoc, current: ExtensionState, env: EnvResolver): Desired {
  const at = (...p: PropertyKey[]) => ['extensions', id, ...p];
  const secrets: DesiredSecrets = {};
  let messages = current.messages;
  if (d.messages !== undefined) {
    messages = {};
    for (const [k, v] of Object.entries(d.messages)) if (typeof v === 'string') messages[k] = v;
  }
  let accountLinking = current.accountLinking;
  const l = d.accountLinking;
  if (l !== undefined) {
    if (l.clientSecret !== undefined) secrets.clientSecret = env.resolve(l.clientSecret, at('accountLinking', 'clientSecret'));
    accountLinking = {
      enabled: l.enabled,
      loginUrl: l.loginUrl ?? null,
      tokenUrl: l.tokenUrl ?? null,
      revocationUrl: l.revocationUrl ?? null,
      issuer: l.issuer ?? null,
      // The admin API cannot remove a client id, only replace it: a file without one keeps the instance's.
      clientId: l.clientId ?? current.accountLinking?.clientId ?? null,
      clientSecret: l.clientSecret !== undefined,
      scope: l.scope ?? '',
      clientAuth: l.clientAuth ?? 'basic',
      loginPromptMessage: l.loginPromptMessage ?? null,
      loginSuccessMessage: l.loginSuccessMessage ?? null,
    };
  }
  let gateway = current.gateway;
  const g = d.gateway;
  if (g !== undefined) {
    if (g.messengerVerifyToken !== undefined) secrets.messengerVerifyToken = env.resolve(g.messengerVerifyToken, at('gateway', 'messengerVerifyToken'));
    const keys: Record<string, KeyState> = {};
    for (const k of g.keys ?? []) keys[k.name] = { enabled: k.enabled ?? true, usagePlan: cleanPlan(k.usagePlan) };
    gateway = {
      requireApiKey: g.requireApiKey ?? false,
      usagePlan: cleanPlan(g.usagePlan),
      freeMonthlyCalls: g.freeMonthlyCalls ?? null,
      messengerVerifyToken: g.messengerVerifyToken !== undefined,
      keys,
    };
  }
  let actions = current.actions;
  if (d.actions !== undefined) {
    actions = {};
    for (const [name, a] of Object.entries(d.actions)) {
      const headers: Record<string, string> = {};
      for (const [h, v] of Object.entries(normaliseHeaders(a.headers))) headers[h] = env.resolve(v, at('actions', name, 'headers', h));
      const action: ActionState = { trigger: cleanTrigger(a.trigger), url: a.url, useOAuthToken: a.useOAuthToken, tokenSource: a.tokenSource, timeoutMs: a.timeoutMs, headers: sortedRecord(headers) };
      actions[name] = action;
    }
  }
  return {
    state: {
      name: d.name ?? current.name,
      language: d.language ?? current.language,
      verification: d.verification ?? current.verification,
      allowPrivateTargets: d.allowPrivateTargets ?? current.allowPrivateTargets,
      messages,
      accountLinking,
      gateway,
      actions,
    },
    secrets,
  };
}

/** A trigger without the `undefined` fields zod leaves, so it compares equal to the stored one. */
function cleanTrigger(t: z.infer<typeof actionInput>['trigger']): ActionState['trigger'] {
  if (t.type !== 'EventRequest') return t;
  return { type: 'EventRequest', ...(t.namespace === undefined ? {} : { namespace: t.namespace }), ...(t.name === undefined ? {} : { name: t.name }) };
}
