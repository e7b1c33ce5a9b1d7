import { Document } from 'yaml';
import { OUTCOMES, scenarioFileSchema, type ScenarioFile } from '../../cli/scenarioSchema.js';
import type { ConsoleConversation, ConsoleTurn } from './consoleConversation.js';

type Turn = ScenarioFile['scenarios'][number]['turns'][number];
type Expectation = NonNullable<Turn['expect']>;

const DIRECTIVE = /^[A-Za-z0-9_]+\.[A-Za-z0-9_]+$/;

/**
 * What a recorded answer must be when the scenario runs again: the status (when not 200), the
 * outcome, the spoken text (exactly; not for a login prompt, whose pairing code changes every
 * time), whether the session ends, the directives, the session attributes, and whether the
 * target was called (with a token).
 */
function expectationOf(t: ConsoleTurn): Expectation {
  const e: Expectation = {};
  if (t.status !== 200) e.status = t.status;
  if (t.outcome !== null && (OUTCOMES as readonly string[]).includes(t.outcome)) e.outcome = t.outcome as Expectation['outcome'];
  if (t.speech !== null && t.speech !== '' && t.outcome !== 'login_prompt') e.speech = { equals: t.speech };
  if (t.endsSession !== null) e.shouldEndSession = t.endsSession;
  if (t.directives.length > 0 && t.directives.every((d) => DIRECTIVE.test(d))) e.directives = t.directives;
  if (t.sessionAttributes !== null && Object.keys(t.sessionAttributes).length > 0) e.sessionAttributes = t.sessionAttributes;
  if (t.action !== null) e.target = t.action.forwarded ? { called: true, bearer: t.action.tokenSent } : { called: false };
  return e;
}

function turnOf(t: ConsoleTurn): Turn {
  const expect = expectationOf(t);
  switch (t.kind) {
    case 'launch':
      return { launch: {}, expect };
    case 'intent':
      return { intent: Object.keys(t.intent.slots).length === 0 ? { name: t.intent.name } : { name: t.intent.name, slots: t.intent.slots }, expect };
    case 'event':
      return { event: { namespace: t.event.namespace, name: t.event.name }, expect };
    default:
      return { end: {}, expect };
  }
}

/**
 * The conversation as a scenario file of `cek-gateway test` (src/cli/scenarioSchema.ts), accepted by
 * the runner as it is: checked against the runner's own schema before it is handed out.
 */
export function conversationScenario(c: ConsoleConversation, o: { extensionId: string; testUser: boolean }): string {
  const file: ScenarioFile = {
    scenarios: [{ name: `console conversation ${c.startedAt}`, extension: o.extensionId, user: c.userId, locale: c.locale, turns: c.turns.map(turnOf) }],
  };
  scenarioFileSchema.parse(file);
  const doc = new Document(file);
  doc.commentBefore = [
    ` Recorded in the cek-gateway test console on ${new Date().toISOString()}.`,
    ' Run it with: cek-gateway test THIS-FILE (CEK_GATEWAY_URL and CEK_GATEWAY_TOKEN set).',
    o.testUser
      ? ` ${c.userId} is a test user: it must exist on the instance it runs against (POST /api/v1/extensions/${o.extensionId}/test-users).`
      : ` ${c.userId} is the CEK user id every turn speaks for.`,
    ' Every expectation is what came back when recorded: loosen them (speech.contains, speech.matches) where answers vary.',
  ].join('\n');
  return doc.toString({ lineWidth: 0 });
}
