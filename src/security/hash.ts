import { createHash, createHmac } from 'node:crypto';

/** SHA-256 hex of a value we look things up by (API keys, pairing codes): the store never holds the value itself. */
export function sha256Hex(value: string | Buffer): string {
  return createHash('sha256').update(value).digest('hex');
}

/** HMAC-SHA256, base64: the `X-NCP-CHATBOT_SIGNATURE` scheme (key = the secret's UTF-8 bytes). */
export function hmacSha256Base64(key: string | Buffer, data: string | Buffer): string {
  return createHmac('sha256', key).update(data).digest('base64');
}

/**
 * A keyed hash for low-entropy values (6-digit codes): without the key, the hash of a code cannot
 * be reversed by trying all million codes.
 */
export function keyedHashHex(key: Buffer, value: string): string {
  return createHmac('sha256', key).update(value).digest('hex');
}
