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
  readonly #pending = new Map<string, { ctx?: CekContext; testUser: boolean }>();

  readonly responder: CekResponder = (ctx) => {
    if (this.#pending.size === 0) return NONE;
    const slot = this.#pending.get(ctx.requestId);
    if (slot !== undefined) slot.ctx = ctx;
    return NONE;
  };

  /**
   * Registers a request id before it is sent. `testUser`: the request speaks for a test user, so the
   * gates neither count it nor hold it to quotas. Only this process's own sender can claim that: the
   * request id is random and registered here, never taken from what a caller says.
   */
  expect(requestId: string, o: { testUser?: boolean } = {}): void {
    this.#pending.set(requestId, { testUser: o.testUser === true });
  }

  /** Whether `requestId` is a request this process sent for a test user (cost when nothing is expected: one Map size check). */
  isTestUserCall(requestId: string): boolean {
    if (this.#pending.size === 0) return false;
    return this.#pending.get(requestId)?.testUser === true;
  }

  /** After the response: the request's context, or `undefined` when it never reached dispatch (refused earlier). */
  take(requestId: string): CekContext | undefined {
    const slot = this.#pending.get(requestId);
    this.#pending.delete(requestId);
    return slot?.ctx;
  }
}
