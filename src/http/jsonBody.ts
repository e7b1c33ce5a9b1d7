import { AppError } from './errors.js';
import { tooDeepAt, tooDeepMessage } from './jsonLimits.js';

/**
 * Parses a raw JSON body that must be an object, nested at most MAX_JSON_DEPTH levels (parts of it
 * are echoed and forwarded): 400 `invalid_json` or `invalid_request` (naming the field) otherwise.
 */
export function parseJsonObject(raw: Buffer): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new AppError('invalid_json', 'The request body is not valid JSON.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AppError('invalid_request', 'The request body must be a JSON object.');
  }
  const deep = tooDeepAt(body);
  if (deep !== undefined) throw new AppError('invalid_request', tooDeepMessage(deep), { details: [{ path: deep, message: 'nests too deep' }] });
  return body as Record<string, unknown>;
}
