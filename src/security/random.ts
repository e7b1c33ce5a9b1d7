import { randomBytes, randomInt } from 'node:crypto';

/** An unguessable id or token: `bytes` random bytes, base64url (24 bytes → 32 characters). */
export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

/** A uniformly random string of decimal digits (pairing codes); `randomInt` avoids modulo bias. */
export function randomDigits(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += String(randomInt(10));
  return out;
}

/** A Chatbot Secret in the shape NCP generates them: 32 random bytes, base64. */
export function randomSecret(): string {
  return randomBytes(32).toString('base64');
}
