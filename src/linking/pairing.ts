import type { Keyring } from '../security/keyring.js';
import { keyedHashHex, sha256Hex } from '../security/hash.js';
import { randomDigits } from '../security/random.js';
import type { Store } from '../store/store.js';

export const CODE_TTL_MS = 10 * 60_000;
const CODE_LENGTH = 6;

interface CodeRecord {
  extensionId: string;
  userId: string;
  expiresAt: number;
}

/**
 * Pairing codes: 6 digits a user hears from the speaker and types on a phone. Bound to
 * (extension, CEK userId), single use, 10 minutes. The store holds the code's keyed hash as the
 * lookup key (a million codes cannot be reversed without the key) and, for "ask again, hear the same
 * code", the code sealed under the user's entry.
 */
export class Pairing {
  readonly #store: Store;
  readonly #keyring: Keyring;
  readonly #hashKey: Buffer;

  constructor(store: Store, keyring: Keyring, hashKey: Buffer) {
    this.#store = store;
    this.#keyring = keyring;
    this.#hashKey = hashKey;
  }

  #codeKey(code: string): string {
    return `pair:code:${keyedHashHex(this.#hashKey, code)}`;
  }

  #userKey(extensionId: string, userId: string): string {
    return `pair:user:${extensionId}:${sha256Hex(userId)}`;
  }

  /** The user's live code, or a new one. */
  async codeFor(extensionId: string, userId: string): Promise<{ code: string; expiresAt: number }> {
    const userKey = this.#userKey(extensionId, userId);
    const existing = await this.#liveCode(userKey, extensionId, userId);
    if (existing !== undefined) return existing;

    for (let attempt = 0; attempt < 8; attempt++) {
      const code = randomDigits(CODE_LENGTH);
      const expiresAt = Date.now() + CODE_TTL_MS;
      const record: CodeRecord = { extensionId, userId, expiresAt };
      // The code space is shared by all extensions (the page asks for the code only): skip taken codes.
      if (!(await this.#store.setIfAbsent(this.#codeKey(code), JSON.stringify(record), CODE_TTL_MS))) continue;
      const sealed = this.#keyring.seal(JSON.stringify({ code, expiresAt }), `pairing:${extensionId}:${userId}`);
      if (await this.#store.setIfAbsent(userKey, sealed, CODE_TTL_MS)) return { code, expiresAt };
      // A concurrent request for the same user won: use its code, drop ours.
      await this.#store.delete(this.#codeKey(code));
      const theirs = await this.#liveCode(userKey, extensionId, userId);
      if (theirs !== undefined) return theirs;
    }
    throw new Error('could not allocate a pairing code');
  }

  async #liveCode(userKey: string, extensionId: string, userId: string): Promise<{ code: string; expiresAt: number } | undefined> {
    const sealed = await this.#store.get(userKey);
    if (sealed === null) return undefined;
    const live = JSON.parse(this.#keyring.open(sealed, `pairing:${extensionId}:${userId}`)) as { code: string; expiresAt: number };
    // The code itself may have been redeemed a moment ago.
    return (await this.#store.get(this.#codeKey(live.code))) === null ? undefined : live;
  }

  /** Redeems a code once: the (extension, userId) it was issued for, or `undefined`. */
  async redeem(input: string): Promise<{ extensionId: string; userId: string } | undefined> {
    const code = normaliseCode(input);
    if (code === undefined) return undefined;
    const raw = await this.#store.take(this.#codeKey(code));
    if (raw === null) return undefined;
    const record = JSON.parse(raw) as CodeRecord;
    await this.#store.delete(this.#userKey(record.extensionId, record.userId));
    return { extensionId: record.extensionId, userId: record.userId };
  }

  /** Drops a user's live code (after unlinking, or when the extension goes). */
  async forget(extensionId: string, userId: string): Promise<void> {
    const userKey = this.#userKey(extensionId, userId);
    const live = await this.#liveCode(userKey, extensionId, userId);
    if (live !== undefined) await this.#store.delete(this.#codeKey(live.code));
    await this.#store.delete(userKey);
  }
}

/** Accepts "123456", "123 456", "123-456", full-width digits; `undefined` for anything else. */
export function normaliseCode(input: string): string | undefined {
  const digits = input.normalize('NFKC').replace(/[\s-]/g, '');
  return new RegExp(`^\\d{${CODE_LENGTH}}$`).test(digits) ? digits : undefined;
}

/** "123456" → "1 2 3 4 5 6": TTS then reads each digit instead of one large number. */
export function spokenDigits(code: string): string {
  return code.split('').join(' ');
}
