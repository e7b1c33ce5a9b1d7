import type { CekContext } from '../cek/dispatch.js';
import type { CekResponseBody } from '../cek/types.js';
import type { ResolvedExtension } from '../extensions/registry.js';

/**
 * The result of asking for a user's token:
 * - `ok`: a usable access token; `loginSuccess` is set the first time after the user linked
 *   (speak it before the answer, once);
 * - `unlinked` / `broken`: no usable link: prompt the user to link (`loginPrompt`);
 * - `unavailable`: the link exists but the token could not be refreshed in time (provider down or
 *   slow, or refusing the extension's client settings), or not read (the store down, a record from a
 *   newer cek-gateway): speak the extension's `error` message, do not ask the user to link again.
 */
export type TokenLookup = { status: 'ok'; token: string; loginSuccess?: string } | { status: 'unlinked' | 'broken' | 'unavailable' };

/**
 * What account linking offers the rest of the service (action methods, messenger routes).
 * Implemented by `linking/`; action methods depend only on this interface. One store read per call
 * in the common case (the token record).
 */
export interface LinkedTokens {
  /**
   * The user's access token from the vault, refreshed first when it is within `REFRESH_SKEW_SECONDS`
   * (at most half its lifetime) of expiry. `deadline` (epoch ms): when the caller needs the answer;
   * waiting for another instance's refresh and the provider call are cut to it. `locale`: the
   * request's `request.locale`, the language of `loginSuccess`.
   */
  accessToken(ext: ResolvedExtension, userId: string, deadline?: number, locale?: string): Promise<TokenLookup>;
  /**
   * Called when a target answered 401 to `rejected`: refreshes once (one worker across instances)
   * and returns the new token. Only a revoked grant marks the link broken (`broken`); a provider that
   * is down or refuses the client gives `unavailable` and the link stays.
   */
  refreshAfterRejection(ext: ResolvedExtension, userId: string, rejected: string, deadline?: number): Promise<TokenLookup>;
  /** Marks the link broken (e.g. a second 401 after a refresh): the next request prompts the user again. */
  markBroken(ext: ResolvedExtension, userId: string, reason: string): Promise<void>;
  /** The CEK response that asks the user to link: `loginPromptMessage` with `{url}` and a pairing `{code}`, session ended. */
  loginPrompt(ctx: CekContext): Promise<CekResponseBody>;
}
