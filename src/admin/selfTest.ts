import { randomBytes } from 'node:crypto';
import { buildSampleRequest, spokenText } from '../cek/sample.js';
import { CEK_SIGNATURE_HEADER, CHATBOT_SIGNATURE_HEADER, type VerificationMode } from '../cek/verify.js';
import { CEK_BODY_LIMIT } from '../cek/pipeline.js';
import type { ResolvedExtension } from '../extensions/registry.js';
import { compiledGatewayOf } from '../gateway/gateway.js';
import { hmacSha256Base64 } from '../security/hash.js';

/** Each call of the self-test gets this long; CLOVA gives the whole answer 8 s. */
const CALL_TIMEOUT_MS = 8_000;

export type CheckResult = 'pass' | 'fail' | 'skipped';

/** What one call of the self-test expected and got, and what to do when they differ. */
export interface SelfTestCheck {
  readonly name: 'unsigned' | 'wrong_signature' | 'wrong_application_id' | 'oversized' | 'signed_launch';
  readonly description: string;
  readonly expected: { status: number; code?: string };
  readonly got: { status: number | null; code?: string; speech?: string; error?: string };
  readonly result: CheckResult;
  readonly fix?: string;
}

export interface SelfTestReport {
  readonly invokeUrl: string;
  /** Every check that ran passed. */
  readonly ok: boolean;
  readonly checks: readonly SelfTestCheck[];
  readonly notes: readonly string[];
}

interface Call {
  status: number | null;
  code?: string;
  speech?: string;
  error?: string;
  json: boolean;
}

/**
 * The verification self-test (issue 16): calls the extension's own public invoke URL, through
 * PUBLIC_URL so the proxy in front is tested too, the way CLOVA and an attacker would: without a
 * signature, with a wrong one, for another extension, with a body over the limit, and correctly
 * signed. It signs with the Chatbot Secret (CLOVA's own RSA key is not ours to sign with), so in
 * the modes that require SignatureCEK the two signed checks are skipped, and says so.
 */
export async function runSelfTest(ext: ResolvedExtension, publicUrl: string): Promise<SelfTestReport> {
  const { record } = ext;
  const id = record.extensionId;
  const invokeUrl = `${publicUrl}/cek/${id}`;
  const mode: VerificationMode = record.verification;
  const secret = ext.liveSecrets()[0];
  const canSign = secret !== undefined && (mode === 'any' || mode === 'chatbotSecret');
  const apiKeyRequired = compiledGatewayOf(record).requireApiKey;
  const notes: string[] = [];
  if (apiKeyRequired) {
    notes.push('This extension requires an API key, which the self-test does not have: every call should be refused by the gateway (401 missing_api_key) before verification.');
  }
  if (!canSign && !apiKeyRequired) {
    notes.push(`Verification mode "${mode}" needs CLOVA's own signature (SignatureCEK), which only CLOVA can make: the two correctly signed checks are skipped.`);
  }

  const launch = (applicationId: string): string =>
    JSON.stringify(buildSampleRequest({ type: 'LaunchRequest', extensionId: applicationId, userId: 'cek-gateway-self-test', language: record.language, newSession: true }));
  const gated = (expected: SelfTestCheck['expected']): SelfTestCheck['expected'] => (apiKeyRequired ? { status: 401, code: 'missing_api_key' } : expected);
  const checks: SelfTestCheck[] = [];

  const body = launch(id);
  checks.push(judge('unsigned', 'A LaunchRequest without any signature', gated({ status: 401, code: 'missing_signature' }), await call(invokeUrl, body, {})));

  // Both headers wrong, so every verification mode has a present, invalid signature to refuse.
  const forged = { [CHATBOT_SIGNATURE_HEADER]: hmacSha256Base64(randomBytes(32).toString('base64'), body), [CEK_SIGNATURE_HEADER]: randomBytes(256).toString('base64') };
  checks.push(judge('wrong_signature', 'A LaunchRequest with wrong signatures', gated({ status: 401, code: 'invalid_signature' }), await call(invokeUrl, body, forged)));

  const foreign = launch(`${id}.self-test-other`);
  const foreignDescription = "A correctly signed LaunchRequest for another extension's applicationId";
  if (canSign || apiKeyRequired) {
    const headers = canSign ? { [CHATBOT_SIGNATURE_HEADER]: hmacSha256Base64(secret, foreign) } : {};
    checks.push(judge('wrong_application_id', foreignDescription, gated({ status: 403, code: 'application_id_mismatch' }), await call(invokeUrl, foreign, headers)));
  } else {
    checks.push(skipped('wrong_application_id', foreignDescription, { status: 403, code: 'application_id_mismatch' }));
  }

  // Declared up front: the service refuses it from content-length, before reading it.
  const oversized = `{"pad":"${'x'.repeat(CEK_BODY_LIMIT)}"}`;
  checks.push(judge('oversized', `A body over the ${CEK_BODY_LIMIT / 1024} KiB limit`, gated({ status: 413, code: 'payload_too_large' }), await call(invokeUrl, oversized, {})));

  const signedDescription = 'A correctly signed LaunchRequest';
  if (canSign || apiKeyRequired) {
    const headers = canSign ? { [CHATBOT_SIGNATURE_HEADER]: hmacSha256Base64(secret, body) } : {};
    checks.push(judge('signed_launch', signedDescription, gated({ status: 200 }), await call(invokeUrl, body, headers)));
  } else {
    checks.push(skipped('signed_launch', signedDescription, { status: 200 }));
  }

  return { invokeUrl, ok: checks.every((c) => c.result !== 'fail'), checks, notes };
}

