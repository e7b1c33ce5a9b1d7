import { isStoreUnavailable } from '../store/unavailable.js';
import { clientStatusOf, typeOf } from './errorInfo.js';

/**
 * The one error type of cek-gateway and the registry of its stable codes. Every code has a fixed
 * HTTP status; the message is what the client reads. Errors that are not an `AppError` (bugs,
 * library failures) are never shown as they are: they become `internal_error` with the request id.
 *
 * The README's "Error codes" table lists exactly these codes; test/unit/errors.test.ts keeps the two
 * in step.
 */
export const ERROR_CODES = {
  invalid_json: 400,
  invalid_request: 400,
  invalid_extension_id: 400,
  invalid_body: 400,
  invalid_query: 400,
  missing_signature: 401,
  invalid_signature: 401,
  unauthorized: 401,
  missing_api_key: 401,
  invalid_api_key: 403,
  application_id_mismatch: 403,
  forbidden: 403,
  csrf_failed: 403,
  unknown_extension: 404,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  extension_exists: 409,
  conflict: 409,
  real_user_linked: 409,
  not_test_user: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  quota_exceeded: 429,
  internal_error: 500,
  upstream_error: 502,
  store_unavailable: 503,
  record_from_newer_version: 503,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; requestId?: string; details?: readonly ErrorDetail[] };
}

/** One problem with one input field, e.g. `{ path: "messages.welcome", message: "Too long" }`. */
export interface ErrorDetail {
  path: string;
  message: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: readonly ErrorDetail[] | undefined;
  /** Extra response headers (e.g. `Retry-After` on 429). */
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(code: ErrorCode, message: string, opts: { details?: readonly ErrorDetail[]; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = ERROR_CODES[code];
    this.details = opts.details;
    this.headers = opts.headers;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/**
 * What goes on the wire for any thrown value: the AppError as it is, anything else masked as
 * `internal_error`. Body parsers' own errors (JSON syntax, size) are recognised by their `type`.
 */
export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  const type = typeOf(err);
  if (type === 'entity.parse.failed') {
    // Strict JSON parsing refuses `null`, `123`, `"text"`: valid JSON, but not an object.
    return isJsonScalar((err as { body?: unknown }).body)
      ? new AppError('invalid_body', 'Invalid input: the request body must be a JSON object.', { details: [{ path: '(body)', message: 'expected an object' }] })
      : new AppError('invalid_json', 'The request body is not valid JSON.');
  }
  // Express decoding a path parameter such as `%` or `%E0%A4`.
  if (err instanceof URIError) return new AppError('invalid_request', 'The URL is not valid: it has malformed percent-encoding.');
  if (isStoreUnavailable(err)) return new AppError('store_unavailable', 'The store does not answer right now; try again shortly.', { cause: err });
  if (type === 'entity.too.large') return new AppError('payload_too_large', 'The request body is too large.');
  // A form with more fields than its route takes (body-parser's parameterLimit).
  if (type === 'parameters.too.many') return new AppError('payload_too_large', 'The form has too many fields.');
  if (type === 'request.aborted' || type === 'request.size.invalid') return new AppError('invalid_request', 'The request body did not arrive as announced.');
  if (type === 'encoding.unsupported') return new AppError('unsupported_media_type', 'Unsupported content-encoding: send the body uncompressed, or as gzip, deflate or br.');
  if (type === 'charset.unsupported') return new AppError('unsupported_media_type', 'Unsupported charset: send the body as UTF-8.');
  // Whatever else a body parser refused with a 4xx. In practice a gzip/deflate/br body that does not
  // decompress: zlib's own error ('incorrect header check', Z_BUF_ERROR), given status 400 and no type.
  const status = clientStatusOf(err);
  if (status === 413) return new AppError('payload_too_large', 'The request body is too large.');
  if (status === 415) return new AppError('unsupported_media_type', 'Unsupported content-encoding or charset.');
  if (status !== undefined) return new AppError('invalid_request', 'The request body could not be read: it does not decode as its content-encoding says.');
  return new AppError('internal_error', 'Something went wrong on our side. Quote the request id when reporting it.', {
    cause: err,
  });
}

function isJsonScalar(body: unknown): boolean {
  if (typeof body !== 'string' || body.length > 1024) return false;
  try {
    const value: unknown = JSON.parse(body);
    return value === null || typeof value !== 'object';
  } catch {
    return false;
  }
}

export function errorBody(err: AppError, requestId: string | undefined): ErrorBody {
  const error: ErrorBody['error'] = { code: err.code, message: err.message };
  if (err.details !== undefined && err.details.length > 0) error.details = err.details;
  if (requestId !== undefined) error.requestId = requestId;
  return { error };
}
