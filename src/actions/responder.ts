import type { CekContext, CekResponder } from '../cek/dispatch.js';
import { cekResponse, simpleSpeech } from '../cek/response.js';
import type { CekResponseBody } from '../cek/types.js';
import type { Config } from '../config/env.js';
import { fillLoginPrompt } from '../extensions/messages.js';
import type { Metrics } from '../http/metrics.js';
import type { LinkedTokens, TokenLookup } from '../linking/linkedTokens.js';
import { actionIndexOf, matchAction, type CompiledAction } from './compile.js';
import type { ForwardFailure, ForwardResult, Forwarder } from './forward.js';
import { mapReply, prependSentence } from './replyMapping.js';
import type { ForwardSigner } from './signing.js';

export interface ActionResponderDeps {
  config: Pick<Config, 'publicUrl'>;
  metrics: Metrics;
  forwarder: Forwarder;
  /** Adds the Standard Webhooks signature of extensions that have a forwarding secret. */
  signer: ForwardSigner;
  /** Account linking's face for action methods, when the instance has it. */
  linking: LinkedTokens | undefined;
}

type Failure = ForwardFailure | 'bad_reply';

/** A forward's result and how long it took (for `cekgw_forward_duration_seconds`). */
interface Forwarded {
  result: ForwardResult;
  seconds: number;
}

/** Where the token of one forward came from, and what to do on a 401. */
type TokenChoice = { kind: 'none' } | { kind: 'request'; token: string } | { kind: 'vault'; token: string; loginSuccess: string | undefined } | { kind: 'prompt' } | { kind: 'unavailable' };

const SAFE_HEADER_VALUE = /^[\x21-\x7e]*$/;

/**
 * `ctx.deadline` is when the answer must have left (7.5 s after the request's first byte); the work
 * stops this much earlier, leaving time to map, serialise and write the answer on a busy machine.
 */
const ANSWER_MARGIN_MS = 500;
const workDeadline = (ctx: CekContext): number => ctx.deadline - ANSWER_MARGIN_MS;

/**
 * The action-method responder (DESIGN.md section 6): finds the action whose trigger matches the
 * request in the extension's cached definitions (no store read), gets the token, forwards the
 * exact request bytes, and maps the reply. Every failure is a CEK answer (the `error` message or
 * the login prompt), never an HTTP error: CLOVA would otherwise end the dialog without a word.
 */
