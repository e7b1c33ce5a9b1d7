import { performance } from 'node:perf_hooks';
import { actionIndexOf, matchAction } from '../actions/compile.js';
import type { ActionDefinition } from '../actions/model.js';
import type { CekTap } from '../cek/tap.js';
import { CHATBOT_SIGNATURE_HEADER } from '../cek/verify.js';
import type { ExtensionRegistry } from '../extensions/registry.js';
import { messageOf, nameOf } from '../http/errorInfo.js';
import type { Logger } from '../http/logger.js';
import { hmacSha256Base64 } from '../security/hash.js';
import { randomToken } from '../security/random.js';

/** The API Gateway's key header, as CLOVA's API Gateway in front of an extension sends it. */
const API_KEY_HEADER = 'x-ncp-apigw-api-key';

/** A CEK answer comes within CEK's 8 s deadline; the margin covers a busy machine. */
export const SEND_TIMEOUT_MS = 10_000;

export interface TestRequestDeps {
  tap: CekTap;
  log: Logger;
  /** Whether a user is a test user of the extension (account linking's test users): such calls are left out of usage and quotas. */
  isTestUser(extensionId: string, userId: string): Promise<boolean>;
}

/** Where a CEK request names its user, in the order the pipeline reads them (cek/parse.ts). */
const USER_ID_PATHS = [
  ['session', 'user', 'userId'],
  ['context', 'System', 'user', 'userId'],
] as const;

/** The user ids a CEK request body gives (non-empty strings), with where each is, in the pipeline's order. */
export function userIdsIn(body: unknown): Array<{ path: readonly string[]; userId: string }> {
  const at = (path: readonly string[]): unknown => path.reduce<unknown>((v, k) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined), body);
  return USER_ID_PATHS.flatMap((path) => {
    const userId = at(path);
    return typeof userId === 'string' && userId !== '' ? [{ path, userId }] : [];
  });
}

/** The CEK user a request speaks for, read as the pipeline reads it (`session.user`, then `context.System.user`). */
export function userIdOf(raw: string): string {
  try {
    return userIdsIn(JSON.parse(raw))[0]?.userId ?? '';
  } catch {
    return '';
  }
}

export interface TestRequestInput {
  extensionId: string;
  /** The exact body to sign and send. */
  raw: string;
  /** The extension's current Chatbot Secret (`signingSecretOf`). */
  secret: string;
  /** This instance as seen from itself (`selfBaseUrl`). */
  baseUrl: string;
  /** `admin-console`, `admin-api`: the request id's prefix, so the log line tells who sent it. */
  origin: string;
  /** The admin request that asked for it (log lines). */
  reqId: string;
  /** Sent as `x-ncp-apigw-api-key`, for an extension that requires an API key (the gateway's check). */
  apiKey?: string | undefined;
}

export interface TestRequestSent {
  readonly ok: true;
  readonly requestId: string;
  readonly url: string;
  readonly signature: string;
  readonly status: number;
  readonly text: string;
  /** The answer parsed as JSON, `undefined` when it is not JSON. */
  readonly json: unknown;
  readonly ms: number;
  /** What answered (`action`, `welcome`, ...), `undefined` when the request was refused before dispatch. */
  readonly outcome: string | undefined;
  /** The request spoke for a test user: it was left out of usage and quotas. */
  readonly testUser: boolean;
  /** The action whose trigger matched, as the request path saw it; `forwarded`/`tokenSent` are what the responder did. */
  readonly action: { readonly def: ActionDefinition; readonly forwarded: boolean; readonly tokenSent: boolean } | undefined;
}

export type TestRequestResult = TestRequestSent | { readonly ok: false; readonly requestId: string; readonly url: string; readonly reason: string };

/** The Chatbot Secret test requests are signed with; `undefined` when it cannot be opened with the configured keys. */
export async function signingSecretOf(registry: ExtensionRegistry, extensionId: string): Promise<string | undefined> {
  return (await registry.resolve(extensionId))?.liveSecrets()[0];
}

/**
 * Sends one CEK request as CLOVA would, signed with the Chatbot Secret, to this instance's own
 * invoke URL (the whole voice path: gates, verification, parsing, dispatch), and learns through the
 * tap what answered it. Used by the test console page and `POST /api/v1/extensions/:id/test-requests`.
 */
export async function sendTestRequest(deps: TestRequestDeps, i: TestRequestInput): Promise<TestRequestResult> {
  const signature = hmacSha256Base64(i.secret, i.raw);
  const requestId = `${i.origin}-${randomToken(12)}`;
  const url = `${i.baseUrl}/cek/${i.extensionId}`;
  // A store that cannot answer makes it an ordinary call (counted): the request itself then shows how the pipeline copes.
  const testUser = await deps.isTestUser(i.extensionId, userIdOf(i.raw)).catch(() => false);
  deps.tap.expect(requestId, { testUser });
  const started = performance.now();
  let status: number;
  let text: string;
  try {
    const answer = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [CHATBOT_SIGNATURE_HEADER]: signature,
        'x-request-id': requestId,
        ...(i.apiKey === undefined ? {} : { [API_KEY_HEADER]: i.apiKey }),
      },
      body: i.raw,
      redirect: 'manual',
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    status = answer.status;
    text = await answer.text();
  } catch (err) {
    deps.tap.take(requestId);
    deps.log.warn({ reqId: i.reqId, err: messageOf(err) }, 'a test request could not reach the CEK endpoint');
    return { ok: false, requestId, url, reason: nameOf(err) === 'TimeoutError' ? `no answer within ${SEND_TIMEOUT_MS / 1000} s` : 'connection failed' };
  }
  const ms = performance.now() - started;
  const tapped = deps.tap.take(requestId);
  // The same cached record and the same matcher as the request path.
  const index = tapped === undefined ? undefined : actionIndexOf(tapped.ext.record);
  const def = tapped === undefined || index === undefined ? undefined : matchAction(index, tapped.cek)?.def;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return {
    ok: true,
    requestId,
    url,
    signature,
    status,
    text,
    json,
    ms,
    outcome: tapped?.outcome,
    testUser,
    action: def === undefined ? undefined : { def, forwarded: tapped?.forward !== undefined, tokenSent: tapped?.forward?.bearer === true },
  };
}
