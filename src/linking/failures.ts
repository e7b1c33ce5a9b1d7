/**
 * Why a step of account linking failed, in words for the person holding the phone. Each reason has
 * a page title, what happened and what to do; the technical cause goes to the log only.
 */
export const FAILURES = {
  malformed_code: {
    status: 400,
    title: 'Enter the 12-digit code',
    body: 'A code is twelve digits, as CLOVA read it out (spaces are fine). This did not count as a try.',
    retry: 'Type the digits you heard and press Continue.',
  },
  invalid_code: {
    status: 400,
    title: 'That code did not work',
    body: 'The code is wrong, was already used, or has expired (codes last 10 minutes).',
    retry: 'Ask CLOVA again to hear a new code, then enter it here.',
  },
  locked: {
    status: 429,
    title: 'Too many tries',
    body: 'Too many wrong codes were entered from this device.',
    retry: 'Wait 15 minutes, then ask CLOVA for a new code.',
  },
  invalid_ticket: {
    status: 400,
    title: 'This link does not work',
    body: 'The link is invalid, expired, or was already used.',
    retry: 'Ask the app or CLOVA for a new link.',
  },
  not_configured: {
    status: 409,
    title: 'Account linking is not available',
    body: 'This extension is not set up for account linking right now.',
    retry: 'Please try again later.',
  },
  expired_state: {
    status: 400,
    title: 'This sign-in has expired',
    body: 'The sign-in took longer than 5 minutes, or this page was opened twice.',
    retry: 'Ask CLOVA again to hear a new code and start over.',
  },
  denied: {
    status: 400,
    title: 'Linking was cancelled',
    body: 'The sign-in was cancelled or access was not granted, so nothing was linked.',
    retry: 'To try again, ask CLOVA for a new code.',
  },
  provider_error: {
    status: 502,
    title: 'The sign-in service refused the request',
    body: 'The account service answered with an error, so nothing was linked.',
    retry: 'Ask CLOVA for a new code and try again. If it keeps happening, contact the extension developer.',
  },
  provider_down: {
    status: 502,
    title: 'The sign-in service is not answering',
    body: 'The account service could not be reached or did not answer in time, so nothing was linked.',
    retry: 'Wait a few minutes, then ask CLOVA for a new code and try again.',
  },
  invalid_request: {
    status: 400,
    title: 'Something is missing',
    body: 'This page was opened without the information it needs.',
    retry: 'Start again from the beginning: ask CLOVA for a code.',
  },
} as const;

export type FailureReason = keyof typeof FAILURES;

export class LinkFailure extends Error {
  readonly reason: FailureReason;
  constructor(reason: FailureReason, detail?: string, cause?: unknown) {
    super(detail ?? reason, cause === undefined ? undefined : { cause });
    this.name = 'LinkFailure';
    this.reason = reason;
  }
}
