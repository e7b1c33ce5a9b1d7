import { acknowledgement, cekResponse, fitSpeechText, simpleSpeech, SPEECH_LIMITS } from '../../src/cek/response.js';

const len = (s: string) => [...s].length;

describe('CEK response builder', () => {
  test('always sends card {}, directives [], the echoed version and shouldEndSession', () => {
    const r = cekResponse({ version: '0.1.0', speech: simpleSpeech('Hi', 'en'), shouldEndSession: false, sessionAttributes: { a: 1 } });
    expect(r).toEqual({
      version: '0.1.0',
      sessionAttributes: { a: 1 },
      response: {
        outputSpeech: { type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'en', value: 'Hi' } },
        card: {},
        directives: [],
        shouldEndSession: false,
      },
    });
    expect(acknowledgement('1.0')).toEqual({
      version: '1.0',
      sessionAttributes: {},
      response: { outputSpeech: {}, card: {}, directives: [], shouldEndSession: true },
    });
  });

  test('short text is left alone; whitespace is normalised', () => {
    expect(fitSpeechText('  Hello   there.\nHow are you?  ', 'en')).toBe('Hello there. How are you?');
    expect(fitSpeechText('You have 3.5 points.', 'en')).toBe('You have 3.5 points.');
  });

  test('no sentence over 200 characters and at most 1000 in all, in every language', () => {
    const long = `${'word '.repeat(120)}end.`;
    const en = fitSpeechText(`${long} ${long} ${long}`, 'en');
    expect(len(en)).toBeLessThanOrEqual(SPEECH_LIMITS.total);
    for (const s of en.split(/(?<=\.)\s+/)) expect(len(s)).toBeLessThanOrEqual(SPEECH_LIMITS.sentence);
    expect(en.startsWith('word word')).toBe(true);

    const ko = fitSpeechText('가나다라 '.repeat(400), 'ko');
    expect(len(ko)).toBeLessThanOrEqual(SPEECH_LIMITS.total);
    for (const s of ko.split(/(?<=\.)\s+/)) expect(len(s)).toBeLessThanOrEqual(SPEECH_LIMITS.sentence);

    const ja = fitSpeechText('あ'.repeat(700), 'ja');
    expect(len(ja)).toBeLessThanOrEqual(SPEECH_LIMITS.total);
    for (const s of ja.split(/(?<=。)/)) expect(len(s)).toBeLessThanOrEqual(SPEECH_LIMITS.sentence);
  });

  test('characters are counted as code points (emoji count once)', () => {
    const text = '😀'.repeat(150);
    expect(fitSpeechText(text, 'en')).toBe(text);
  });

  test('an empty message gives an empty outputSpeech', () => {
    expect(simpleSpeech('   ', 'ko')).toEqual({});
  });
});