async function call(url: string, body: string, headers: Record<string, string>): Promise<Call> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { status: res.status, json: false };
    }
    const code = errorCodeOf(parsed);
    const speech = res.status === 200 ? spokenText(parsed)?.speech : undefined;
    return { status: res.status, json: true, ...(code === undefined ? {} : { code }), ...(speech === undefined ? {} : { speech }) };
  } catch (err) {
    const name = err instanceof Error ? err.name : 'Error';
    return { status: null, json: false, error: name === 'TimeoutError' ? `no answer within ${CALL_TIMEOUT_MS / 1000} s` : 'the connection failed' };
  }
}

function errorCodeOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error: unknown = body.error;
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

function skipped(name: SelfTestCheck['name'], description: string, expected: SelfTestCheck['expected']): SelfTestCheck {
  return { name, description, expected, got: { status: null }, result: 'skipped' };
}

function judge(name: SelfTestCheck['name'], description: string, expected: SelfTestCheck['expected'], got: Call): SelfTestCheck {
  const gotView = {
    status: got.status,
    ...(got.code === undefined ? {} : { code: got.code }),
    ...(got.speech === undefined ? {} : { speech: got.speech }),
    ...(got.error === undefined ? {} : { error: got.error }),
  };
  const pass = got.status === expected.status && (expected.code === undefined || got.code === expected.code) && (expected.status !== 200 || got.speech !== undefined);
  if (pass) return { name, description, expected, got: gotView, result: 'pass' };
  return { name, description, expected, got: gotView, result: 'fail', fix: fixFor(name, expected, got) };
}

/** What to change when a check did not get what it expected, from what it got instead. */
function fixFor(name: SelfTestCheck['name'], expected: SelfTestCheck['expected'], got: Call): string {
  if (got.status === null) return `PUBLIC_URL does not answer from this instance (${got.error ?? 'no answer'}): check PUBLIC_URL, DNS, TLS and the proxy in front of the service.`;
  if (!got.json)
    return `Something in front of the service answered ${got.status} without the service's JSON: the proxy does not pass POST /cek/… to cek-gateway unchanged (or, for a large body, refuses it itself${name === 'oversized' ? ', which is harmless' : ''}).`;
  if (got.code === 'unknown_extension') return 'PUBLIC_URL reaches a cek-gateway that does not have this extension: it points at another deployment.';
  if (got.code === 'missing_api_key' || got.code === 'invalid_api_key')
    return 'The gateway refused the call for its API key: turn off "Require an API key", or run the self-test knowing that CLOVA must send the key.';
  if (got.status === 200 && expected.status !== 200)
    return 'The request was answered without being refused: check the extension’s verification mode and that nothing in front of the service answers on its behalf.';
  if (name === 'signed_launch' && (got.code === 'invalid_signature' || got.code === 'missing_signature')) {
    return 'A correctly signed request was refused: the proxy in front changes the body (re-encoding, compression) or drops the X-NCP-CHATBOT_SIGNATURE header. Pass both through unchanged.';
  }
  if (name === 'oversized')
    return `Expected ${expected.status}, got ${got.status}: the proxy in front limits request bodies in its own way. CLOVA's requests are small, so this only matters for floods.`;
  return `Expected ${expected.status}${expected.code === undefined ? '' : ` ${expected.code}`}, got ${got.status}${got.code === undefined ? '' : ` ${got.code}`}: check the extension's verification settings and the proxy in front of PUBLIC_URL.`;
}
