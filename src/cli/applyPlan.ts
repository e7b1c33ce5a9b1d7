import type { MessageText } from '../extensions/messages.js';
import type { AdminClient } from './adminClient.js';
import type { Desired } from './desired.js';
import { CliError } from './errors.js';
import { diffState, sameValue, secretReplacements, type Change, type ExtensionPlan } from './plan.js';
import { readOne, type ExtensionState, type InstanceExtension } from './state.js';
import { messageOf } from '../http/errorInfo.js';

const EXTENSION_FIELDS = new Set(['name', 'language', 'verification', 'allowPrivateTargets', 'messages', 'locales', 'variantSeed']);
const GATEWAY_FIELDS = new Set(['requireApiKey', 'usagePlan', 'freeMonthlyCalls', 'messengerVerifyToken']);

/**
 * Makes one extension match its plan through the admin API: the extension's own fields, then
 * account linking, gateway settings, API keys and actions (linking first: an action may need the
 * user's token). Each step is one API call that the instance applies atomically; a failure stops
 * at that step and names it (the steps before it stay applied; running apply again finishes the job).
 * Returns how many API writes were made.
 */
export async function applyPlan(api: AdminClient, plan: ExtensionPlan, o: { prune: boolean; replaceSecrets: boolean }): Promise<number> {
  const prune = o.prune;
  const path = `/extensions/${encodeURIComponent(plan.id)}`;
  let writes = 0;
  const write: Write = async <T>(what: string, method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown): Promise<T | undefined> => {
    try {
      const result = await api.send<T>(method, url, body);
      writes += 1;
      return result;
    } catch (err) {
      const done = writes === 0 ? 'nothing of it was changed' : `${writes} earlier change${writes === 1 ? ' was' : 's were'} applied`;
      throw new CliError(`${plan.id}: ${what} failed (${done}; fix and apply again): ${messageOf(err)}`);
    }
  };

  if (plan.action === 'extra') {
    if (prune) await write('deleting the extension', 'DELETE', path);
    return writes;
  }
  const desired: Desired | undefined = plan.desired;
  if (desired === undefined) return writes;
  let current: InstanceExtension | undefined = plan.current;
  if (plan.action === 'create') {
    const s = desired.state;
    await write('creating the extension', 'POST', '/extensions', {
      extensionId: plan.id,
      name: s.name,
      language: s.language,
      verification: s.verification,
      allowPrivateTargets: s.allowPrivateTargets,
      messages: s.messages,
      locales: s.locales,
      variantSeed: s.variantSeed,
    });
    current = await readOne(api, plan.id);
    if (current === undefined) throw new CliError(`${plan.id}: created, but the instance does not show it`);
  }
  if (current === undefined) return writes;
  const changes = diffState(current.state, desired.state);
  if (o.replaceSecrets) changes.push(...secretReplacements(current.state, desired));
  const touched = (pred: (c: Change) => boolean) => changes.some(pred);
  const cur = current.state;
  const want = desired.state;

  if (touched((c) => EXTENSION_FIELDS.has(c.path[0] ?? ''))) {
    const body: Record<string, unknown> = {};
    for (const f of ['name', 'language', 'verification', 'allowPrivateTargets'] as const) if (cur[f] !== want[f]) body[f] = want[f];
    if (touched((c) => c.path[0] === 'messages')) {
      // A message left out of the file goes back to the language's default (null).
      const messages: Record<string, MessageText | null> = { ...want.messages };
      for (const k of Object.keys(cur.messages)) if (!Object.hasOwn(want.messages, k)) messages[k] = null;
      body['messages'] = messages;
    }
    if (touched((c) => c.path[0] === 'locales')) {
      // A locale left out of the file is removed; one in it is replaced as a whole.
      const locales: Record<string, Record<string, MessageText | null> | null> = {};
      for (const locale of Object.keys(cur.locales)) if (!Object.hasOwn(want.locales, locale)) locales[locale] = null;
      for (const [locale, set] of Object.entries(want.locales)) {
        const next: Record<string, MessageText | null> = { ...set };
        for (const k of Object.keys(own(cur.locales, locale) ?? {})) if (!Object.hasOwn(set, k)) next[k] = null;
        locales[locale] = next;
      }
      body['locales'] = locales;
    }
    if (cur.variantSeed !== want.variantSeed) body['variantSeed'] = want.variantSeed;
    await write('updating the extension', 'PATCH', path, body);
  }

  const linking = want.accountLinking;
  if (linking !== null && touched((c) => c.path[0] === 'accountLinking')) {
    const body: Record<string, unknown> = {
      enabled: linking.enabled,
      loginUrl: linking.loginUrl,
      tokenUrl: linking.tokenUrl,
      revocationUrl: linking.revocationUrl,
      issuer: linking.issuer,
      scope: linking.scope,
      clientAuth: linking.clientAuth,
      loginPromptMessage: linking.loginPromptMessage,
      loginSuccessMessage: linking.loginSuccessMessage,
      keepAliveHours: linking.keepAliveHours,
    };
    if (linking.clientId !== null) body['clientId'] = linking.clientId;
    // Write-only: sent when it is being set, replaced or removed; an unchanged "set" keeps the stored one.
    const had = cur.accountLinking?.clientSecret === true;
    if (linking.clientSecret && (!had || o.replaceSecrets)) body['clientSecret'] = desired.secrets.clientSecret;
    if (!linking.clientSecret && had) body['clientSecret'] = null;
    await write('saving the account-linking settings', 'PUT', `${path}/account-linking`, body);
  }

  const gatewayChanges = changes.filter((c) => c.path[0] === 'gateway' && GATEWAY_FIELDS.has(c.path[1] ?? ''));
  if (gatewayChanges.length > 0) {
    const body: Record<string, unknown> = {};
    for (const f of ['requireApiKey', 'usagePlan', 'freeMonthlyCalls'] as const) if (gatewayChanges.some((c) => c.path[1] === f)) body[f] = want.gateway[f];
    if (gatewayChanges.some((c) => c.path[1] === 'messengerVerifyToken')) body['messengerVerifyToken'] = want.gateway.messengerVerifyToken ? desired.secrets.messengerVerifyToken : null;
    await write('saving the gateway settings', 'PUT', `${path}/gateway`, body);
  }

  await applyKeys(cur, want, current.keyIds, prune, path, write);
  await applyActions(cur, want, prune, path, write);
  return writes;
}

