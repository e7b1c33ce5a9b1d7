import type { Logger } from '../http/logger.js';
import type { ResolvedExtension } from '../extensions/registry.js';
import { acknowledgement, cekResponse, simpleSpeech } from './response.js';
import type { CekRequest, CekResponseBody } from './types.js';

/** Everything a responder gets for one verified CEK request. */
export interface CekContext {
  readonly cek: CekRequest;
  readonly ext: ResolvedExtension;
  readonly requestId: string;
  readonly log: Logger;
  /**
   * Epoch ms by which the response must have left: 7.5 s after the request's first byte (CEK's 8 s,
   * less a safety margin). Every step that waits on another server is cut to what is left of it.
   */
  readonly deadline: number;
  /** Set by a responder to name what answered, for the log line and metrics (e.g. `action`, `login_prompt`). */
  outcome: string;
  /**
   * Set by the action responder each time it calls a target: which action, and whether a bearer
   * token went with it. The test requests report it (the tap sees it), so "the target was called
   * with a token" is what happened, not what the action's settings suggest.
   */
  forward?: { action: string; bearer: boolean };
}

/**
 * A feature's part in answering CEK requests (action methods, account linking): returns a response
 * when it handles the request, `undefined` to let the next one (and finally the defaults) answer.
 */
export type CekResponder = (ctx: CekContext) => Promise<CekResponseBody | undefined>;

/** Runs the responders in order; the first answer wins, else the built-in behaviour of DESIGN.md section 4. */
export async function dispatch(ctx: CekContext, responders: readonly CekResponder[]): Promise<CekResponseBody> {
  for (const responder of responders) {
    const answer = await responder(ctx);
    if (answer !== undefined) return answer;
  }
  return defaultResponse(ctx);
}

export function defaultResponse(ctx: CekContext): CekResponseBody {
  const { cek, ext } = ctx;
  switch (cek.type) {
    case 'LaunchRequest': {
      ctx.outcome = 'welcome';
      const welcome = ext.say('welcome', cek.locale);
      return cekResponse({
        version: cek.version,
        speech: simpleSpeech(welcome.text, welcome.lang),
        sessionAttributes: cek.sessionAttributes,
        shouldEndSession: false,
      });
    }
    case 'IntentRequest': {
      ctx.outcome = 'fallback';
      const fallback = ext.say('fallback', cek.locale);
      return cekResponse({
        version: cek.version,
        speech: simpleSpeech(fallback.text, fallback.lang),
        sessionAttributes: cek.sessionAttributes,
        shouldEndSession: false,
      });
    }
    case 'SessionEndedRequest':
    case 'EventRequest':
      ctx.outcome = 'ack';
      return acknowledgement(cek.version);
  }
}
