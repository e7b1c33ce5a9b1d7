import { z } from 'zod';
import { EXTENSION_ID } from '../extensions/model.js';

/**
 * The scenario files of `cek-gateway test` (README "CLI", "Scenarios"): conversations to replay
 * against a running instance, each turn with what its answer must be. Every object is strict, so a
 * misspelt expectation is an error rather than a check that silently never runs.
 */
export const SCENARIO_LOCALES = ['ko-KR', 'en-US', 'ja-JP'] as const;

/** What answered a CEK request (the test console's outcomes); a typo here would never match. */
export const OUTCOMES = [
  'action',
  'action_error',
  'login_prompt',
  'linking_unavailable',
  'welcome',
  'fallback',
  'ack',
  'skill_disabled',
  'skill_disabled_stale',
  'internal_error',
  'store_unavailable',
  'record_from_newer_version',
] as const;

const validRegex = (source: string): boolean => {
  try {
    new RegExp(source, 'u');
    return true;
  } catch {
    return false;
  }
};

/** `launch: {}` or a bare `launch:` (YAML's null) mean the same. */
const emptyTurn = z.object({}).strict().nullable();

const slotValue = z.union([z.string(), z.number(), z.boolean()]).transform(String);

const speechExpect = z
  .object({
    equals: z.string().optional(),
    contains: z.string().optional(),
    matches: z.string().refine(validRegex, 'is not a valid regular expression').optional(),
  })
  .strict()
  .refine((s) => s.equals !== undefined || s.contains !== undefined || s.matches !== undefined, 'needs one of equals, contains, matches');

const expectation = z
  .object({
    speech: speechExpect.optional(),
    shouldEndSession: z.boolean().optional(),
    directives: z.array(z.string().regex(/^[A-Za-z0-9_]+\.[A-Za-z0-9_]+$/, 'must be a directive type, namespace.name (e.g. AudioPlayer.Play)')).optional(),
    sessionAttributes: z.record(z.string(), z.unknown()).optional(),
    outcome: z.enum(OUTCOMES, { error: `must be one of ${OUTCOMES.join(', ')}` }).optional(),
    status: z.number().int().min(100).max(599).optional(),
    target: z.object({ called: z.boolean(), bearer: z.boolean().optional() }).strict().optional(),
  })
  .strict();

const KINDS = ['launch', 'intent', 'event', 'end'] as const;

const turn = z
  .object({
    launch: emptyTurn.optional(),
    intent: z
      .object({
        name: z.string().min(1, 'must not be empty'),
        slots: z.record(z.string(), slotValue).optional(),
      })
      .strict()
      .optional(),
    event: z
      .object({
        namespace: z.string().min(1, 'must not be empty'),
        name: z.string().min(1, 'must not be empty'),
        payload: z.record(z.string(), z.unknown()).nullable().optional(),
      })
      .strict()
      .optional(),
    end: emptyTurn.optional(),
    expect: expectation.optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    const given = KINDS.filter((k) => t[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `a turn is exactly one of ${KINDS.join(', ')} (got ${given.length === 0 ? 'none' : given.join(' and ')})` });
    }
  });

const userId = z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters');

/**
 * A test user the scenario brings (issue 17): stored through `POST /extensions/:id/test-users`
 * before the first turn, removed after the last. Token values may be `${env:NAME}` (read from the
 * CLI's environment) so that no token sits in the file.
 */
const testUser = z
  .object({
    userId,
    accessToken: z.string().min(1, 'must not be empty').max(4096, 'must be at most 4096 characters'),
    refreshToken: z.string().min(1, 'must not be empty').max(4096, 'must be at most 4096 characters').optional(),
    expiresIn: z.number().int('must be a whole number of seconds').min(1, 'must be at least 1').optional(),
  })
  .strict();

const scenario = z
  .object({
    name: z.string().min(1, 'must not be empty'),
    extension: z.string().regex(EXTENSION_ID, 'must be an extension ID (reverse-domain, e.g. com.example.weather)'),
    user: userId.optional(),
    testUser: testUser.optional(),
    locale: z.enum(SCENARIO_LOCALES, { error: `must be one of ${SCENARIO_LOCALES.join(', ')}` }).optional(),
    turns: z.array(turn).min(1, 'needs at least one turn'),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.user !== undefined && s.testUser !== undefined) ctx.addIssue({ code: 'custom', path: ['testUser'], message: 'give either user or testUser (a test user is the user)' });
  });

export const scenarioFileSchema = z
  .object({
    scenarios: z
      .array(scenario)
      .min(1, 'needs at least one scenario')
      .superRefine((list, ctx) => {
        const seen = new Set<string>();
        list.forEach((s, i) => {
          if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${s.name}" is the name of an earlier scenario (names identify them in reports)` });
          seen.add(s.name);
        });
      }),
  })
  .strict();

export type ScenarioFile = z.infer<typeof scenarioFileSchema>;
export type Scenario = ScenarioFile['scenarios'][number];
export type Turn = Scenario['turns'][number];
export type Expectation = NonNullable<Turn['expect']>;
