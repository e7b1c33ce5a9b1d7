import { z } from 'zod';
import { AppError, type ErrorCode } from './errors.js';
import { tooDeepAt, tooDeepMessage } from './jsonLimits.js';

/**
 * Parses input with a strict zod schema; a failure is a 400 that names every bad field, e.g.
 * `{ code: "invalid_body", details: [{ path: "language", message: "..." }] }`. Input nested deeper
 * than MAX_JSON_DEPTH is refused first: what passes is stored and sent back as JSON.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, code: ErrorCode = 'invalid_body'): z.infer<S> {
  const deep = tooDeepAt(input);
  if (deep !== undefined) throw new AppError(code, `Invalid input: ${tooDeepMessage(deep)}`, { details: [{ path: deep, message: 'nests too deep' }] });
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const details = result.error.issues.map((i) => ({
    path: i.path.map(String).join('.') || '(body)',
    message: i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : i.message,
  }));
  const first = details[0];
  const summary = first === undefined ? 'Invalid input.' : `Invalid input: ${first.path} ${first.message}${details.length > 1 ? ` (and ${details.length - 1} more)` : ''}.`;
  throw new AppError(code, summary, { details });
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
