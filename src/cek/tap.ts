import type { CekContext, CekResponder } from './dispatch.js';

const NONE: Promise<undefined> = Promise.resolve(undefined);

/**
 * Lets a caller see inside the pipeline for the requests it sends itself (the admin test console):
 * it registers a request id, sends the request, then takes the context the answering responder
 * wrote its outcome into. Installed as the first responder; it never answers.
 *
 * Cost on the voice path when nothing is expected: one Map size check.
 */
export class CekTap {
  readonly #pending = new Map<string, { ctx?: CekContext }>();

  readonly responder: CekResponder = (ctx) => {
    if (this.#pending.size === 0) return NONE;
    const slot = this.#pending.get(ctx.requestId);
    if (slot !== undefined) slot.ctx = ctx;
    return NONE;
  };

  /** Registers a request id before it is sent. */
  expect(requestId: string): void {
    this.#pending.set(requestId, {});
  }

  /** After the response: the request's context, or `undefined` when it never reached dispatch (refused earlier). */
  take(requestId: string): CekContext | undefined {
    const slot = this.#pending.get(requestId);
    this.#pending.delete(requestId);
    return slot?.ctx;
  }
}
