/**
 * CEK message types (docs/cek-protocol.md sections 2 and 3). Requests are typed loosely on purpose:
 * real traffic carries extra fields, `session: null`, `slots: null` and placeholder `intent`/`event`
 * objects, and none of that may be rejected.
 */
export type SpeechLang = 'ko' | 'en' | 'ja';

export const REQUEST_TYPES = ['LaunchRequest', 'IntentRequest', 'SessionEndedRequest', 'EventRequest'] as const;
export type RequestType = (typeof REQUEST_TYPES)[number];

export interface CekUser {
  userId: string;
  accessToken?: string;
  [extra: string]: unknown;
}

export interface CekSlot {
  name?: string;
  value?: string | number | null;
  valueType?: string;
  unit?: string;
  [extra: string]: unknown;
}

export interface CekRequestBody {
  version: string;
  session: {
    new?: boolean;
    sessionId?: string;
    sessionAttributes?: Record<string, unknown> | null;
    user?: CekUser;
    [extra: string]: unknown;
  } | null;
  context: {
    System: {
      application: { applicationId: string };
      user?: CekUser;
      device?: unknown;
      [extra: string]: unknown;
    };
    [extra: string]: unknown;
  };
  request: {
    type: RequestType;
    intent?: { name?: string; slots?: Record<string, CekSlot> | null; [extra: string]: unknown };
    event?: { namespace?: string; name?: string; payload?: unknown; [extra: string]: unknown };
    [extra: string]: unknown;
  };
  [extra: string]: unknown;
}

/** What the rest of the service needs from a request, picked once after validation. */
export interface CekRequest {
  body: CekRequestBody;
  /** The exact bytes CLOVA sent (forwarded as they are by action methods). */
  raw: Buffer;
  type: RequestType;
  version: string;
  applicationId: string;
  /** The current speaker (`session.user`), else the device owner (`context.System.user`); '' when neither. */
  userId: string;
  /** CLOVA's own linked token for this user, when it sent a non-empty one. */
  accessToken: string | undefined;
  intentName: string | undefined;
  eventNamespace: string | undefined;
  eventName: string | undefined;
  sessionAttributes: Record<string, unknown>;
  /** `request.locale` (e.g. `ja-JP`) when the request carries one: the language of the answer. */
  locale: string | undefined;
}

export interface SpeechInfo {
  type: 'PlainText' | 'URL';
  lang: SpeechLang | '';
  value: string;
  token?: string;
  contentType?: string;
}

export type OutputSpeech =
  | Record<string, never>
  | { type: 'SimpleSpeech'; values: SpeechInfo }
  | { type: 'SpeechList'; values: SpeechInfo[] }
  | {
      type: 'SpeechSet';
      brief: SpeechInfo;
      verbose: { type: 'SimpleSpeech'; values: SpeechInfo } | { type: 'SpeechList'; values: SpeechInfo[] };
    };

export interface CekResponseBody {
  version: string;
  sessionAttributes: Record<string, unknown>;
  response: {
    outputSpeech: OutputSpeech;
    card: Record<string, unknown>;
    directives: unknown[];
    reprompt?: { outputSpeech: OutputSpeech };
    shouldEndSession: boolean;
  };
}
