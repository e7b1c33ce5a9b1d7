import type { MessageText } from '../extensions/messages.js';
import type { formatAction } from '../admin/api/actionsRoutes.js';
import type { ExtensionView } from '../admin/api/formatExtension.js';
import type { GatewaySettingsView, KeyView } from '../admin/api/formatGateway.js';
import type { formatSettings } from '../linking/settings.js';
import type { ActionTrigger, TokenSource } from '../actions/model.js';
import type { UsagePlan } from '../gateway/model.js';
import type { AdminClient } from './adminClient.js';
import { RESERVED_NAMES } from '../http/validate.js';
import { CliError } from './errors.js';

/**
 * An extension's configuration in one comparable shape, read from an instance (`readInstance`) or
 * built from a file (`document.ts`). Secrets the API never shows (the account-linking client
 * secret, the messenger verify token) are only "set or not" here; static header values are the
 * values themselves (the API returns them), so a changed one is noticed.
 */
export interface ExtensionState {
  name: string;
  language: string;
  verification: string;
  allowPrivateTargets: boolean;
  /** The messages the developer wrote (a text or its variants); the rest are the language's defaults. */
  messages: Record<string, MessageText>;
  /** Messages per locale, as written. */
  locales: Record<string, Record<string, MessageText>>;
  variantSeed: number | null;
  /** `null`: account linking was never configured. */
  accountLinking: LinkingState | null;
  gateway: GatewayState;
  actions: Record<string, ActionState>;
}

export interface LinkingState {
  enabled: boolean;
  loginUrl: string | null;
  tokenUrl: string | null;
  revocationUrl: string | null;
  issuer: string | null;
  clientId: string | null;
  clientSecret: boolean;
  scope: string;
  clientAuth: 'basic' | 'body';
  loginPromptMessage: string | null;
  loginSuccessMessage: string | null;
  /** `null`: keep-alive refresh off. */
  keepAliveHours: number | null;
}

export interface GatewayState {
  requireApiKey: boolean;
  usagePlan: UsagePlan | null;
  /** `null`: the service-wide default. */
  freeMonthlyCalls: number | null;
  messengerVerifyToken: boolean;
  /** By key name, in creation order. */
  keys: Record<string, KeyState>;
}

export interface KeyState {
  enabled: boolean;
  usagePlan: UsagePlan | null;
}

export interface ActionState {
  trigger: ActionTrigger;
  url: string;
  useOAuthToken: boolean;
  tokenSource: TokenSource;
  timeoutMs: number;
  headers: Record<string, string>;
}

/** What the instance holds, with the ids the API needs to change it. */
export interface InstanceExtension {
  id: string;
  state: ExtensionState;
  /** Key name → key id. */
  keyIds: Record<string, string>;
}

type ActionView = ReturnType<typeof formatAction>;
type LinkingView = ReturnType<typeof formatSettings>;

/** Every extension of the instance (or the one named), in id order. */
export async function readInstance(api: AdminClient, only?: string): Promise<InstanceExtension[]> {
  let views: ExtensionView[];
  if (only !== undefined) {
    const one = await api.getOptional<ExtensionView>(`/extensions/${encodeURIComponent(only)}`);
    if (one === undefined) throw new CliError(`extension "${only}" does not exist on ${api.baseUrl}`);
    views = [one];
  } else {
    const listed = await api.get<{ extensions: ExtensionView[]; skipped?: Array<{ extensionId: string; error: { message: string } }> }>('/extensions');
    // An extension this instance cannot read (written by a newer version, a rolling upgrade) would
    // be missing from an export, and apply would try to create it.
    const skipped = listed.skipped ?? [];
    if (skipped.length > 0) {
      throw new CliError(`${api.baseUrl} cannot read ${skipped.map((s) => `"${s.extensionId}"`).join(', ')}: ${skipped[0]?.error.message ?? ''}`);
    }
    views = listed.extensions;
  }
  const out: InstanceExtension[] = [];
  for (const v of [...views].sort((a, b) => (a.extensionId < b.extensionId ? -1 : 1))) out.push(await readExtension(api, v));
  return out;
}

/** One extension by id, or `undefined` when it does not exist. */
export async function readOne(api: AdminClient, id: string): Promise<InstanceExtension | undefined> {
  const v = await api.getOptional<ExtensionView>(`/extensions/${encodeURIComponent(id)}`);
  return v === undefined ? undefined : readExtension(api, v);
}

