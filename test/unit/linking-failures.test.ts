import { ERROR_CODES } from '../../src/http/errors.js';
import { FAILURES, failurePage, LinkFailure, linkFailureOf, type FailureReason } from '../../src/linking/failures.js';
import { flowFailureOf } from '../../src/linking/flowFailure.js';
import { StoreUnavailableError } from '../../src/store/unavailable.js';

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
  store_unavailable: 503,
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

  test('the pages keep their statuses: 400 for what the user can fix, 429 locked, 409 not configured, 502 the provider, 503 our store', () => {
    expect(Object.keys(PAGE_STATUS).sort()).toEqual(Object.keys(FAILURES).sort());
    for (const reason of Object.keys(PAGE_STATUS).filter(isReason)) expect({ reason, status: failurePage(reason).status }).toEqual({ reason, status: PAGE_STATUS[reason] });
  });
});

describe('a store that cannot answer, met at any step of linking', () => {
  // What the stores throw: our own fail-fast error, ioredis giving up on a command (also wrapped), a locked SQLite file.
  const outages: unknown[] = [
    new StoreUnavailableError('Redis is not answering'),
    Object.assign(new Error('Reached the max retries per request limit'), { name: 'MaxRetriesPerRequestError' }),
    new Error('link step failed', { cause: new Error('Connection is closed.') }),
    Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }),
  ];

  test('is store_unavailable (503), never the provider refusing or not answering', () => {
    for (const err of outages) {
      expect(linkFailureOf(err)?.reason).toBe('store_unavailable');
      expect(flowFailureOf(err).reason).toBe('store_unavailable');
    }
    expect(failurePage('store_unavailable')).toMatchObject({ code: 'store_unavailable', status: 503, title: 'The service is temporarily unavailable' });
    expect(failurePage('store_unavailable').retry).toMatch(/^Please try again shortly\./);
  });

  test('a failure already put into words stays as it is; anything else is not taken for an outage', () => {
    const failure = new LinkFailure('invalid_code');
    expect(linkFailureOf(failure)).toBe(failure);
    expect(linkFailureOf(new Error('something else'))).toBeUndefined();
    expect(flowFailureOf(new Error('something else')).reason).toBe('provider_error');
  });
});
