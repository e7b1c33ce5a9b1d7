import { describe, expect, test } from '@jest/globals';
import type { TestRequestReport } from '../../src/admin/api/testRequestsRoutes.js';
import { checkTurn, directiveTypes, partialMatch } from '../../src/cli/scenarioExpect.js';

/** The scenario runner's expectations against answers as the test-requests route reports them. */
const answer = (over: Partial<TestRequestReport> = {}): TestRequestReport => ({
  requestId: 'r-1',
  status: 200,
  outcome: 'action',
  testUser: false,
  action: { name: 'Play', forwarded: true, tokenSent: false },
  response: {
    version: '1.0',
    sessionAttributes: { step: 2, cart: { items: 1, total: 9 } },
    response: {
      outputSpeech: {
        type: 'SpeechList',
        values: [
          { type: 'PlainText', lang: 'en', value: 'Here it is.' },
          { type: 'URL', lang: '', value: 'https://a.example/x.mp3' },
        ],
      },
      card: {},
      directives: [{ header: { namespace: 'AudioPlayer', name: 'Play', messageId: 'm' }, payload: {} }],
      shouldEndSession: true,
    },
  },
  ...over,
});

describe('scenario expectations', () => {
  test('an answer meeting every expectation has no mismatch', () => {
    expect(
      checkTurn(
        {
          speech: { contains: 'Here it is', matches: '^Here .*x\\.mp3\\]$' },
          shouldEndSession: true,
          directives: ['AudioPlayer.Play'],
          sessionAttributes: { cart: { items: 1 } },
          outcome: 'action',
          target: { called: true, bearer: false },
        },
        answer(),
      ),
    ).toEqual([]);
  });

  test('each mismatch names the expectation with expected and got', () => {
    expect(
      checkTurn({ speech: { equals: 'Hi.' }, shouldEndSession: false, directives: [], sessionAttributes: { step: 3 }, outcome: 'welcome', target: { called: true, bearer: true } }, answer()),
    ).toEqual([
      { expectation: 'speech.equals', expected: '"Hi."', got: '"Here it is. [audio https://a.example/x.mp3]"' },
      { expectation: 'shouldEndSession', expected: 'false', got: 'true' },
      { expectation: 'directives', expected: '[]', got: '["AudioPlayer.Play"]' },
      { expectation: 'sessionAttributes', expected: '{"step":3} (at least)', got: '{"step":2,"cart":{"items":1,"total":9}}' },
      { expectation: 'outcome', expected: 'welcome', got: 'action' },
      { expectation: 'target.bearer', expected: 'with a bearer token', got: 'without a bearer token' },
    ]);
  });

  test('status 200 is expected unless the turn says otherwise; a refusal shows its code', () => {
    const refused = answer({ status: 401, outcome: null, response: { error: { code: 'missing_api_key', message: 'An API key is required.' } } });
    delete refused.action;
    expect(checkTurn(undefined, refused)).toEqual([{ expectation: 'status', expected: '200', got: '401 (missing_api_key: An API key is required.)' }]);
    expect(checkTurn({ status: 401, target: { called: false } }, refused)).toEqual([]);
    expect(checkTurn({ outcome: 'action' }, refused)).toContainEqual({ expectation: 'outcome', expected: 'action', got: '(refused before dispatch)' });
    expect(checkTurn({ status: 401, target: { called: true } }, refused)).toEqual([{ expectation: 'target.called', expected: 'called', got: 'not called (no action method matched)' }]);
  });

  test('partial match: given keys only, nested objects alike, arrays and values exactly', () => {
    expect(partialMatch({ a: { b: 1 } }, { a: { b: 1, c: 2 }, d: 3 })).toBe(true);
    expect(partialMatch({ a: [1] }, { a: [1, 2] })).toBe(false);
    expect(partialMatch({ a: 1 }, { a: '1' })).toBe(false);
    expect(partialMatch({ a: null }, {})).toBe(false);
    expect(partialMatch({}, undefined)).toBe(true);
  });

  test('directive types come from each header, in order', () => {
    expect(directiveTypes({ response: { directives: [{ header: { namespace: 'A', name: 'b' } }, { header: { namespace: 'C', name: 'd' } }] } })).toEqual(['A.b', 'C.d']);
    expect(directiveTypes({})).toEqual([]);
  });
});
