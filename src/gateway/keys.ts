import { timingSafeEqual } from 'node:crypto';
import { sha256Hex } from '../security/hash.js';
import { randomToken } from '../security/random.js';
import type { ApiKeyRecord, KeyValueRecord } from './model.js';

/** A new key value: 30 random bytes, base64url (40 characters, the length of NCP's keys). */
export function newKeyValue(now: string): { value: string; record: KeyValueRecord } {
  const value = randomToken(30);
  return { value, record: { hash: sha256Hex(value), hint: value.slice(-4), createdAt: now } };
}

/** A new key id: short, URL-safe, not secret (it names the key in URLs and usage). */
export function newKeyId(): string {
  return `k_${randomToken(9)}`;
}

/** How a key value is shown after creation: never the value, only its last 4 characters. */
export function maskedValue(v: KeyValueRecord): string {
  return `${'*'.repeat(8)}${v.hint}`;
}

/** A key as the request path compares it: the two hashes as 32-byte buffers. */
export interface CompiledKey {
  readonly id: string;
  readonly enabled: boolean;
  readonly hashes: readonly Buffer[];
  readonly record: ApiKeyRecord;
}

export function compileKey(record: ApiKeyRecord): CompiledKey {
  return {
    id: record.id,
    enabled: record.enabled,
    hashes: [Buffer.from(record.primary.hash, 'hex'), Buffer.from(record.secondary.hash, 'hex')],
    record,
  };
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * The key whose primary or secondary value is `presented`, or `undefined`. The presented value is
 * hashed once; its hash is then compared with every stored hash in constant time, without stopping
 * at a match, so the time taken does not tell which key (or whether any) matched.
 */
export function findKey(keys: readonly CompiledKey[], presented: string): CompiledKey | undefined {
  const hex = sha256Hex(presented);
  if (!HEX64.test(hex)) return undefined;
  const digest = Buffer.from(hex, 'hex');
  let found: CompiledKey | undefined;
  for (const key of keys) {
    for (const hash of key.hashes) {
      if (hash.length === digest.length && timingSafeEqual(hash, digest) && found === undefined) found = key;
    }
  }
  return found;
}
