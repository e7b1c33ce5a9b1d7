import { readFileSync } from 'node:fs';
import { parseCekRequest } from '../../src/cek/parse.js';
import { type AppError } from '../../src/http/errors.js';
import { eventRequest, intentRequest, launchRequest } from '../helpers/cek.js';

const parse = (v: unknown) => parseCekRequest(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));
const codeOf = (v: unknown): string => {
  try {
    parse(v);
    return 'ok';
  } catch (err) {
    return (err as AppError).code;
  }
};

describe('parseCekRequest', () => {
  test('the genuine CLOVA request: placeholder intent/event, slots null, extra fields', () => {
    const { body } = JSON.parse(readFileSync(new URL('../fixtures/genuine-signed-request.json', import.meta.url), 'utf8')) as { body: string };
    const r = parse(body);
    expect(r.type).toBe('LaunchRequest');
    expect(r.applicationId).toBe('com.chens.morning');
    expect(r.userId).toBe('Tda7Ron7Rn-2BZdXp10uvg');
    expect(r.accessToken).toBeUndefined();
    expect(r.intentName).toBeUndefined();
  });

  test('tolerates session null, no accessToken, slots null, version 0.1.0, extra fields', () => {
    const ev = eventRequest({ extensionId: 'com.a.b', namespace: 'ClovaSkill', name: 'SkillDisabled', nullSession: true });
    const r = parse(ev);
    expect(r.userId).toBe('user-1');
    expect(r.sessionAttributes).toEqual({});
    expect(r.eventNamespace).toBe('ClovaSkill');
    const i = parse({ ...intentRequest({ extensionId: 'com.a.b', intent: 'X', slots: null, version: '0.1.0' }), extra: { deep: [1] } });
    expect(i.intentName).toBe('X');
    expect(i.version).toBe('0.1.0');
  });

  test('the speaker’s token is used, and the owner’s only when the speaker is the owner', () => {
    const same = launchRequest({ extensionId: 'com.a.b', userId: 'u1', accessToken: 'tok' });
    expect(parse(same).accessToken).toBe('tok');
    const other = launchRequest({ extensionId: 'com.a.b', userId: 'u1' });
    other.context.System.user = { userId: 'owner', accessToken: 'owner-token' };
    expect(parse(other).accessToken).toBeUndefined();
    const empty = launchRequest({ extensionId: 'com.a.b', accessToken: '' });
    expect(parse(empty).accessToken).toBeUndefined();
  });

  test.each([
    ['malformed JSON', '{"version":', 'invalid_json'],
    ['an empty body', '', 'invalid_json'],
    ['a JSON array', '[1,2]', 'invalid_request'],
    ['a JSON string', '"hello"', 'invalid_request'],
    ['null', 'null', 'invalid_request'],
  ])('%s → %s', (_name, body, code) => {
    expect(codeOf(body)).toBe(code);
  });

  test('missing or unknown request.type, missing intent name, missing applicationId → invalid_request', () => {
    const base = launchRequest({ extensionId: 'com.a.b' });
    expect(codeOf({ ...base, request: {} })).toBe('invalid_request');
    expect(codeOf({ ...base, request: { type: 'DanceRequest' } })).toBe('invalid_request');
    expect(codeOf({ ...base, request: { type: 'IntentRequest', intent: { slots: {} } } })).toBe('invalid_request');
    expect(codeOf({ ...base, request: { type: 'EventRequest', event: {} } })).toBe('invalid_request');
    expect(codeOf({ ...base, context: { System: {} } })).toBe('invalid_request');
    expect(codeOf({ ...base, version: 1 })).toBe('invalid_request');
    expect(codeOf({ ...base, session: 'x' })).toBe('invalid_request');
  });
});
