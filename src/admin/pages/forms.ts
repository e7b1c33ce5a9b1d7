import type { Request } from 'express';
import { AppError } from '../../http/errors.js';

/**
 * A form as the pages handle it: the values to show back, the messages next to the fields, and
 * messages about the whole form (problems with fields that are not on it, conflicts).
 */
export interface FormState {
  values: Record<string, string | boolean>;
  errors: Record<string, string>;
  problems: string[];
}

export const emptyForm = (values: FormState['values'] = {}): FormState => ({ values, errors: {}, problems: [] });

/** A text field of a posted form ('' when absent); arrays (repeated fields) take the last value. */
export function field(req: Request, name: string): string {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  const last = Array.isArray(v) ? (v[v.length - 1] as unknown) : v;
  return typeof last === 'string' ? last : '';
}

/** Every value of a repeated field (a group of checkboxes with one name), in the order posted. */
export function fieldValues(req: Request, name: string): string[] {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  return (Array.isArray(v) ? (v as unknown[]) : [v]).filter((x): x is string => typeof x === 'string');
}

/** A checkbox: present and not "0"/"false". */
export function checked(req: Request, name: string): boolean {
  const v = field(req, name);
  return v !== '' && v !== '0' && v !== 'false';
}

/** A trimmed text field, `null` when blank ("clear it" / "back to the default" in the API's merge semantics). */
export function textOrNull(req: Request, name: string): string | null {
  const v = field(req, name).trim();
  return v === '' ? null : v;
}

/** Variants of a message are written one after another, separated by a line of `---`. */
const VARIANT_SEPARATOR = /\r?\n[ \t]*---[ \t]*\r?\n/;

/** A message field: `null` when blank, the variants when it holds several, else the text. */
export function messageOrNull(req: Request, name: string): string | string[] | null {
  const v = textOrNull(req, name);
  if (v === null) return null;
  const parts = v
    .split(VARIANT_SEPARATOR)
    .map((p) => p.trim())
    .filter((p) => p !== '');
  return parts.length > 1 ? parts : (parts[0] ?? null);
}

/** A stored message as its field shows it: variants separated by a line of `---`. */
export function messageField(m: string | readonly string[] | undefined): string {
  if (m === undefined) return '';
  return typeof m === 'string' ? m : m.join('\n---\n');
}

/**
 * Puts an error from the service or the API onto a form: each detail whose path names a field of the
 * form (after `rename`, e.g. `messages.welcome` → `welcome`) goes next to that field, the rest
 * become messages about the form with the field's label. Errors that are not an AppError are
 * rethrown (the error page masks them).
 */
export function applyError(form: FormState, err: unknown, o: { fields: Record<string, string>; rename?: (path: string) => string; otherLabels?: Record<string, string> }): FormState {
  if (!(err instanceof AppError) || err.status >= 500) throw err;
  const details = err.details ?? [];
  if (details.length === 0) {
    form.problems.push(err.message);
    return form;
  }
  for (const d of details) {
    const name = o.rename?.(d.path) ?? d.path;
    const message = sentence(d.message);
    if (Object.hasOwn(o.fields, name)) {
      form.errors[name] ??= message;
    } else {
      const label = o.otherLabels?.[name] ?? o.fields[name] ?? (name === '(body)' || name === '(query)' ? '' : name);
      form.problems.push(label === '' ? message : `${label}: ${message}`);
    }
  }
  return form;
}

/** "must be an absolute URL" → "Must be an absolute URL." */
function sentence(text: string): string {
  const t = text.trim();
  if (t === '') return t;
  // A schema without its own message gives zod's default, which quotes the regex ("must match pattern
  // /^[A-Za-z0-9_.-]…/"): nobody can act on that, so it is said in words (the field names the rule).
  if (/must match pattern|^invalid string/i.test(t)) return 'Contains characters or a shape this field does not accept.';
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?)]$/.test(first) ? first : `${first}.`;
}

/**
 * `name<separator>value` lines of a textarea (headers `Name: value`, slots `name=value`) → an object.
 * Blank lines are skipped; a line without a name is reported by its number, as is `__proto__`
 * (it cannot be an own key of a plain object). With `unique`, a name given twice is reported;
 * otherwise the last one wins.
 */
export function parseNameValueLines(text: string, o: { separator: ':' | '='; shape: string; noun: string; unique: boolean }): { values: Record<string, string>; problem?: string } {
  const values: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = (lines[n] ?? '').trim();
    if (line === '') continue;
    const at = line.indexOf(o.separator);
    const name = at === -1 ? '' : line.slice(0, at).trim();
    if (name === '') return { values, problem: `Line ${n + 1} must look like ${o.shape}.` };
    if (name === '__proto__') return { values, problem: `Line ${n + 1}: "__proto__" cannot be a ${o.noun} name.` };
    if (o.unique && Object.hasOwn(values, name)) return { values, problem: `${name} is given twice.` };
    values[name] = line.slice(at + 1).trim();
  }
  return { values };
}
