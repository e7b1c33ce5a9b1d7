import { randomUUID } from 'node:crypto';
import type { SpeechLang } from './types.js';

export const SAMPLE_TYPES = ['LaunchRequest', 'IntentRequest', 'SessionEndedRequest', 'EventRequest'] as const;
export type SampleType = (typeof SAMPLE_TYPES)[number];

export interface SampleInput {
  type: SampleType;
  extensionId: string;
  userId: string;
  language: SpeechLang;
  intent?: string;
  /** Slot name → value. */
  slots?: Record<string, string>;
  eventNamespace?: string;
  eventName?: string;
  /** The event's payload; CLOVA sends `null` for events without one. */
  eventPayload?: Record<string, unknown> | null;
  newSession: boolean;
  /** A conversation keeps one session id across turns; a new one when left out. */
  sessionId?: string;
  /** The previous answer's `sessionAttributes`, sent back as CLOVA does. */
  sessionAttributes?: Record<string, unknown>;
  /** `request.locale`; the extension language's locale when left out. */
  locale?: string;
  /** `context.System.device.deviceId`: who sent it, for the target's logs. */
  deviceId?: string;
}

const LOCALES: Record<SpeechLang, string> = { ko: 'ko-KR', en: 'en-US', ja: 'ja-JP' };

/**
 * A CEK request in the shape CLOVA sends (docs/cek-protocol.md section 2): the same user as the
 * session's speaker and the device owner, a device without a screen, no `accessToken` (the console
 * never handles a user's token).
 */
export function buildSampleRequest(i: SampleInput): Record<string, unknown> {
  const user = { userId: i.userId };
  const base = { requestId: randomUUID(), timestamp: new Date().toISOString(), locale: i.locale ?? LOCALES[i.language] };
  let request: Record<string, unknown>;
  switch (i.type) {
    case 'IntentRequest': {
      const slots: Record<string, { name: string; value: string }> = {};
      for (const [name, value] of Object.entries(i.slots ?? {})) slots[name] = { name, value };
      request = { type: 'IntentRequest', ...base, intent: { name: i.intent ?? '', slots } };
      break;
    }
    case 'EventRequest':
      request = { type: 'EventRequest', ...base, event: { namespace: i.eventNamespace ?? '', name: i.eventName ?? '', payload: i.eventPayload ?? null } };
      break;
    default:
      request = { type: i.type, ...base };
  }
  return {
    version: '1.0',
    session: { new: i.newSession, sessionAttributes: i.sessionAttributes ?? {}, sessionId: i.sessionId ?? randomUUID(), user },
    context: {
      System: {
        application: { applicationId: i.extensionId },
        device: { deviceId: i.deviceId ?? 'cek-gateway-admin-console', display: { size: 'none' } },
        user,
      },
    },
    request,
  };
}

/** What a CEK response would make the speaker say, and whether it ends the session. */
export function spokenText(body: unknown): { speech: string; endsSession: boolean | undefined } | undefined {
  const response = (body as { response?: { outputSpeech?: unknown; shouldEndSession?: unknown } } | null)?.response;
  if (response === undefined || response === null) return undefined;
  const texts: string[] = [];
  const collect = (values: unknown): void => {
    for (const v of Array.isArray(values) ? values : [values]) {
      const value = (v as { type?: unknown; value?: unknown } | null)?.value;
      const type = (v as { type?: unknown } | null)?.type;
      if (typeof value === 'string') texts.push(type === 'URL' ? `[audio ${value}]` : value);
    }
  };
  const speech = response.outputSpeech as { type?: unknown; values?: unknown; brief?: { values?: unknown }; verbose?: { values?: unknown } } | undefined;
  if (speech?.type === 'SpeechSet') collect(speech.verbose?.values ?? speech.brief?.values);
  else if (speech !== undefined) collect(speech.values);
  return { speech: texts.join(' '), endsSession: typeof response.shouldEndSession === 'boolean' ? response.shouldEndSession : undefined };
}
