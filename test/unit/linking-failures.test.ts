import { ERROR_CODES } from '../../src/http/errors.js';
import { FAILURES, failurePage, type FailureReason } from '../../src/linking/failures.js';

/** The statuses the link pages answered with before the reasons named registry codes; they stay. */
const PAGE_STATUS: Record<FailureReason, number> = {
  malformed_code: 400,
  invalid_code: 400,
  locked: 429,
  invalid_ticket: 400,
  not_configured: 409,
  expired_state: 400,
  denied: 400,
  provider_error: 502,
  provider_down: 502,
  invalid_request: 400,
};
const isReason = (r: string): r is FailureReason => r in FAILURES;

describe('account-linking failure reasons', () => {
  test("each reason names a registered error code, and its page answers with that code's status", () => {
    for (const reason of Object.keys(FAILURES).filter(isReason)) {
      const page = failurePage(reason);
      expect(Object.keys(ERROR_CODES)).toContain(page.code);
      expect({ reason, status: page.status }).toEqual({ reason, status: ERROR_CODES[FAILURES[reason].code] });
    }
  });

  test('the pages keep their statuses: 400 for what the user can fix, 429 locked, 409 not configured, 502 the provider', () => {
    expect(Object.keys(PAGE_STATUS).sort()).toEqual(Object.keys(FAILURES).sort());
    for (const reason of Object.keys(PAGE_STATUS).filter(isReason)) expect({ reason, status: failurePage(reason).status }).toEqual({ reason, status: PAGE_STATUS[reason] });
  });
});
