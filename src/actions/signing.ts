import { createHmac, randomBytes } from 'node:crypto';
import type { ExtensionRecord, SealedSecret } from '../extensions/model.js';
import type { ExtensionRegistry } from '../extensions/registry.js';
import type { Keyring } from '../security/keyring.js';

/**
 * Signed forwarding (issue 16): every forward of an extension that has a forwarding secret carries
 * a Standard Webhooks signature (https://www.standardwebhooks.com), so a target can refuse calls
 * that did not come through this gateway, also for actions that send no user token:
 *
 *   webhook-id: <the request id>          webhook-timestamp: <unix seconds>
 *   webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")>
 *
 * The secret is `whsec_<base64 of 32 random bytes>`, the key its decoded bytes. After a rotation the
 * previous secret signs too (a second `v1,…` in the header, space-separated) until its grace
 * period ends, so targets can switch at their own pace.
 */
export const FORWARDING_SECTION = 'forwarding';
export const SECRET_PREFIX = 'whsec_';
/** How many earlier secrets may still sign at once. */
const MAX_PREVIOUS = 3;

export interface ForwardingSection {
  secret: SealedSecret;
  /** Earlier secrets still in their grace period, newest first. */
  previous: Array<SealedSecret & { expiresAt: string }>;
}

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
  const live = s.previous.filter((p) => Date.parse(p.expiresAt) > now).map((p) => p.expiresAt);
  return { configured: true, createdAt: s.secret.createdAt, previousExpiresAt: live.length === 0 ? null : (live.sort().at(-1) ?? null) };
}

/**
 * Creates the extension's forwarding secret, or replaces it: the old one keeps signing for
 * `graceSeconds` (default 1 day; 0 ends every earlier one at once). Returns the new secret, which
 * is shown this once.
 */
export async function rotateForwardingSecret(registry: ExtensionRegistry, keyring: Keyring, extensionId: string, graceSeconds = 86_400): Promise<{ secret: string; record: ExtensionRecord }> {
  const secret = `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
  const record = await registry.updateSection(extensionId, FORWARDING_SECTION, (current) => {
    const now = Date.now();
    const old = current.sections[FORWARDING_SECTION];
    const previous = graceSeconds === 0 || old === undefined ? [] : [{ ...old.secret, expiresAt: new Date(now + graceSeconds * 1000).toISOString() }, ...old.previous];
    return {
      secret: { sealed: keyring.seal(secret, sealContext(extensionId)), createdAt: new Date(now).toISOString() },
      previous: previous.filter((p) => Date.parse(p.expiresAt) > now).slice(0, MAX_PREVIOUS),
    };
  });
  return { secret, record };
}

/** Stops signing forwards (the secret and every earlier one are forgotten). */
export async function removeForwardingSecret(registry: ExtensionRegistry, extensionId: string): Promise<ExtensionRecord> {
  return registry.updateSection(extensionId, FORWARDING_SECTION, () => undefined);
}

/** The HMAC keys of one record: opened once per version of the record, not per request. */
interface Keys {
  current: Buffer;
  previous: Array<{ key: Buffer; until: number }>;
}

/** Signs forwards on the request path; opening the sealed secrets is cached per cached record. */
export class ForwardSigner {
  readonly #keyring: Keyring;
  readonly #keys = new WeakMap<ExtensionRecord, Keys | null>();

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
    let signature = `v1,${sign(keys.current, id, timestamp, body)}`;
    for (const p of keys.previous) if (p.until > now) signature += ` v1,${sign(p.key, id, timestamp, body)}`;
    headers.push('webhook-id', id, 'webhook-timestamp', timestamp, 'webhook-signature', signature);
    return true;
  }

  #keysOf(record: ExtensionRecord): Keys | null {
    let keys = this.#keys.get(record);
    if (keys === undefined) {
      keys = this.#open(record);
      this.#keys.set(record, keys);
    }
    return keys;
  }

  #open(record: ExtensionRecord): Keys | null {
    const s = record.sections[FORWARDING_SECTION];
    if (s === undefined) return null;
    const context = sealContext(record.extensionId);
    try {
      return {
        current: keyOf(this.#keyring.open(s.secret.sealed, context)),
        previous: s.previous.map((p) => ({ key: keyOf(this.#keyring.open(p.sealed, context)), until: Date.parse(p.expiresAt) })),
      };
    } catch {
      return null;
    }
  }
}

/** The HMAC key of a `whsec_…` secret: its base64 part, decoded. */
export function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
}

function sign(key: Buffer, id: string, timestamp: string, body: Buffer): string {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
}
