import type { MessageText } from '../extensions/messages.js';
import type { z } from 'zod';
import { normaliseHeaders, type actionInput } from '../actions/model.js';
import { cleanPlan } from '../gateway/model.js';
import type { ExtensionDoc } from './document.js';
import type { EnvResolver } from './secrets.js';
import { namedRecord, sortedRecord, type ActionState, type ExtensionState, type KeyState } from './state.js';

/** The write-only secrets of a desired extension, resolved from the environment. */
export interface DesiredSecrets {
  clientSecret?: string;
  messengerVerifyToken?: string;
}

export interface Desired {
  state: ExtensionState;
  secrets: DesiredSecrets;
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
    messages = namedRecord();
    for (const [k, v] of Object.entries(d.messages)) if (v !== null && v !== undefined) messages[k] = v;
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
      keepAliveHours: l.keepAliveHours ?? null,
    };
  }
  let gateway = current.gateway;
  const g = d.gateway;
  if (g !== undefined) {
    if (g.messengerVerifyToken !== undefined) secrets.messengerVerifyToken = env.resolve(g.messengerVerifyToken, at('gateway', 'messengerVerifyToken'));
    const keys = namedRecord<KeyState>();
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
    actions = namedRecord();
    for (const [name, a] of Object.entries(d.actions)) {
      const headers = namedRecord<string>();
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
      locales: d.locales === undefined ? current.locales : cleanLocales(d.locales),
      variantSeed: d.variantSeed === undefined ? current.variantSeed : d.variantSeed,
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

/** The locales of a file as the instance shows them: no empty or null entries. */
function cleanLocales(locales: NonNullable<ExtensionDoc['locales']>): ExtensionState['locales'] {
  const out: ExtensionState['locales'] = namedRecord();
  for (const [locale, set] of Object.entries(locales)) {
    if (set === null || set === undefined) continue;
    const messages = namedRecord<MessageText>();
    for (const [k, v] of Object.entries(set)) if (v !== null && v !== undefined) messages[k] = v;
    out[locale] = messages;
  }
  return out;
}
