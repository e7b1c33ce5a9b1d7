import { z } from 'zod';
import type { CekRequest, CekRequestBody, CekResponseBody, OutputSpeech, SpeechInfo } from '../cek/types.js';
import { AppError } from '../http/errors.js';
import { parseJsonObject } from '../http/jsonBody.js';
import { parseInput } from '../http/validate.js';

/**
 * CLOVA Chatbot custom-channel v2 messages (cek-protocol.md section 8.1), and their translation to
 * and from CEK, so the messenger routes are answered by the same responders as voice.
 */

/** The intent a `send` message becomes; its one slot, `text`, holds what the user wrote. */
export const CHATBOT_INTENT = 'Chatbot.Message';
export const CHATBOT_TEXT_SLOT = 'text';
const MAX_TEXT = 2_000;

const bubble = z
  .object({
    type: z.string().min(1).max(64),
    data: z
      .object({ description: z.string().max(MAX_TEXT, `must be at most ${MAX_TEXT} characters`).optional() })
      .passthrough()
      .optional(),
  })
  .passthrough();

// Extra top-level fields (userIp, future ones) are tolerated, as CLOVA's own traffic must be; the
// fields the translation relies on are checked strictly.
const v2Message = z
  .object({
    version: z.string().max(16).optional(),
    userId: z.string({ error: 'is required' }).min(1, 'must not be empty').max(256, 'must be at most 256 characters'),
    userIp: z.string().max(64).optional(),
    timestamp: z.number({ error: 'must be a number (ms since the epoch)' }).int('must be an integer').nonnegative(),
    bubbles: z.array(bubble, { error: 'must be an array' }).max(50),
    event: z.enum(['send', 'open'], { error: 'must be "send" or "open"' }),
  })
  .passthrough()
  .refine((m) => m.version === undefined || m.version === 'v2', { message: 'only v2 messages are accepted', path: ['version'] });

export interface ChatbotMessage {
  userId: string;
  event: 'send' | 'open';
  /** The user's text (`send`), or the welcome postback text of an `open`, if any. */
  text: string | undefined;
}

/** Parses a v2 message: 400 `invalid_json` or `invalid_request` naming the bad fields. */
export function parseChatbotMessage(raw: Buffer): ChatbotMessage {
  const body = parseJsonObject(raw);
  const m = parseInput(v2Message, body, 'invalid_request');
  // Several text components: the last one is used (NCP's rule).
  let text: string | undefined;
  for (const b of m.bubbles) if (b.type === 'text' && typeof b.data?.description === 'string' && b.data.description.trim() !== '') text = b.data.description.trim();
  if (m.event === 'send' && text === undefined) {
    throw new AppError('invalid_request', 'Invalid input: bubbles must hold a text component with a non-empty data.description for a send event.', {
      details: [{ path: 'bubbles', message: 'must hold a text component with a non-empty data.description' }],
    });
  }
  return { userId: m.userId, event: m.event, text };
}

/** The CEK request a chatbot message stands for: `open` a LaunchRequest, `send` an IntentRequest. */
export function cekRequestFor(msg: ChatbotMessage, extensionId: string): CekRequest {
  const user = { userId: msg.userId };
  const request: CekRequestBody['request'] =
    msg.event === 'open' ? { type: 'LaunchRequest' } : { type: 'IntentRequest', intent: { name: CHATBOT_INTENT, slots: { [CHATBOT_TEXT_SLOT]: { name: CHATBOT_TEXT_SLOT, value: msg.text ?? '' } } } };
  const body: CekRequestBody = {
    version: '1.0',
    session: { new: msg.event === 'open', sessionId: `chatbot-${msg.userId}`, sessionAttributes: {}, user },
    context: { System: { application: { applicationId: extensionId }, device: { deviceId: 'chatbot', display: { size: 'none' } }, user } },
    request,
  };
  return {
    body,
    // Action methods forward these bytes as the request body.
    raw: Buffer.from(JSON.stringify(body)),
    type: request.type,
    version: body.version,
    applicationId: extensionId,
    userId: msg.userId,
    locale: undefined,
    accessToken: undefined,
    intentName: msg.event === 'send' ? CHATBOT_INTENT : undefined,
    eventNamespace: undefined,
    eventName: undefined,
    sessionAttributes: {},
  };
}

/** The text of a CEK response's speech: one string per spoken sentence group; audio URLs are dropped. */
export function speechTexts(speech: OutputSpeech): string[] {
  const texts = (values: SpeechInfo | readonly SpeechInfo[]): string[] =>
    (Array.isArray(values) ? values : [values as SpeechInfo]).filter((v) => v.type === 'PlainText' && v.value !== '').map((v) => v.value);
  if (!('type' in speech)) return [];
  switch (speech.type) {
    case 'SimpleSpeech':
    case 'SpeechList':
      return texts(speech.values);
    case 'SpeechSet':
      return texts(speech.verbose.values);
    default:
      return [];
  }
}

/** The v2 answer: the CEK speech as text bubbles (none for an acknowledgement). */
export function chatbotResponse(msg: ChatbotMessage, cek: CekResponseBody, now = Date.now()) {
  return {
    version: 'v2',
    userId: msg.userId,
    timestamp: now,
    bubbles: speechTexts(cek.response.outputSpeech).map((description) => ({ type: 'text', data: { description } })),
    event: msg.event,
  };
}
