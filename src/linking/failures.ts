import { ERROR_CODES, type ErrorCode } from '../http/errors.js';
import { isStoreUnavailable } from '../store/unavailable.js';

/**
 * Why a step of account linking failed, in words for the person holding the phone. Each reason has
 * a page title, what happened and what to do; the technical cause goes to the log only. Each names
 * a code of the one error registry (`http/errors.ts`), and the page answers with that code's status.
 */
export const FAILURES = {
  malformed_code: {
    code: 'invalid_request',
    title: 'Enter the 12-digit code',
    body: 'A code is twelve digits, as CLOVA read it out (spaces are fine). This did not count as a try.',
    retry: 'Type the digits you heard and press Continue.',
  },
  invalid_code: {
    code: 'invalid_request',
    title: 'That code did not work',
    body: 'The code is wrong, was already used, or has expired (codes last 10 minutes).',
    retry: 'Ask CLOVA again to hear a new code, then enter it here.',
  },
  locked: {
    code: 'rate_limited',
    title: 'Too many tries',
    body: 'Too many wrong codes were entered from this device.',
    retry: 'Wait 15 minutes, then ask CLOVA for a new code.',
  },
  invalid_ticket: {
    code: 'invalid_request',
    title: 'This link does not work',
    body: 'The link is invalid, expired, or was already used.',
    retry: 'Ask the app or CLOVA for a new link.',
  },
  not_configured: {
    code: 'conflict',
    title: 'Account linking is not available',
    body: 'This extension is not set up for account linking right now.',
    retry: 'Please try again later.',
  },
  expired_state: {
    code: 'invalid_request',
    title: 'This sign-in has expired',
    body: 'The sign-in took longer than 5 minutes, or this page was opened twice.',
    retry: 'Ask CLOVA again to hear a new code and start over.',
  },
  denied: {
    code: 'invalid_request',
    title: 'Linking was cancelled',
    body: 'The sign-in was cancelled or access was not granted, so nothing was linked.',
    retry: 'To try again, ask CLOVA for a new code.',
  },
  provider_error: {
    code: 'upstream_error',
    title: 'The sign-in service refused the request',
    body: 'The account service answered with an error, so nothing was linked.',
    retry: 'Ask CLOVA for a new code and try again. If it keeps happening, contact the extension developer.',
  },
  provider_down: {
    code: 'upstream_error',
    title: 'The sign-in service is not answering',
    body: 'The account service could not be reached or did not answer in time, so nothing was linked.',
    retry: 'Wait a few minutes, then ask CLOVA for a new code and try again.',
  },
  store_unavailable: {
    code: 'store_unavailable',
    title: 'The service is temporarily unavailable',
    body: 'Account linking cannot be completed right now, so nothing was linked.',
    retry: 'Please try again shortly. If the code no longer works then, ask CLOVA for a new one.',
  },
  invalid_request: {
    code: 'invalid_request',
    title: 'Something is missing',
    body: 'This page was opened without the information it needs.',
    retry: 'Start again from the beginning: ask CLOVA for a code.',
  },
} as const satisfies Record<string, { code: ErrorCode; title: string; body: string; retry: string }>;

export type FailureReason = keyof typeof FAILURES;

/** What the page of a failed step shows, and the status it answers with (its code's, from the registry). */
export interface FailurePage {
  code: ErrorCode;
  status: number;
  title: string;
  body: string;
  retry: string;
}

export function failurePage(reason: FailureReason): FailurePage {
  const f = FAILURES[reason];
  return { code: f.code, status: ERROR_CODES[f.code], title: f.title, body: f.body, retry: f.retry };
}

export class LinkFailure extends Error {
  readonly reason: FailureReason;
  constructor(reason: FailureReason, detail?: string, cause?: unknown) {
    super(detail ?? reason, cause === undefined ? undefined : { cause });
    this.name = 'LinkFailure';
    this.reason = reason;
  }
}

/**
 * The failure of a link step as the user is told it, or `undefined` for an unexpected error (a bug).
 * A store that cannot answer is an outage of ours (503 `store_unavailable`), whatever step met it:
 * never the provider's error, never a missing extension.
 */
export function linkFailureOf(err: unknown): LinkFailure | undefined {
  if (err instanceof LinkFailure) return err;
  if (isStoreUnavailable(err)) return new LinkFailure('store_unavailable', 'the store does not answer', err);
  return undefined;
}
