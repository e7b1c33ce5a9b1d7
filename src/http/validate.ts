import { z } from 'zod';
import { AppError, type ErrorCode } from './errors.js';
import { tooDeepAt, tooDeepMessage } from './jsonLimits.js';

/**
 * Parses input with a strict zod schema; a failure is a 400 that names every bad field, e.g.
 * `{ code: "invalid_body", details: [{ path: "language", message: "..." }] }`. Input nested deeper
 * than MAX_JSON_DEPTH is refused first: what passes is stored and sent back as JSON. A problem of
 * the input as a whole (an unknown field) names it `(query)` for a query string, else `(body)`.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, code: ErrorCode = 'invalid_body'): z.infer<S> {
  const whole = code === 'invalid_query' ? '(query)' : '(body)';
  const deep = tooDeepAt(input);
  if (deep !== undefined) throw new AppError(code, `Invalid input: ${tooDeepMessage(deep)}`, { details: [{ path: deep, message: 'nests too deep' }] });
  const result = schema.safeParse(input ?? {}, { error: plainWording });
  if (result.success) return result.data;
  const details = result.error.issues.map((i) => ({
    path: i.path.map(String).join('.') || whole,
    message: i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : i.message,
  }));
  const first = details[0];
  const summary = first === undefined ? 'Invalid input.' : `Invalid input: ${first.path} ${first.message}${details.length > 1 ? ` (and ${details.length - 1} more)` : ''}.`;
  throw new AppError(code, summary, { details });
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

/**
 * What a problem says when its schema gives no words of its own, in the schemas' own style ("must be
 * at most 100 characters"). zod's defaults start with "Invalid input:" (repeated after the summary's),
 * speak of types (`<=200`) and quote regexes; `undefined` keeps zod's for the rare rest.
 */
function plainWording(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'is required' : `must be ${TYPE_WORDS[issue.expected] ?? issue.expected}`;
    case 'too_big':
      return bound(issue.origin, issue.exact === true ? 'exactly' : 'at most', 'less than', issue.maximum, issue.inclusive !== false);
    case 'too_small':
      if (issue.origin === 'string' && Number(issue.minimum) === 1 && issue.exact !== true) return 'must not be empty';
      return bound(issue.origin, issue.exact === true ? 'exactly' : 'at least', 'more than', issue.minimum, issue.inclusive !== false);
    case 'invalid_value':
      return issue.values.length === 1 ? `must be ${JSON.stringify(issue.values[0])}` : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'regex' ? 'contains characters or a shape this field does not accept' : `must be a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'invalid_union':
      return 'is none of the accepted forms';
    case 'custom':
      return 'is not valid';
    default:
      return undefined;
  }
}

function bound(origin: string, inclusive: string, exclusive: string, limit: number | bigint, isInclusive: boolean): string {
  const than = `${isInclusive ? inclusive : exclusive} ${limit}`;
  if (origin === 'string') return `must be ${than} characters`;
  if (origin === 'array' || origin === 'set') return `must have ${than} items`;
  return `must be ${than}`;
}

/**
 * A whole-number query parameter (`?limit=20`) from `min` to `max`, `fallback` when it is absent. Every
 * way of getting it wrong (`abc`, `1.5`, `0`, too big, given twice) gets the one sentence that says
 * what it takes.
 */
export function wholeNumberParam(min: number, max: number, fallback: number) {
  const message = `must be a whole number from ${min} to ${max}`;
  return z
    .string({ error: message })
    .regex(/^[0-9]{1,15}$/, message)
    .transform(Number)
    .refine((n) => n >= min && n <= max, message)
    .optional()
    .transform((n) => n ?? fallback);
}

/** The body of a route that takes none (an action such as a test ping): nothing, or `{}`; a field is refused like anywhere else. */
export const noFields = z.object({}).strict();

/**
 * Text that is shown in pages, logs and spoken: no control characters (NUL, ESC, BEL, ...). `multiline`
 * allows tabs and line breaks (messages); single-line text (names) allows none.
 */
export const noControlChars =
  (multiline: boolean) =>
  (v: string): boolean =>
    // eslint-disable-next-line no-control-regex
    (multiline ? /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/ : /[\u0000-\u001F\u007F-\u009F]/).test(v) === false;
export const CONTROL_CHARS_MESSAGE = 'must not contain control characters';

/**
 * Names that become keys of plain objects (an extension's stored actions, configuration files, the
 * CLI's maps) must not be JavaScript's own: `__proto__` sets an object's prototype instead of adding
 * a key, and `constructor` and `prototype` read through to it. Action and API key names refuse these
 * three everywhere (admin API, admin pages, configuration files) instead of each reader working around them.
 */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
export const RESERVED_NAME_MESSAGE = 'must not be "__proto__", "constructor" or "prototype"';
export const notReservedName = (v: string): boolean => !RESERVED_NAMES.has(v);
