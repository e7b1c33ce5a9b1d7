import { actionIndexOf, matchAction } from '../../src/actions/compile.js';
import { actionInput, triggerKey, type ActionDefinition, type ActionTrigger } from '../../src/actions/model.js';
import type { CekRequest } from '../../src/cek/types.js';
import type { ExtensionRecord } from '../../src/extensions/model.js';

describe('actionInput', () => {
  test('defaults', () => {
    expect(actionInput.parse({ trigger: { type: 'LaunchRequest' }, url: 'https://example.com/x' })).toEqual({
      trigger: { type: 'LaunchRequest' },
      url: 'https://example.com/x',
      useOAuthToken: false,
      tokenSource: 'auto',
      timeoutMs: 3000,
      headers: {},
    });
  });
  test('header names are case-insensitive: the same one twice is refused', () => {
    const r = actionInput.safeParse({ trigger: { type: 'LaunchRequest' }, url: 'https://example.com/x', headers: { 'X-Key': 'a', 'x-key': 'b' } });
    expect(r.success).toBe(false);
  });
});

describe('trigger keys and matching', () => {
  const def = (name: string, trigger: ActionTrigger): ActionDefinition => ({
    name,
    trigger,
    url: `https://example.com/${name}`,
    useOAuthToken: false,
    tokenSource: 'auto',
    timeoutMs: 3000,
    headers: {},
    createdAt: '',
    updatedAt: '',
  });
  const record = (defs: ActionDefinition[]): ExtensionRecord =>
    ({ extensionId: 'com.example.x', sections: { actions: Object.fromEntries(defs.map((d) => [d.name, d])) } }) as unknown as ExtensionRecord;
  const req = (type: CekRequest['type'], extra: Partial<CekRequest> = {}): CekRequest => ({ type, intentName: undefined, eventNamespace: undefined, eventName: undefined, ...extra }) as CekRequest;

  test('event triggers: the most specific one wins', () => {
    const rec = record([
      def('any', { type: 'EventRequest' }),
      def('ns', { type: 'EventRequest', namespace: 'AudioPlayer' }),
      def('exact', { type: 'EventRequest', namespace: 'AudioPlayer', name: 'PlayFinished' }),
      def('name', { type: 'EventRequest', name: 'PlayStarted' }),
    ]);
    const index = actionIndexOf(rec)!;
    const ev = (ns: string, name: string) => matchAction(index, req('EventRequest', { eventNamespace: ns, eventName: name }))?.def.name;
    expect(ev('AudioPlayer', 'PlayFinished')).toBe('exact');
    expect(ev('AudioPlayer', 'PlayPaused')).toBe('ns');
    expect(ev('Other', 'PlayStarted')).toBe('name');
    expect(ev('Other', 'Else')).toBe('any');
  });

  test('intents by name; launch and session end; nothing for an extension without actions', () => {
    const rec = record([def('a', { type: 'IntentRequest', intent: 'A' }), def('l', { type: 'LaunchRequest' })]);
    const index = actionIndexOf(rec)!;
    expect(matchAction(index, req('IntentRequest', { intentName: 'A' }))?.def.name).toBe('a');
    expect(matchAction(index, req('IntentRequest', { intentName: 'B' }))).toBeUndefined();
    expect(matchAction(index, req('LaunchRequest'))?.def.name).toBe('l');
    expect(matchAction(index, req('SessionEndedRequest'))).toBeUndefined();
    expect(actionIndexOf(record([]))).toBeUndefined();
    // Compiled once per record object.
    expect(actionIndexOf(rec)).toBe(index);
  });

  test('trigger keys tell triggers apart', () => {
    expect(triggerKey({ type: 'IntentRequest', intent: 'A' })).not.toBe(triggerKey({ type: 'IntentRequest', intent: 'B' }));
    expect(triggerKey({ type: 'EventRequest', namespace: 'N' })).not.toBe(triggerKey({ type: 'EventRequest', namespace: 'N', name: 'x' }));
    expect(triggerKey({ type: 'LaunchRequest' })).toBe('LaunchRequest');
  });
});
