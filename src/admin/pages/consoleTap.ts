import type { CekContext, CekResponder } from '../../cek/dispatch.js';
import { actionIndexOf, matchAction } from '../../actions/compile.js';
import type { ActionDefinition } from '../../actions/model.js';

/** What the console learns about one of its own requests while the CEK handler answers it. */
export interface TapReport {
  /** What answered (`action`, `action_error`, `login_prompt`, `welcome`, `fallback`, `ack`, …): read after the response. */
  outcome: string;
  /** The action method whose trigger matched, as the request path saw it. */
  action: ActionDefinition | undefined;
}

const NONE: Promise<undefined> = Promise.resolve(undefined);

/**
 * Lets the test console see what happened inside the CEK handler for the requests it sends itself
 * (and only those: they carry an `x-request-id` the console registered first). Installed as the
 * first responder; it never answers, it keeps the request's context so the console can read the
 * outcome the answering responder wrote into it, and which action matched (the same `matchAction`
 * the action responder uses, on the same cached extension record).
 *
 * Cost on the voice path when no console request is pending: one Map size check.
 */
export class ConsoleTap {
  readonly #pending = new Map<string, { ctx?: CekContext; action?: ActionDefinition | undefined }>();

  readonly responder: CekResponder = (ctx) => {
    if (this.#pending.size === 0) return NONE;
    const slot = this.#pending.get(ctx.requestId);
    if (slot !== undefined) {
      slot.ctx = ctx;
      const index = actionIndexOf(ctx.ext.record);
      slot.action = index === undefined ? undefined : matchAction(index, ctx.cek)?.def;
    }
    return NONE;
  };

  /** Registers a request id before the console sends it. */
  expect(requestId: string): void {
    this.#pending.set(requestId, {});
  }

  /** After the response: what the handler did, or `undefined` when the request never reached dispatch (refused earlier). */
  take(requestId: string): TapReport | undefined {
    const slot = this.#pending.get(requestId);
    this.#pending.delete(requestId);
    if (slot?.ctx === undefined) return undefined;
    return { outcome: slot.ctx.outcome, action: slot.action };
  }
}
