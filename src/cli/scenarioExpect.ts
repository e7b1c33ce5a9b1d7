import { isDeepStrictEqual } from 'node:util';
import type { TestRequestReport } from '../admin/api/testRequestsRoutes.js';
import { spokenText } from '../cek/sample.js';
import type { Expectation } from './scenarioSchema.js';

/** One expectation a turn's answer did not meet, in the words of the report. */
export interface Mismatch {
  /** The expectation as written in the file, e.g. `speech.contains`, `target.bearer`. */
  expectation: string;
  expected: string;
  got: string;
}

const at = (value: unknown, key: string): unknown => (typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.entries(value).find(([k]) => k === key)?.[1] : undefined);
const show = (value: unknown): string => (value === undefined ? '(nothing)' : JSON.stringify(value));

/** The `namespace.name` of each directive of a CEK response, in order. */
export function directiveTypes(response: unknown): string[] {
  const list = at(at(response, 'response'), 'directives');
  if (!Array.isArray(list)) return [];
  return list.map((d: unknown) => {
    const header = at(d, 'header');
    return `${String(at(header, 'namespace'))}.${String(at(header, 'name'))}`;
  });
}

/** `expected` within `got`: every key given there with that value, nested objects the same way; arrays and other values equal. */
export function partialMatch(expected: unknown, got: unknown): boolean {
  if (typeof expected === 'object' && expected !== null && !Array.isArray(expected)) {
    return Object.entries(expected).every(([key, value]) => partialMatch(value, at(got, key)));
  }
  return isDeepStrictEqual(expected, got);
}

/** Checks one answer against a turn's expectations; the status is expected to be 200 unless the turn says otherwise. */
export function checkTurn(expect: Expectation | undefined, got: TestRequestReport): Mismatch[] {
  const e = expect ?? {};
  const out: Mismatch[] = [];
  const mismatch = (expectation: string, expected: string, actual: string): void => {
    out.push({ expectation, expected, got: actual });
  };
  const status = e.status ?? 200;
  if (got.status !== status) {
    const code = at(at(got.response, 'error'), 'code');
    mismatch('status', String(status), `${got.status}${typeof code === 'string' ? ` (${code}: ${String(at(at(got.response, 'error'), 'message'))})` : ''}`);
  }
  const spoken = got.status === 200 ? spokenText(got.response) : undefined;
  if (e.speech !== undefined) {
    const speech = spoken?.speech;
    const shown = speech === undefined ? '(no speech)' : JSON.stringify(speech);
    if (e.speech.equals !== undefined && speech !== e.speech.equals) mismatch('speech.equals', JSON.stringify(e.speech.equals), shown);
    if (e.speech.contains !== undefined && !(speech ?? '').includes(e.speech.contains)) mismatch('speech.contains', JSON.stringify(e.speech.contains), shown);
    if (e.speech.matches !== undefined && !new RegExp(e.speech.matches, 'u').test(speech ?? '')) mismatch('speech.matches', `/${e.speech.matches}/`, shown);
  }
  if (e.shouldEndSession !== undefined && spoken?.endsSession !== e.shouldEndSession) mismatch('shouldEndSession', String(e.shouldEndSession), show(spoken?.endsSession));
  if (e.directives !== undefined) {
    const types = directiveTypes(got.response);
    if (!isDeepStrictEqual(types, e.directives)) mismatch('directives', show(e.directives), show(types));
  }
  if (e.sessionAttributes !== undefined) {
    const attributes = at(got.response, 'sessionAttributes');
    if (!partialMatch(e.sessionAttributes, attributes)) mismatch('sessionAttributes', `${show(e.sessionAttributes)} (at least)`, show(attributes));
  }
  if (e.outcome !== undefined && got.outcome !== e.outcome) mismatch('outcome', e.outcome, got.outcome ?? '(refused before dispatch)');
  if (e.target !== undefined) {
    const called = got.action?.forwarded === true;
    const calledText = (c: boolean) => (c ? 'called' : 'not called');
    if (called !== e.target.called)
      mismatch('target.called', calledText(e.target.called), `${calledText(called)}${got.action === undefined ? ' (no action method matched)' : ` (action ${got.action.name})`}`);
    else if (called && e.target.bearer !== undefined && got.action?.tokenSent !== e.target.bearer) {
      const tokenText = (b: boolean) => (b ? 'with a bearer token' : 'without a bearer token');
      mismatch('target.bearer', tokenText(e.target.bearer), tokenText(got.action?.tokenSent === true));
    }
  }
  return out;
}
