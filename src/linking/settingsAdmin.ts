import type { ExtensionRecord } from '../extensions/model.js';
import type { ExtensionRegistry } from '../extensions/registry.js';
import { AppError } from '../http/errors.js';
import { parseInput } from '../http/validate.js';
import type { Keyring } from '../security/keyring.js';
import { targetUrlProblem } from '../security/outbound.js';
import type { LinkingHealth, Misconfiguration } from './health.js';
import { clientSecretContext } from './oauthClient.js';
import { incompleteSettings, SECTION, settingsInput, settingsOf, type LinkingSettings, type SettingsInput } from './settings.js';

/** An extension's account-linking server settings as the admin API and pages manage them. */
export class SettingsAdmin {
  readonly #registry: ExtensionRegistry;
  readonly #keyring: Keyring;
  readonly #health: LinkingHealth;
  readonly #production: boolean;
  readonly #schema: ReturnType<typeof settingsInput>;

  constructor(d: { registry: ExtensionRegistry; keyring: Keyring; health: LinkingHealth; production: boolean }) {
    this.#registry = d.registry;
    this.#keyring = d.keyring;
    this.#health = d.health;
    this.#production = d.production;
    this.#schema = settingsInput(d.production);
  }

  /** The extension's account linking is refused by its provider under the current settings. */
  misconfiguration(ext: ExtensionRecord): Promise<Misconfiguration | undefined> {
    return this.#health.read(ext.extensionId, settingsOf(ext)?.updatedAt);
  }

  /**
   * Validates and saves an extension's server settings with merge semantics: an omitted field keeps
   * its value, `null` clears it; `clientSecret` is write-only and sealed. Throws 400 `invalid_body`
   * naming each field (including settings that would be enabled but incomplete).
   */
  async save(extensionId: string, body: unknown): Promise<{ extension: ExtensionRecord; settings: LinkingSettings; previous: LinkingSettings | undefined }> {
    const ext = await this.#registry.get(extensionId);
    const input = parseInput(this.#schema, body);
    const sealedSecret = typeof input.clientSecret === 'string' ? this.#keyring.seal(input.clientSecret, clientSecretContext(ext.extensionId)) : undefined;
    // Merged with the current record (it may run again if another change came in between).
    let next: LinkingSettings | undefined;
    let previous: LinkingSettings | undefined;
    const extension = await this.#registry.updateSection(ext.extensionId, SECTION, (current) => {
      previous = settingsOf(current);
      next = mergeSettings(current, input, sealedSecret, this.#production);
      return next;
    });
    // New settings deserve a fresh try: the next refresh tells whether they work.
    await this.#health.healed(ext.extensionId, 'settings saved');
    return { extension, settings: next as LinkingSettings, previous };
  }
}

function mergeSettings(ext: ExtensionRecord, input: SettingsInput, sealedSecret: string | undefined, production: boolean): LinkingSettings {
  const prev = settingsOf(ext);
  const next: LinkingSettings = {
    enabled: input.enabled,
    scope: input.scope ?? prev?.scope ?? '',
    clientAuth: input.clientAuth ?? prev?.clientAuth ?? 'basic',
    updatedAt: new Date().toISOString(),
  };
  for (const k of ['loginUrl', 'tokenUrl', 'revocationUrl', 'issuer', 'loginPromptMessage', 'loginSuccessMessage'] as const) {
    const v = input[k];
    const value = v === undefined ? prev?.[k] : (v ?? undefined);
    if (value !== undefined) next[k] = value;
  }
  const keepAliveHours = input.keepAliveHours === undefined ? prev?.keepAliveHours : (input.keepAliveHours ?? undefined);
  if (keepAliveHours !== undefined) next.keepAliveHours = keepAliveHours;
  const clientId = input.clientId ?? prev?.clientId;
  if (clientId !== undefined) next.clientId = clientId;
  if (input.clientSecret === undefined) {
    if (prev?.clientSecretSealed !== undefined) next.clientSecretSealed = prev.clientSecretSealed;
  } else if (sealedSecret !== undefined) {
    next.clientSecretSealed = sealedSecret;
  }
  const problems = incompleteSettings(next);
  // The URLs the gateway itself calls follow the action targets' policy (the login URL is opened
  // by the user's browser, not by us).
  const mode = { production, allowPrivateTargets: ext.allowPrivateTargets === true };
  for (const k of ['tokenUrl', 'revocationUrl', 'issuer'] as const) {
    const v = next[k];
    const problem = v === undefined || !URL.canParse(v) ? undefined : targetUrlProblem(new URL(v), mode);
    if (problem !== undefined) problems.push({ path: k, message: problem });
  }
  if (next.scope.split(' ').includes('openid') && next.issuer === undefined) {
    problems.push({ path: 'issuer', message: 'is required when scope includes "openid", so the id_token can be validated' });
  }
  if (problems.length > 0) {
    throw new AppError('invalid_body', `Invalid input: ${problems[0]?.path} ${problems[0]?.message}.`, { details: problems });
  }
  return next;
}
