import type { ExtensionRecord } from '../extensions/model.js';
import type { ExtensionRegistry } from '../extensions/registry.js';
import type { Keyring } from '../security/keyring.js';
import { newSecret, openKeys, previousExpiresAt, rotatedSecrets, signatureHeader, type SigningKeys, type SigningSecrets } from '../security/standardWebhooks.js';

/**
 * Signed forwarding (issue 16): every forward of an extension that has a forwarding secret carries
 * a Standard Webhooks signature (`security/standardWebhooks.ts`), so a target can refuse calls
 * that did not come through this gateway, also for actions that send no user token:
 *
 *   webhook-id: <the request id>          webhook-timestamp: <unix seconds>
 *   webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")>
 *
 * After a rotation the previous secret signs too (a second `v1,…` in the header, space-separated)
 * until its grace period ends, so targets can switch at their own pace.
 */
export const FORWARDING_SECTION = 'forwarding';

export type ForwardingSection = SigningSecrets;

declare module '../extensions/model.js' {
  interface ExtensionSections {
    forwarding: ForwardingSection;
  }
}

/** The sealing context (AAD) of an extension's forwarding secrets (also read by `npm run reseal`). */
export const forwardingSecretContext = (extensionId: string): string => `forwarding-secret:${extensionId}`;
const sealContext = forwardingSecretContext;

/** What the admin API shows of the forwarding secret: never the secret. */
export interface ForwardingSecretInfo {
  configured: boolean;
  createdAt: string | null;
  /** When the last of the earlier secrets stops signing, or null. */
  previousExpiresAt: string | null;
}

export function forwardingInfo(record: ExtensionRecord, now = Date.now()): ForwardingSecretInfo {
  const s = record.sections[FORWARDING_SECTION];
  if (s === undefined) return { configured: false, createdAt: null, previousExpiresAt: null };
  return { configured: true, createdAt: s.secret.createdAt, previousExpiresAt: previousExpiresAt(s, now) };
}

/**
 * Creates the extension's forwarding secret, or replaces it: the old one keeps signing for
 * `graceSeconds` (default 1 day; 0 ends every earlier one at once). Returns the new secret, which
 * is shown this once.
 */
export async function rotateForwardingSecret(registry: ExtensionRegistry, keyring: Keyring, extensionId: string, graceSeconds = 86_400): Promise<{ secret: string; record: ExtensionRecord }> {
  const secret = newSecret();
  const sealed = keyring.seal(secret, sealContext(extensionId));
  const record = await registry.updateSection(extensionId, FORWARDING_SECTION, (current) => rotatedSecrets(current.sections[FORWARDING_SECTION], sealed, graceSeconds));
  return { secret, record };
}

/** Stops signing forwards (the secret and every earlier one are forgotten). */
export async function removeForwardingSecret(registry: ExtensionRegistry, extensionId: string): Promise<ExtensionRecord> {
  return registry.updateSection(extensionId, FORWARDING_SECTION, () => undefined);
}

/** Signs forwards on the request path; opening the sealed secrets is cached per cached record. */
export class ForwardSigner {
  readonly #keyring: Keyring;
  readonly #keys = new WeakMap<ExtensionRecord, SigningKeys | null>();

  constructor(keyring: Keyring) {
    this.#keyring = keyring;
  }

  /**
   * The three signature headers for one forward, appended to `headers` (a flat list); nothing when
   * the extension has no forwarding secret, or when it cannot be opened (a lost key: logged by the
   * caller's metrics as unsigned; the forward goes on, as it would have without a secret).
   */
  appendHeaders(headers: string[], record: ExtensionRecord, id: string, body: Buffer, now = Date.now()): boolean {
    const keys = this.#keysOf(record);
    if (keys === null) return false;
    const timestamp = String(Math.floor(now / 1000));
    headers.push('webhook-id', id, 'webhook-timestamp', timestamp, 'webhook-signature', signatureHeader(keys, id, timestamp, body, now));
    return true;
  }

  #keysOf(record: ExtensionRecord): SigningKeys | null {
    let keys = this.#keys.get(record);
    if (keys === undefined) {
      keys = this.#open(record);
      this.#keys.set(record, keys);
    }
    return keys;
  }

  #open(record: ExtensionRecord): SigningKeys | null {
    const s = record.sections[FORWARDING_SECTION];
    if (s === undefined) return null;
    const context = sealContext(record.extensionId);
    try {
      return openKeys(s, (sealed) => this.#keyring.open(sealed, context));
    } catch {
      return null;
    }
  }
}