/** An entry by name, never one inherited from Object (`constructor`, `toString`). */
const own = <T>(r: Record<string, T>, name: string): T | undefined => (Object.hasOwn(r, name) ? r[name] : undefined);

type Write = <T = unknown>(what: string, method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown) => Promise<T | undefined>;

async function applyKeys(cur: ExtensionState, want: ExtensionState, ids: Record<string, string>, prune: boolean, path: string, write: Write): Promise<void> {
  for (const [name, k] of Object.entries(want.gateway.keys)) {
    const have = own(cur.gateway.keys, name);
    const id = own(ids, name);
    if (have === undefined || id === undefined) {
      // The key's values are made by the instance and shown only in this response: not printed
      // (README "CLI": read them by regenerating the key in the admin pages).
      const created = await write<{ id?: string }>(`creating API key "${name}"`, 'POST', `${path}/keys`, { name, usagePlan: k.usagePlan });
      if (!k.enabled && created?.id !== undefined) await write(`disabling API key "${name}"`, 'PATCH', `${path}/keys/${encodeURIComponent(created.id)}`, { enabled: false });
    } else if (!sameValue(have, k)) {
      await write(`updating API key "${name}"`, 'PATCH', `${path}/keys/${encodeURIComponent(id)}`, { enabled: k.enabled, usagePlan: k.usagePlan });
    }
  }
  if (!prune) return;
  for (const name of Object.keys(cur.gateway.keys)) {
    const id = own(ids, name);
    if (!Object.hasOwn(want.gateway.keys, name) && id !== undefined) await write(`deleting API key "${name}"`, 'DELETE', `${path}/keys/${encodeURIComponent(id)}`);
  }
}

async function applyActions(cur: ExtensionState, want: ExtensionState, prune: boolean, path: string, write: Write): Promise<void> {
  // Deletions first: a new action may take over the trigger of one that goes.
  if (prune) {
    for (const name of Object.keys(cur.actions)) {
      if (!Object.hasOwn(want.actions, name)) await write(`deleting action "${name}"`, 'DELETE', `${path}/actions/${encodeURIComponent(name)}`);
    }
  }
  for (const [name, a] of Object.entries(want.actions)) {
    const have = own(cur.actions, name);
    if (have !== undefined && sameValue(have, a)) continue;
    await write(`saving action "${name}"`, 'PUT', `${path}/actions/${encodeURIComponent(name)}`, a);
  }
}
