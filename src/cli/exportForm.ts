import { envName, ref } from './secrets.js';
import { namedRecord, type ExtensionState } from './state.js';

/** The file form of an extension's state: secrets as `${env:NAME}` references, no dates or ids. */
export function toDocument(id: string, s: ExtensionState): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: s.name,
    language: s.language,
    verification: s.verification,
    allowPrivateTargets: s.allowPrivateTargets,
    messages: s.messages,
  };
  if (Object.keys(s.locales).length > 0) out['locales'] = s.locales;
  if (s.variantSeed !== null) out['variantSeed'] = s.variantSeed;
  const l = s.accountLinking;
  if (l !== null) {
    const linking: Record<string, unknown> = { enabled: l.enabled };
    for (const f of ['loginUrl', 'tokenUrl', 'revocationUrl', 'issuer', 'clientId'] as const) if (l[f] !== null) linking[f] = l[f];
    if (l.clientSecret) linking['clientSecret'] = ref(envName(id, 'CLIENT_SECRET'));
    linking['scope'] = l.scope;
    linking['clientAuth'] = l.clientAuth;
    for (const f of ['loginPromptMessage', 'loginSuccessMessage', 'keepAliveHours'] as const) if (l[f] !== null) linking[f] = l[f];
    out['accountLinking'] = linking;
  }
  const g = s.gateway;
  const gateway: Record<string, unknown> = { requireApiKey: g.requireApiKey, usagePlan: g.usagePlan };
  if (g.freeMonthlyCalls !== null) gateway['freeMonthlyCalls'] = g.freeMonthlyCalls;
  if (g.messengerVerifyToken) gateway['messengerVerifyToken'] = ref(envName(id, 'MESSENGER_VERIFY_TOKEN'));
  gateway['keys'] = Object.entries(g.keys).map(([name, k]) => ({ name, enabled: k.enabled, usagePlan: k.usagePlan }));
  out['gateway'] = gateway;
  const actions = namedRecord<unknown>();
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
