import { randomUUID } from 'node:crypto';
import { buildSampleRequest } from '../../cek/sample.js';
import type { SpeechLang } from '../../cek/types.js';
import type { Locale } from '../../extensions/messages.js';
import { decodeRecord } from '../../store/json.js';
import { keyOf } from '../../store/keys.js';
import type { Store } from '../../store/store.js';
import { SESSION_IDLE_MS } from './sessions.js';

/** A conversation longer than this is a scenario to write by hand; the record stays small. */
export const MAX_TURNS = 30;
/** Each turn keeps its request and response JSON to show again, cut to this many characters. */
const MAX_JSON_CHARS = 16 * 1024;

/** What the user did in a turn, as the scenario file writes it. */
export type TurnInput =
  { kind: 'launch' } | { kind: 'intent'; intent: { name: string; slots: Record<string, string> } } | { kind: 'event'; event: { namespace: string; name: string } } | { kind: 'end' };

/** One turn of the transcript: what was sent, what came back, and what the gateway did. */
export type ConsoleTurn = TurnInput & {
  at: string;
  requestId: string;
  url: string;
  signaturePreview: string;
  status: number;
  ms: string;
  /** The spoken text (every sentence), `null` when the endpoint refused the request. */
  speech: string | null;
  endsSession: boolean | null;
  outcome: string | null;
  /** `namespace.name` of each directive of the answer. */
  directives: string[];
  /** The answer's `sessionAttributes` (`null` without an answer). */
  sessionAttributes: Record<string, unknown> | null;
  cekError: { code: string; message: string } | null;
  action: { name: string; url: string; triggerText: string; forwarded: boolean; tokenSent: boolean; headers: Array<{ name: string; value: string }> } | null;
  testUser: boolean;
  requestJson: string;
  requestBytes: number;
  responseJson: string;
};

/**
 * The test console's conversation with one extension, as CLOVA holds a session (docs/cek-protocol.md
 * section 2.3), like the scenario runner's: one session id, `session.new` on the first turn only, the
 * previous answer's `sessionAttributes` sent back. Kept in the store per admin session and extension,
 * so a reload (or another instance) shows the same transcript.
 */
export interface ConsoleConversation {
  v: 1;
  userId: string;
  locale: Locale;
  sessionId: string;
  /** What the next turn sends back as `session.sessionAttributes`. */
  attributes: Record<string, unknown>;
  /** A SessionEndedRequest was sent: the session is over. */
  ended: boolean;
  startedAt: string;
  turns: ConsoleTurn[];
}

export function newConversation(userId: string, locale: Locale): ConsoleConversation {
  return { v: 1, userId, locale, sessionId: randomUUID(), attributes: {}, ended: false, startedAt: new Date().toISOString(), turns: [] };
}

/** The CEK request of the conversation's next turn. */
export function nextRequest(c: ConsoleConversation, input: TurnInput, o: { extensionId: string; language: SpeechLang }): Record<string, unknown> {
  const common = {
    extensionId: o.extensionId,
    userId: c.userId,
    language: o.language,
    locale: c.locale,
    newSession: c.turns.length === 0,
    sessionId: c.sessionId,
    sessionAttributes: c.attributes,
  };
  switch (input.kind) {
    case 'intent':
      return buildSampleRequest({ ...common, type: 'IntentRequest', intent: input.intent.name, slots: input.intent.slots });
    case 'event':
      return buildSampleRequest({ ...common, type: 'EventRequest', eventNamespace: input.event.namespace, eventName: input.event.name });
    case 'launch':
      return buildSampleRequest({ ...common, type: 'LaunchRequest' });
    default:
      return buildSampleRequest({ ...common, type: 'SessionEndedRequest' });
  }
}

/** Adds a turn; its answer's `sessionAttributes` go back with the next turn (a refusal keeps the ones before, as the runner does). */
export function addTurn(c: ConsoleConversation, turn: ConsoleTurn): void {
  c.turns.push({ ...turn, requestJson: cut(turn.requestJson), responseJson: cut(turn.responseJson) });
  if (turn.status === 200 && turn.sessionAttributes !== null) c.attributes = { ...turn.sessionAttributes };
  if (turn.kind === 'end') c.ended = true;
}

const cut = (text: string): string => (text.length > MAX_JSON_CHARS ? `${text.slice(0, MAX_JSON_CHARS)}\n… (cut at ${MAX_JSON_CHARS} characters)` : text);

/** What the user "said" in a turn, for the transcript. */
export function saidOf(t: TurnInput): string {
  switch (t.kind) {
    case 'launch':
      return 'Opens the extension (LaunchRequest)';
    case 'intent': {
      const slots = Object.entries(t.intent.slots).map(([k, v]) => `${k} = ${v}`);
      return `${t.intent.name}${slots.length === 0 ? '' : ` (${slots.join(', ')})`}`;
    }
    case 'event':
      return `Event ${t.event.namespace}.${t.event.name}`;
    default:
      return 'Ends the session (SessionEndedRequest)';
  }
}

/** The conversations, one per admin session and extension; they expire with the session's idle time. */
export class ConsoleConversations {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  async get(sessionKeyHash: string, extensionId: string): Promise<ConsoleConversation | undefined> {
    const raw = await this.#store.get(keyOf('consoleConversation', sessionKeyHash, extensionId));
    if (raw === null) return undefined;
    try {
      const c = decodeRecord<ConsoleConversation>(raw);
      return c.v === 1 ? c : undefined;
    } catch {
      return undefined;
    }
  }

  async save(sessionKeyHash: string, extensionId: string, c: ConsoleConversation): Promise<void> {
    await this.#store.set(keyOf('consoleConversation', sessionKeyHash, extensionId), JSON.stringify(c), SESSION_IDLE_MS);
  }

  async clear(sessionKeyHash: string, extensionId: string): Promise<void> {
    await this.#store.delete(keyOf('consoleConversation', sessionKeyHash, extensionId));
  }
}
