import { existsSync } from 'node:fs';
import { FORWARDING_SECTION, forwardingSecretContext } from './actions/signing.js';
import { secretContext } from './extensions/registry.js';
import { clientSecretContext } from './linking/oauthClient.js';
import { SECTION as LINKING_SECTION } from './linking/settings.js';
import { contextFor as tokenContext } from './linking/vault.js';
import { devSecretsFile, devKeyId } from './config/devSecrets.js';
import type { Keyring } from './security/keyring.js';
import { WEBHOOKS_SECTION, webhookSecretContext } from './webhooks/model.js';
import { checkSealedKeys, resealAll, type JsonPath, type ResealReport, type SealedFamily } from './security/reseal.js';
import type { Store } from './store/store.js';
import { prefixOf } from './store/keys.js';

/**
 * Every durable record that holds sealed values, with the context each value is sealed with: what
 * the start-up key check reads and `npm run reseal` rewrites. Ephemeral sealed values (a pairing
 * code's "say it again" copy, a flash message in an admin session) expire within minutes and are
 * not listed. A feature that seals a new durable field adds it here.
 */
export const SEALED_FAMILIES: readonly SealedFamily[] = [
  {
    name: 'extensions (Chatbot Secrets, OAuth client secrets, forwarding and webhook secrets)',
    prefix: prefixOf('extension'),
    contextOf(key: string, path: JsonPath): string | undefined {
      const id = key.slice(prefixOf('extension').length);
      const [first, second, third] = path;
      if (first === 'secret' && second === 'sealed' && path.length === 2) return secretContext(id);
      if (first === 'previousSecret' && second === 'sealed' && path.length === 2) return secretContext(id);
      if (first === 'previousSecrets' && typeof second === 'number' && third === 'sealed' && path.length === 3) return secretContext(id);
      if (first === 'sections' && second === LINKING_SECTION && third === 'clientSecretSealed' && path.length === 3) return clientSecretContext(id);
      if (first === 'sections' && second === FORWARDING_SECTION) {
        const [, , , fourth, fifth, sixth] = path;
        if (third === 'secret' && fourth === 'sealed' && path.length === 4) return forwardingSecretContext(id);
        if (third === 'previous' && typeof fourth === 'number' && fifth === 'sealed' && sixth === undefined && path.length === 5) return forwardingSecretContext(id);
      }
      // sections.webhooks.endpoints.<webhookId>.secrets.secret.sealed, or …secrets.previous.<n>.sealed
      if (first === 'sections' && second === WEBHOOKS_SECTION && third === 'endpoints' && path[4] === 'secrets') {
        const webhookId = path[3];
        if (typeof webhookId !== 'string') return undefined;
        if (path[5] === 'secret' && path[6] === 'sealed' && path.length === 7) return webhookSecretContext(id, webhookId);
        if (path[5] === 'previous' && typeof path[6] === 'number' && path[7] === 'sealed' && path.length === 8) return webhookSecretContext(id, webhookId);
      }
      return undefined;
    },
  },
  {
    name: "linked users' tokens",
    prefix: prefixOf('linkedToken'),
    contextOf(key: string, path: JsonPath): string | undefined {
      // tok:<extensionId>:<userId>; extension IDs have no ":", user IDs may.
      const rest = key.slice(prefixOf('linkedToken').length);
      const colon = rest.indexOf(':');
      if (colon < 0 || path.length !== 1 || path[0] !== 'sealed') return undefined;
      return tokenContext(rest.slice(0, colon), rest.slice(colon + 1));
    },
  },
];

/**
 * Refuses to start when sealed records name a key that is not configured, saying which key ids
 * and where the development key is (the usual case: ENCRYPTION_KEY set on data sealed with it).
 */
export async function checkStoreKeys(store: Store, keyring: Keyring, dataDir: string): Promise<void> {
  const file = devSecretsFile(dataDir);
  const devId = existsSync(file) ? devKeyId(file) : undefined;
  const hint = (missing: readonly string[]): string =>
    devId !== undefined && missing.includes(devId)
      ? `Key id ${devId} is the development key: it is "encryptionKey" in ${file}.`
      : `A development key is kept in ${file} ("encryptionKey") when ENCRYPTION_KEY is not set; an older key is wherever it was kept.`;
  await checkSealedKeys(store, keyring, SEALED_FAMILIES, hint);
}

/** `npm run reseal`: every durable sealed record under the current key. */
export function resealStore(store: Store, keyring: Keyring): Promise<ResealReport> {
  return resealAll(store, keyring, SEALED_FAMILIES);
}

/**
 * Re-seals the store and says what happened, line by line (`npm run reseal` and `cek-gateway reseal`).
 * Returns the exit code: 1 while anything is left under an old key.
 */
export async function reportReseal(store: Store, keyring: Keyring, write: (line: string) => void): Promise<number> {
  const report = await resealStore(store, keyring);
  write(`reseal: ${report.records} records read, ${report.resealed} rewritten under key ${keyring.currentKeyId}.`);
  for (const u of report.unreadable) write(`  cannot open ${u.key} (key ${u.keyId}): ${u.reason}`);
  if (report.remaining > 0) write(`  ${report.remaining} values were written under an old key meanwhile: run reseal again.`);
  if (report.unreadable.length > 0 || report.remaining > 0) {
    write('Keep the old keys in ENCRYPTION_KEYS_PREVIOUS until reseal reports nothing left.');
    return 1;
  }
  write('Every sealed record is under the current key: ENCRYPTION_KEYS_PREVIOUS can be emptied.');
  return 0;
}
