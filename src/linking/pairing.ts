import { SealError, type Keyring } from '../security/keyring.js';
import { keyedHashHex, sha256Hex } from '../security/hash.js';
import { randomDigits } from '../security/random.js';
import type { Store } from '../store/store.js';
import { keyOf } from '../store/keys.js';

export const CODE_TTL_MS = 10 * 60_000;
/**
 * Digits of a pairing code. A client that has not failed is never refused (a global cap on wrong
 * codes let a guesser lock every genuine user out), so the code space itself must keep guessing
 * hopeless: with GUESS_RATE_BOUND wrong codes a second from any number of addresses, for a code's
 * whole life, against PENDING_CODES_BOUND codes at once, the chance to hit any of them is
 * rate × life × pending / 10^digits = 10,000 × 600 × 1,000 / 10^12 = 0.6 % (README, "Pairing codes").
 */
export const CODE_LENGTH = 12;
/** Wrong codes a second a guesser is assumed to get answered, far beyond what one instance serves. */
export const GUESS_RATE_BOUND = 10_000;
/** Pending codes the guessing arithmetic is stated for. */
export const PENDING_CODES_BOUND = 1_000;
/** Digits read out together: "1 2 3, 4 5 6, …" is easier to follow and type than twelve in a row. */
const SPOKEN_GROUP = 3;

/** The chance that `rate` guesses a second take over any of `pending` codes during one code's life. */
export function takeoverChance(rate = GUESS_RATE_BOUND, pending = PENDING_CODES_BOUND): number {
  return (rate * (CODE_TTL_MS / 1000) * pending) / 10 ** CODE_LENGTH;
}

interface CodeRecord {
  extensionId: string;
  userId: string;
  expiresAt: number;
}

/**
 * Pairing codes: 12 digits (in groups of three) a user hears from the speaker and types on a phone. Bound to
 * (extension, CEK userId), single use, 10 minutes. The store holds the code's keyed hash as the
 * lookup key (a code cannot be reversed from it without the key) and, for "ask again, hear the same
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
    return keyOf('pairingCode', keyedHashHex(this.#hashKey, code));
  }

  #userKey(extensionId: string, userId: string): string {
    return keyOf('pairingUser', extensionId, sha256Hex(userId));
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
    let live: { code: string; expiresAt: number };
    try {
      live = JSON.parse(this.#keyring.open(sealed, `pairing:${extensionId}:${userId}`)) as { code: string; expiresAt: number };
    } catch (err) {
      if (!(err instanceof SealError)) throw err;
      // Sealed under a key dropped since (these copies live 10 minutes and are not re-sealed): a new code.
      await this.#store.delete(userKey);
      return undefined;
    }
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

/** Accepts "123456789012", "123 456 789 012", "123-456-…", "123, 456, …", full-width digits; `undefined` for anything else. */
export function normaliseCode(input: string): string | undefined {
  const digits = input.normalize('NFKC').replace(/[\s,.-]/g, '');
  return new RegExp(`^\\d{${CODE_LENGTH}}$`).test(digits) ? digits : undefined;
}

/**
 * "123456789012" → "1 2 3, 4 5 6, 7 8 9, 0 1 2": TTS reads each digit instead of one large number,
 * and pauses between groups of three so the listener can keep up.
 */
export function spokenDigits(code: string): string {
  const groups: string[] = [];
  for (let i = 0; i < code.length; i += SPOKEN_GROUP)
    groups.push(
      code
        .slice(i, i + SPOKEN_GROUP)
        .split('')
        .join(' '),
    );
  return groups.join(', ');
}
