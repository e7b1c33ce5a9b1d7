import { verify as rsaVerify, type KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { AppError } from '../http/errors.js';
import { constantTimeEqual } from '../security/constantTime.js';
import { hmacSha256Base64 } from '../security/hash.js';

/**
 * Which signatures an extension requires (DESIGN.md section 4):
 * - `any` (default): at least one of the two present, and every one present valid;
 * - `cekSignature` / `chatbotSecret`: that one required (the other header is ignored);
 * - `both`: both required.
 */
export const VERIFICATION_MODES = ['any', 'cekSignature', 'chatbotSecret', 'both'] as const;
export type VerificationMode = (typeof VERIFICATION_MODES)[number];

export const CEK_SIGNATURE_HEADER = 'signaturecek';
export const CHATBOT_SIGNATURE_HEADER = 'x-ncp-chatbot_signature';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** `SignatureCEK`: base64 RSA-SHA256 (PKCS#1 v1.5) over the exact body bytes. */
export function verifyCekSignature(raw: Buffer, signature: string, publicKey: KeyObject): boolean {
  const sig = signature.trim();
  if (sig.length > 2048 || !BASE64.test(sig)) return false;
  try {
    return rsaVerify('sha256', raw, publicKey, Buffer.from(sig, 'base64'));
  } catch {
    return false;
  }
}

/** `X-NCP-CHATBOT_SIGNATURE`: base64 HMAC-SHA256 of the body keyed by a secret's UTF-8 bytes; any live secret may match. */
export function verifyChatbotSignature(raw: Buffer, signature: string, secrets: readonly string[]): boolean {
  const sig = signature.trim();
  if (sig.length > 128) return false;
  let ok = false;
  // Every secret is tried (no early exit), so the time does not tell which one matched.
  for (const secret of secrets) if (constantTimeEqual(hmacSha256Base64(secret, raw), sig)) ok = true;
  return ok;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s.trim() === '' ? undefined : s;
}

/**
 * Verifies a CEK request over its raw bytes before anything reads them. Throws 401
 * `missing_signature` / `invalid_signature`; returns which checks passed.
 */
export function verifyCekRequest(
  raw: Buffer,
  headers: IncomingHttpHeaders,
  mode: VerificationMode,
  publicKey: KeyObject,
  secrets: () => readonly string[],
): { cekSignature: boolean; chatbotSecret: boolean } {
  const cekSig = mode === 'chatbotSecret' ? undefined : header(headers, CEK_SIGNATURE_HEADER);
  const botSig = mode === 'cekSignature' ? undefined : header(headers, CHATBOT_SIGNATURE_HEADER);
  const needCek = mode === 'cekSignature' || mode === 'both';
  const needBot = mode === 'chatbotSecret' || mode === 'both';

  if ((needCek && cekSig === undefined) || (needBot && botSig === undefined) || (cekSig === undefined && botSig === undefined)) {
    const which =
      needCek && needBot ? 'SignatureCEK and X-NCP-CHATBOT_SIGNATURE are' : needCek ? 'SignatureCEK is' : needBot ? 'X-NCP-CHATBOT_SIGNATURE is' : 'SignatureCEK or X-NCP-CHATBOT_SIGNATURE is';
    throw new AppError('missing_signature', `${which} required for this extension.`);
  }
  const cekOk = cekSig !== undefined && verifyCekSignature(raw, cekSig, publicKey);
  const botOk = botSig !== undefined && verifyChatbotSignature(raw, botSig, secrets());
  if ((cekSig !== undefined && !cekOk) || (botSig !== undefined && !botOk)) {
    throw new AppError('invalid_signature', 'The request signature does not match the request body.');
  }
  return { cekSignature: cekOk, chatbotSecret: botOk };
}
