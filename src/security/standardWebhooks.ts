import { createHmac, randomBytes } from 'node:crypto';

/**
 * The Standard Webhooks scheme (https://www.standardwebhooks.com), shared by signed action forwards
 * and lifecycle webhooks so both sign exactly alike:
 *
 *   webhook-id: <message id>          webhook-timestamp: <unix seconds>
 *   webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")>[ v1,<…>]
 *
 * A secret is `whsec_<base64 of 32 random bytes>`, the key its decoded bytes. After a rotation the
 * previous secrets sign too (one more `v1,…` each, space-separated) until their grace period ends.
 */
export const SECRET_PREFIX = 'whsec_';
/** How many earlier secrets may still sign at once. */
const MAX_PREVIOUS = 3;

/** A secret as stored: sealed by the caller (the shape of `SealedSecret`). */
export interface StoredSecret {
  sealed: string;
  createdAt: string;
}

/** A signing secret and the earlier ones still in their grace period, newest first. */
export interface SigningSecrets {
  secret: StoredSecret;
  previous: Array<StoredSecret & { expiresAt: string }>;
}

/** A new secret, to be shown once and stored sealed. */
export function newSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/**
 * `current` after a rotation to `sealedNew`: the old secret keeps signing for `graceSeconds`
 * (0 ends every earlier one at once); expired ones are dropped.
 */
export function rotatedSecrets(current: SigningSecrets | undefined, sealedNew: string, graceSeconds: number, now = Date.now()): SigningSecrets {
  const previous = graceSeconds === 0 || current === undefined ? [] : [{ ...current.secret, expiresAt: new Date(now + graceSeconds * 1000).toISOString() }, ...current.previous];
  return {
    secret: { sealed: sealedNew, createdAt: new Date(now).toISOString() },
    previous: previous.filter((p) => Date.parse(p.expiresAt) > now).slice(0, MAX_PREVIOUS),
  };
}

/** When the last earlier secret stops signing, or null. */
export function previousExpiresAt(s: SigningSecrets, now = Date.now()): string | null {
  const live = s.previous.filter((p) => Date.parse(p.expiresAt) > now).map((p) => p.expiresAt);
  return live.length === 0 ? null : (live.sort().at(-1) ?? null);
}

/** The HMAC keys of a secret set, opened: the current one, and the earlier ones with their end. */
export interface SigningKeys {
  current: Buffer;
  previous: Array<{ key: Buffer; until: number }>;
}

/** Opens a secret set with `open` (the caller's keyring and sealing context). Throws what `open` throws. */
export function openKeys(s: SigningSecrets, open: (sealed: string) => string): SigningKeys {
  return {
    current: keyOf(open(s.secret.sealed)),
    previous: s.previous.map((p) => ({ key: keyOf(open(p.sealed)), until: Date.parse(p.expiresAt) })),
  };
}

/** The HMAC key of a `whsec_…` secret: its base64 part, decoded. */
export function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
}

/** The `webhook-signature` value: one `v1,…` per key still signing at `now`. */
export function signatureHeader(keys: SigningKeys, id: string, timestamp: string, body: Buffer | string, now = Date.now()): string {
  let signature = `v1,${sign(keys.current, id, timestamp, body)}`;
  for (const p of keys.previous) if (p.until > now) signature += ` v1,${sign(p.key, id, timestamp, body)}`;
  return signature;
}

function sign(key: Buffer, id: string, timestamp: string, body: Buffer | string): string {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
}