async function readExtension(api: AdminClient, v: ExtensionView): Promise<InstanceExtension> {
  const base = `/extensions/${encodeURIComponent(v.extensionId)}`;
  const [actions, linking, gateway, keys] = await Promise.all([
    api.get<{ actions: ActionView[] }>(`${base}/actions`),
    api.get<LinkingView>(`${base}/account-linking`),
    api.get<GatewaySettingsView>(`${base}/gateway`),
    api.get<{ keys: KeyView[] }>(`${base}/keys`),
  ]);
  const messages = namedRecord<MessageText>();
  const resolved: Record<string, MessageText> = v.messages;
  for (const k of v.customMessages) {
    const text = Object.hasOwn(resolved, k) ? resolved[k] : undefined;
    if (text !== undefined) messages[k] = text;
  }
  const keyStates = namedRecord<KeyState>();
  const keyIds = namedRecord<string>();
  for (const k of keys.keys) {
    // Keys are matched by name; two keys with one name cannot be told apart by a file.
    if (Object.hasOwn(keyIds, k.name)) throw new CliError(`extension "${v.extensionId}" has two API keys named "${k.name}": rename one (keys are matched by name)`);
    // Saved before these names were refused: a file cannot name it (README "CLI").
    if (RESERVED_NAMES.has(k.name)) throw new CliError(`extension "${v.extensionId}" has an API key named "${k.name}", which a configuration file cannot name: rename it (keys are matched by name)`);
    keyIds[k.name] = k.id;
    keyStates[k.name] = { enabled: k.enabled, usagePlan: normalPlan(k.usagePlan) };
  }
  const actionStates = namedRecord<ActionState>();
  for (const a of actions.actions) {
    if (RESERVED_NAMES.has(a.name))
      throw new CliError(`extension "${v.extensionId}" has an action named "${a.name}", which a configuration file cannot name: save it under another name and delete it`);
    actionStates[a.name] = { trigger: a.trigger, url: a.url, useOAuthToken: a.useOAuthToken, tokenSource: a.tokenSource, timeoutMs: a.timeoutMs, headers: sortedRecord(a.headers) };
  }
  return {
    id: v.extensionId,
    keyIds,
    state: {
      name: v.name,
      language: v.language,
      verification: v.verification,
      allowPrivateTargets: v.allowPrivateTargets,
      messages,
      locales: v.locales,
      variantSeed: v.variantSeed,
      accountLinking:
        linking.updatedAt === null
          ? null
          : {
              enabled: linking.enabled,
              loginUrl: linking.loginUrl,
              tokenUrl: linking.tokenUrl,
              revocationUrl: linking.revocationUrl,
              issuer: linking.issuer,
              clientId: linking.clientId,
              clientSecret: linking.clientSecretSet,
              scope: linking.scope,
              clientAuth: linking.clientAuth,
              loginPromptMessage: linking.loginPromptMessage,
              loginSuccessMessage: linking.loginSuccessMessage,
              keepAliveHours: linking.keepAliveHours,
            },
      gateway: {
        requireApiKey: gateway.requireApiKey,
        usagePlan: normalPlan(gateway.usagePlan),
        freeMonthlyCalls: gateway.freeMonthlyCallsOverridden ? gateway.freeMonthlyCalls : null,
        messengerVerifyToken: gateway.messengerVerifyTokenSet,
        keys: keyStates,
      },
      actions: actionStates,
    },
  };
}

/** The state of an extension that does not exist yet: what creating it gives. */
export function newExtensionState(id: string): ExtensionState {
  return {
    name: id,
    language: 'ko',
    verification: 'any',
    allowPrivateTargets: false,
    messages: namedRecord(),
    locales: namedRecord(),
    variantSeed: null,
    accountLinking: null,
    gateway: { requireApiKey: false, usagePlan: null, freeMonthlyCalls: null, messengerVerifyToken: false, keys: namedRecord() },
    actions: namedRecord(),
  };
}

/** A plan with its fields in one order and `quotaCondition` sorted, as the service stores it. */
export function normalPlan(p: UsagePlan | null | undefined): UsagePlan | null {
  if (p === null || p === undefined) return null;
  const out: UsagePlan = {};
  if (p.rateRps !== undefined) out.rateRps = p.rateRps;
  if (p.dayQuota !== undefined) out.dayQuota = p.dayQuota;
  if (p.monthQuota !== undefined) out.monthQuota = p.monthQuota;
  if (p.quotaCondition !== undefined) out.quotaCondition = [...p.quotaCondition].sort();
  return out;
}

export function sortedRecord<T>(r: Record<string, T>): Record<string, T> {
  const out = namedRecord<T>();
  for (const [k, v] of Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = v;
  return out;
}

/**
 * A record of names (API keys, actions, headers, messages) without a prototype: a name such as
 * `toString` or `constructor` reads as its own entry or as nothing, never as Object's method, and
 * assigning `__proto__` adds an entry instead of changing the prototype.
 */
export function namedRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}
