import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { deriveKey, type DerivedKeyUse } from './derive.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 'v1';
const SEALED_SHAPE = /^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]+$/;

/** Decodes a 32-byte key given as base64 or base64url; `undefined` when it is not exactly 32 bytes. */
export function decodeKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) return undefined;
  const key = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return key.length === 32 ? key : undefined;
}

/** A key id that names a key without revealing it: the first 8 hex digits of SHA-256 over the key. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('cek-gateway key id').update(key).digest('hex').slice(0, 8);
}

export class SealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealError';
  }
}

/**
 * AES-256-GCM sealing under a key id, with key rotation: records are sealed with the current key and
 * opened with whichever key their id names, so records sealed before a rotation still open while
 * the old key is listed in `ENCRYPTION_KEYS_PREVIOUS`.
 *
 * Sealed text: `v1.<kid>.<base64url(iv ‖ ciphertext ‖ tag)>`. A fresh 12-byte IV per record.
 * `context` is authenticated but not stored (AAD): a record sealed for one purpose/key (say the
 * token of user A) fails to open as another, so records cannot be swapped in the store.
 */
export class Keyring {
  readonly #current: { id: string; key: Buffer };
  readonly #byId: Map<string, Buffer>;

  constructor(keys: readonly Buffer[]) {
    const [first] = keys;
    if (first === undefined) throw new SealError('at least one encryption key is required');
    for (const k of keys) if (k.length !== 32) throw new SealError('encryption keys must be 32 bytes');
    this.#current = { id: keyIdOf(first), key: first };
    this.#byId = new Map(keys.map((k) => [keyIdOf(k), k] as const));
  }

  get currentKeyId(): string {
    return this.#current.id;
  }

  /** A key for one use, derived from the current key (`deriveKey`): never the sealing key itself. */
  deriveKey(use: DerivedKeyUse): Buffer {
    return deriveKey(this.#current.key, use);
  }

  /** The ids of every configured key, current first. */
  get keyIds(): string[] {
    return [...this.#byId.keys()];
  }

  /** True when a record sealed under `keyId` can be opened with the configured keys. */
  has(keyId: string): boolean {
    return this.#byId.has(keyId);
  }

  seal(plaintext: string | Buffer, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#current.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const blob = Buffer.concat([iv, ct, cipher.getAuthTag()]);
    return `${VERSION}.${this.#current.id}.${blob.toString('base64url')}`;
  }

  openBuffer(sealed: string, context: string): Buffer {
    const [version, kid, data, extra] = sealed.split('.');
    if (version !== VERSION || kid === undefined || data === undefined || extra !== undefined) {
      throw new SealError('not a sealed record');
    }
    const key = this.#byId.get(kid);
    if (key === undefined) throw new SealError(`sealed under unknown key id ${kid}`);
    const blob = Buffer.from(data, 'base64url');
    if (blob.length < IV_BYTES + TAG_BYTES) throw new SealError('sealed record is truncated');
    const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(blob.subarray(IV_BYTES, blob.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new SealError('sealed record failed authentication');
    }
  }

  open(sealed: string, context: string): string {
    return this.openBuffer(sealed, context).toString('utf8');
  }

  /** The key id a sealed record names, to find records that still need re-sealing after a rotation. */
  static keyIdOfSealed(sealed: string): string | undefined {
    return sealed.split('.')[1];
  }

  /** True when `text` has the shape of a sealed record (`v1.<8 hex>.<base64url>`). */
  static looksSealed(text: string): boolean {
    return SEALED_SHAPE.test(text);
  }
}
