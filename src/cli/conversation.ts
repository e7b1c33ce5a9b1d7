import { randomUUID } from 'node:crypto';
import type { TestRequestReport } from '../admin/api/testRequestsRoutes.js';
import { buildSampleRequest } from '../cek/sample.js';
import type { SpeechLang } from '../cek/types.js';
import type { Scenario, Turn } from './scenarioSchema.js';

/** What a turn is, for the report: `launch`, `intent CheckPoints`, `event ClovaSkill.SkillEnabled`, `end`. */
export function turnLabel(turn: Turn): string {
  if (turn.intent !== undefined) return `intent ${turn.intent.name}`;
  if (turn.event !== undefined) return `event ${turn.event.namespace}.${turn.event.name}`;
  return turn.launch !== undefined ? 'launch' : 'end';
}

/**
 * One scenario's conversation as CLOVA holds it (docs/cek-protocol.md section 2.3): one session id
 * for every turn, `session.new` only on the first, and the previous answer's `sessionAttributes`
 * sent back on the next turn.
 */
export class Conversation {
  readonly user: string;
  readonly #sessionId = randomUUID();
  readonly #extensionId: string;
  readonly #language: SpeechLang;
  readonly #locale: string | undefined;
  #attributes: Record<string, unknown> = {};
  #turns = 0;

  constructor(scenario: Scenario, language: SpeechLang) {
    this.#extensionId = scenario.extension;
    this.#language = language;
    this.#locale = scenario.locale;
    // A user id of its own per scenario, so one scenario's link or session never leaks into another.
    this.user = scenario.testUser?.userId ?? scenario.user ?? `scenario-user-${randomUUID()}`;
  }

  /** The CEK request of the next turn. */
  request(turn: Turn): Record<string, unknown> {
    const common = {
      extensionId: this.#extensionId,
      userId: this.user,
      language: this.#language,
      newSession: this.#turns === 0,
      sessionId: this.#sessionId,
      sessionAttributes: this.#attributes,
      deviceId: 'cek-gateway-scenario-runner',
      ...(this.#locale === undefined ? {} : { locale: this.#locale }),
    };
    this.#turns++;
    if (turn.intent !== undefined) return buildSampleRequest({ ...common, type: 'IntentRequest', intent: turn.intent.name, slots: turn.intent.slots ?? {} });
    if (turn.event !== undefined) {
      return buildSampleRequest({ ...common, type: 'EventRequest', eventNamespace: turn.event.namespace, eventName: turn.event.name, eventPayload: turn.event.payload ?? null });
    }
    return buildSampleRequest({ ...common, type: turn.launch !== undefined ? 'LaunchRequest' : 'SessionEndedRequest' });
  }

  /** Takes the answer's `sessionAttributes` for the next turn (a refusal keeps the ones before). */
  answered(report: TestRequestReport): void {
    if (report.status !== 200 || typeof report.response !== 'object' || report.response === null) return;
    const attributes: unknown = 'sessionAttributes' in report.response ? report.response.sessionAttributes : undefined;
    if (typeof attributes === 'object' && attributes !== null && !Array.isArray(attributes)) this.#attributes = { ...attributes };
  }
}