export function createActionResponder(deps: ActionResponderDeps): CekResponder {
  const { metrics, forwarder } = deps;
  // prom-client hashes label sets on every inc/observe; children for the known outcomes skip that.
  const counters = new Map<string, { inc: () => void; observe: (s: number) => void }>();
  const count = (outcome: string, seconds: number): void => {
    let c = counters.get(outcome);
    if (c === undefined) {
      const counter = metrics.forwards.labels({ outcome });
      const histogram = metrics.forwardDuration.labels({ outcome });
      c = { inc: () => counter.inc(), observe: (s) => histogram.observe(s) };
      counters.set(outcome, c);
    }
    c.inc();
    c.observe(seconds);
  };

  /** One call to the target; failures are counted here, successes once their reply is mapped. */
  async function forwardOnce(ctx: CekContext, action: CompiledAction, token: string | undefined): Promise<Forwarded> {
    const { cek, ext } = ctx;
    const headers = action.baseHeaders.slice();
    headers.push('x-cek-extension-id', ext.record.extensionId, 'x-cek-user-id', SAFE_HEADER_VALUE.test(cek.userId) ? cek.userId : encodeURIComponent(cek.userId), 'x-request-id', ctx.requestId);
    if (token !== undefined) headers.push('authorization', `Bearer ${token}`);
    deps.signer.appendHeaders(headers, ext.record, ctx.requestId, cek.raw);
    ctx.forward = { action: action.def.name, bearer: token !== undefined };
    const started = performance.now();
    const result = await forwarder.forward({
      target: action.target,
      headers,
      body: cek.raw,
      timeoutMs: Math.min(action.def.timeoutMs, workDeadline(ctx) - Date.now()),
      allowPrivateTargets: ext.record.allowPrivateTargets === true,
    });
    const seconds = (performance.now() - started) / 1000;
    if (!result.ok) count(result.cause, seconds);
    return { result, seconds };
  }

  async function run(ctx: CekContext, action: CompiledAction): Promise<CekResponseBody> {
    const linking = deps.linking;
    const choice = action.def.useOAuthToken ? await chooseToken(ctx, action, linking) : ({ kind: 'none' } as const);
    if (choice.kind === 'prompt') return prompt(ctx, linking);
    if (choice.kind === 'unavailable') return failure(ctx, action, 'token_unavailable', undefined);
    const loginSuccess = choice.kind === 'vault' ? choice.loginSuccess : undefined;

    let sent = await forwardOnce(ctx, action, choice.kind === 'none' ? undefined : choice.token);
    if (!sent.result.ok && sent.result.cause === 'unauthorized' && choice.kind !== 'none') {
      // CLOVA's own token cannot be refreshed by us: the user has to link again.
      if (choice.kind === 'request' || linking === undefined) return prompt(ctx, linking);
      const refreshed = await beforeDeadline(ctx, linking.refreshAfterRejection(ctx.ext, ctx.cek.userId, choice.token, workDeadline(ctx)));
      if (refreshed === undefined || refreshed.status === 'unavailable') return failure(ctx, action, 'refresh_unavailable', loginSuccess);
      // A revoked grant has marked the link broken already (LinkedTokens contract): ask the user to link again.
      if (refreshed.status !== 'ok') return prompt(ctx, linking);
      sent = await forwardOnce(ctx, action, refreshed.token);
      if (!sent.result.ok && sent.result.cause === 'unauthorized') {
        await beforeDeadline(ctx, linking.markBroken(ctx.ext, ctx.cek.userId, 'target answered 401 to a refreshed token'));
        return prompt(ctx, linking);
      }
    }
    const { result } = sent;
    if (!result.ok) return failure(ctx, action, result.cause, loginSuccess, result.status);

    const lang = ctx.ext.langFor(ctx.cek.locale);
    const mapped = mapReply(result.contentType, result.body, { version: ctx.cek.version, lang });
    if (mapped === undefined) {
      count('bad_reply', sent.seconds);
      return failure(ctx, action, 'bad_reply', loginSuccess, result.status);
    }
    count('ok', sent.seconds);
    ctx.outcome = 'action';
    if (loginSuccess !== undefined) mapped.response.outputSpeech = prependSentence(mapped.response.outputSpeech, loginSuccess, lang);
    return mapped;
  }

  async function chooseToken(ctx: CekContext, action: CompiledAction, linking: LinkedTokens | undefined): Promise<TokenChoice> {
    const source = action.def.tokenSource;
    const fromRequest = ctx.cek.accessToken;
    if (source !== 'linked' && fromRequest !== undefined) return { kind: 'request', token: fromRequest };
    if (source === 'request') return { kind: 'prompt' };
    // Without account linking installed, or without a user to look up, there is no vault token.
    if (linking === undefined || ctx.cek.userId === '') return { kind: 'prompt' };
    const lookup: TokenLookup | undefined = await beforeDeadline(ctx, linking.accessToken(ctx.ext, ctx.cek.userId, workDeadline(ctx), ctx.cek.locale));
    if (lookup === undefined) return { kind: 'unavailable' };
    switch (lookup.status) {
      case 'ok':
        return { kind: 'vault', token: lookup.token, loginSuccess: lookup.loginSuccess };
      case 'unavailable':
        return { kind: 'unavailable' };
      default:
        return { kind: 'prompt' };
    }
  }

  async function prompt(ctx: CekContext, linking: LinkedTokens | undefined): Promise<CekResponseBody> {
    ctx.outcome = 'login_prompt';
    if (linking !== undefined) {
      const answer = await beforeDeadline(ctx, linking.loginPrompt(ctx));
      if (answer !== undefined) return answer;
      ctx.outcome = 'action_error';
      return errorResponse(ctx, undefined);
    }
    // Until account linking is installed: its message, with the link page and no pairing code.
    const prompt = ctx.ext.say('loginPrompt', ctx.cek.locale);
    const text = fillLoginPrompt(prompt.text, { url: `${deps.config.publicUrl}/link`, code: undefined });
    return cekResponse({ version: ctx.cek.version, speech: simpleSpeech(text, prompt.lang), shouldEndSession: true });
  }

  function failure(ctx: CekContext, action: CompiledAction, cause: Failure | 'token_unavailable' | 'refresh_unavailable', loginSuccess: string | undefined, status?: number): CekResponseBody {
    ctx.outcome = 'action_error';
    ctx.log.warn(
      { reqId: ctx.requestId, extensionId: ctx.ext.record.extensionId, action: action.def.name, target: action.target.origin, cause, ...(status === undefined ? {} : { status }) },
      'action method failed',
    );
    return errorResponse(ctx, loginSuccess);
  }

  function errorResponse(ctx: CekContext, loginSuccess: string | undefined): CekResponseBody {
    const error = ctx.ext.say('error', ctx.cek.locale);
    const lang = error.lang;
    const body = cekResponse({ version: ctx.cek.version, speech: simpleSpeech(error.text, lang), shouldEndSession: true });
    if (loginSuccess !== undefined) body.response.outputSpeech = prependSentence(body.response.outputSpeech, loginSuccess, lang);
    return body;
  }

  return async function actionResponder(ctx: CekContext): Promise<CekResponseBody | undefined> {
    const index = actionIndexOf(ctx.ext.record);
    if (index === undefined) return undefined;
    const action = matchAction(index, ctx.cek);
    if (action === undefined) return undefined;
    try {
      return await run(ctx, action);
    } catch (err) {
      // A bug or a failing dependency (linking, store) must still get the user an answer in time.
      ctx.outcome = 'action_error';
      ctx.log.error({ err, reqId: ctx.requestId, extensionId: ctx.ext.record.extensionId, action: action.def.name }, 'action method failed unexpectedly');
      return errorResponse(ctx, undefined);
    }
  };
}

/**
 * Waits for `work` until the request's deadline; `undefined` when the deadline comes first (the
 * work goes on, its result is ignored). Token lookups and refreshes call other servers; CLOVA
 * must get its answer anyway.
 */
async function beforeDeadline<T>(ctx: CekContext, work: Promise<T>): Promise<T | undefined> {
  // A late rejection, after the deadline won, must not become an unhandled rejection.
  work.catch(() => undefined);
  const left = workDeadline(ctx) - Date.now();
  if (left <= 0) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), left);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
