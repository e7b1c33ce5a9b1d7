import { mapReply, prependSentence } from '../../src/actions/replyMapping.js';

const rc = { version: '1.0', lang: 'en' as const };
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('mapReply', () => {
  test('{speech} becomes SimpleSpeech in the extension language; endSession defaults to true', () => {
    expect(mapReply('application/json', json({ speech: 'Hi there.' }), rc)).toEqual({
      version: '1.0',
      sessionAttributes: {},
      response: { outputSpeech: { type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'en', value: 'Hi there.' } }, card: {}, directives: [], shouldEndSession: true },
    });
    const open = mapReply('application/json; charset=utf-8', json({ speech: 'More?', endSession: false, sessionAttributes: { a: 1 } }), { version: '0.1.0', lang: 'ja' });
    expect(open?.version).toBe('0.1.0');
    expect(open?.sessionAttributes).toEqual({ a: 1 });
    expect(open?.response.shouldEndSession).toBe(false);
    expect(open?.response.outputSpeech).toEqual({ type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'ja', value: 'More?' } });
  });

  test('text/plain becomes SimpleSpeech with the session ended; other charsets are decoded', () => {
    expect(mapReply('text/plain', Buffer.from('Plain words.'), rc)?.response).toMatchObject({
      outputSpeech: { type: 'SimpleSpeech', values: { value: 'Plain words.' } },
      shouldEndSession: true,
    });
    const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in ISO-8859-1
    expect(mapReply('text/plain; charset=ISO-8859-1', latin1, rc)?.response.outputSpeech).toMatchObject({ values: { value: 'café' } });
  });

  test('speech is fitted to CEK limits', () => {
    const out = mapReply('application/json', json({ speech: 'word '.repeat(400) }), rc);
    const value = (out?.response.outputSpeech as { values: { value: string } }).values.value;
    expect([...value].length).toBeLessThanOrEqual(1000);
    for (const sentence of value.split(/(?<=\.)\s/)) expect([...sentence].length).toBeLessThanOrEqual(200);
  });

  test.each([
    ['invalid JSON', 'application/json', Buffer.from('{"speech":')],
    ['a JSON array', 'application/json', json([1])],
    ['neither response nor speech', 'application/json', json({ text: 'x' })],
    ['speech not a string', 'application/json', json({ speech: 3 })],
    ['endSession not a boolean', 'application/json', json({ speech: 'x', endSession: 'yes' })],
    ['HTML', 'text/html', Buffer.from('<p>x</p>')],
    ['no content type', '', json({ speech: 'x' })],
    ['invalid UTF-8', 'text/plain', Buffer.from([0xff, 0xfe, 0xfd])],
    ['an unknown charset', 'text/plain; charset=klingon', Buffer.from('x')],
  ])('%s is not a reply', (_label, type, body) => {
    expect(mapReply(type, body, rc)).toBeUndefined();
  });

  test('a CEK response is normalised', () => {
    const out = mapReply(
      'application/json',
      json({
        response: {
          outputSpeech: {
            type: 'SpeechSet',
            brief: { type: 'PlainText', lang: 'ko', value: '요약' },
            verbose: { type: 'SimpleSpeech', values: { type: 'URL', lang: 'ko', value: 'https://cdn.example.com/a.mp3', token: 't-1' } },
          },
          card: 'nope',
          reprompt: { outputSpeech: { type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'en', value: 'x' } } },
        },
      }),
      rc,
    );
    expect(out).toEqual({
      version: '1.0',
      sessionAttributes: {},
      response: {
        outputSpeech: {
          type: 'SpeechSet',
          brief: { type: 'PlainText', lang: 'ko', value: '요약' },
          verbose: { type: 'SimpleSpeech', values: { type: 'URL', lang: '', value: 'https://cdn.example.com/a.mp3', token: 't-1' } },
        },
        card: {},
        directives: [],
        // Missing shouldEndSession ends the session; the reprompt is dropped with it.
        shouldEndSession: true,
      },
    });
  });

  test('invalid speech becomes {} rather than garbage', () => {
    for (const outputSpeech of [{ type: 'SimpleSpeech', values: { type: 'URL', value: 'ftp://x' } }, { type: 'SpeechList', values: [] }, { type: 'Nope' }, 'text']) {
      expect(mapReply('application/json', json({ response: { outputSpeech, shouldEndSession: true } }), rc)?.response.outputSpeech).toEqual({});
    }
  });
});

describe('prependSentence (loginSuccess before the answer)', () => {
  test('merged into a lone PlainText value as its own sentence', () => {
    expect(prependSentence({ type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'en', value: 'You have 3 points.' } }, 'Linked', 'en')).toEqual({
      type: 'SimpleSpeech',
      values: { type: 'PlainText', lang: 'en', value: 'Linked. You have 3 points.' },
    });
  });
  test('a PlainText item in front of lists, URLs and empty speech', () => {
    const url = { type: 'URL' as const, lang: '' as const, value: 'https://cdn.example.com/a.mp3' };
    expect(prependSentence({ type: 'SimpleSpeech', values: url }, 'Linked.', 'en')).toEqual({
      type: 'SpeechList',
      values: [{ type: 'PlainText', lang: 'en', value: 'Linked.' }, url],
    });
    expect(prependSentence({}, 'Linked.', 'ja')).toEqual({ type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'ja', value: 'Linked.' } });
    expect(prependSentence({ type: 'SpeechList', values: [url] }, 'リンクしました', 'ja')).toEqual({
      type: 'SpeechList',
      values: [{ type: 'PlainText', lang: 'ja', value: 'リンクしました。' }, url],
    });
  });
  test('limits still hold', () => {
    const out = prependSentence({ type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'en', value: 'a '.repeat(499).trim() } }, 'Linked.', 'en');
    expect([...(out as { values: { value: string } }).values.value].length).toBeLessThanOrEqual(1000);
  });
});
