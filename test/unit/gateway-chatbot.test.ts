import { cekRequestFor, chatbotResponse, parseChatbotMessage, speechTexts } from '../../src/gateway/chatbot.js';
import { acknowledgement, cekResponse, simpleSpeech } from '../../src/cek/response.js';
import { parseCekRequest } from '../../src/cek/parse.js';
import { AppError } from '../../src/http/errors.js';

const buf = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof AppError ? err.code : 'not an AppError';
  }
  return undefined;
};

describe('CLOVA Chatbot v2 messages', () => {
  const send = { version: 'v2', userId: 'Kx9mQ2rT7vWb', timestamp: 1614650142000, bubbles: [{ type: 'text', data: { description: '포인트 조회' } }], event: 'send' };

  test('the documented send example parses; the last text bubble is the text', () => {
    expect(parseChatbotMessage(buf(send))).toEqual({ userId: 'Kx9mQ2rT7vWb', event: 'send', text: '포인트 조회' });
    const two = {
      ...send,
      bubbles: [
        { type: 'text', data: { description: 'first' } },
        { type: 'text', data: { description: ' last ' } },
      ],
    };
    expect(parseChatbotMessage(buf(two)).text).toBe('last');
    expect(parseChatbotMessage(buf({ ...send, version: undefined, event: 'open', bubbles: [] }))).toEqual({ userId: 'Kx9mQ2rT7vWb', event: 'open', text: undefined });
  });

  test('malformed messages are 400s', () => {
    expect(codeOf(() => parseChatbotMessage(buf('{')))).toBe('invalid_json');
    expect(codeOf(() => parseChatbotMessage(buf('null')))).toBe('invalid_request');
    expect(codeOf(() => parseChatbotMessage(buf({ ...send, event: 'leave' })))).toBe('invalid_request');
    expect(codeOf(() => parseChatbotMessage(buf({ ...send, bubbles: [] })))).toBe('invalid_request');
    expect(codeOf(() => parseChatbotMessage(buf({ ...send, bubbles: [{ type: 'text', data: { description: '   ' } }] })))).toBe('invalid_request');
    expect(codeOf(() => parseChatbotMessage(buf({ ...send, timestamp: 1.5 })))).toBe('invalid_request');
    expect(codeOf(() => parseChatbotMessage(buf({ ...send, bubbles: [{ type: 'text', data: { description: 'x'.repeat(2001) } }] })))).toBe('invalid_request');
  });

  test('a send becomes a CEK IntentRequest Chatbot.Message that the CEK parser accepts as it is', () => {
    const cek = cekRequestFor(parseChatbotMessage(buf(send)), 'com.example.chat');
    const reparsed = parseCekRequest(cek.raw);
    expect(reparsed).toMatchObject({ type: 'IntentRequest', intentName: 'Chatbot.Message', applicationId: 'com.example.chat', userId: 'Kx9mQ2rT7vWb', accessToken: undefined });
    expect(cek).toMatchObject({ type: reparsed.type, intentName: reparsed.intentName, userId: reparsed.userId, version: reparsed.version });
    expect(reparsed.body.request.intent?.slots).toEqual({ text: { name: 'text', value: '포인트 조회' } });
    const open = cekRequestFor({ userId: 'u', event: 'open', text: undefined }, 'com.example.chat');
    expect(parseCekRequest(open.raw).type).toBe('LaunchRequest');
  });

  test('CEK speech becomes text bubbles; audio and acknowledgements give none', () => {
    expect(speechTexts(simpleSpeech('Hello there.', 'en'))).toEqual(['Hello there.']);
    expect(
      speechTexts({
        type: 'SpeechList',
        values: [
          { type: 'PlainText', lang: 'en', value: 'One.' },
          { type: 'URL', lang: '', value: 'https://x/a.mp3' },
          { type: 'PlainText', lang: 'en', value: 'Two.' },
        ],
      }),
    ).toEqual(['One.', 'Two.']);
    expect(
      speechTexts({ type: 'SpeechSet', brief: { type: 'PlainText', lang: 'en', value: 'b' }, verbose: { type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'en', value: 'verbose' } } }),
    ).toEqual(['verbose']);
    expect(speechTexts({})).toEqual([]);
    const msg = { userId: 'u', event: 'send' as const, text: 'hi' };
    expect(chatbotResponse(msg, cekResponse({ version: '1.0', speech: simpleSpeech('Hi!', 'en'), shouldEndSession: false }), 5)).toEqual({
      version: 'v2',
      userId: 'u',
      timestamp: 5,
      bubbles: [{ type: 'text', data: { description: 'Hi!' } }],
      event: 'send',
    });
    expect(chatbotResponse(msg, acknowledgement('1.0')).bubbles).toEqual([]);
  });
});
