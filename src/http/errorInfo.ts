import * as oidc from 'openid-client';

/**
 * What may be read off anything thrown, without a cast at every `catch`: JavaScript lets any value be
 * thrown, so each reader checks the shape here, once. For logs and wrapped errors; a client never
 * sees these as they are (http/errors.ts masks what is not an AppError).
 */

const fieldOf = (err: unknown, name: string): unknown => (typeof err === 'object' && err !== null && name in err ? (err as Record<string, unknown>)[name] : undefined);

/** The message of a thrown value (an Error's message, else the value as text). */
export function messageOf(err: unknown): string {
  const message = fieldOf(err, 'message');
  return typeof message === 'string' ? message : String(err);
}

/** The name of a thrown Error (`TimeoutError`, `ReplyError`, …), or '' for anything else. */
export function nameOf(err: unknown): string {
  const name = fieldOf(err, 'name');
  return typeof name === 'string' ? name : '';
}

/** The system or library error code (`ENOENT`, `EACCES`, `SQLITE_BUSY`, …), if it has one. */
export function codeOf(err: unknown): string | undefined {
  const code = fieldOf(err, 'code');
  return typeof code === 'string' ? code : undefined;
}

/** body-parser's classification of its own errors (`entity.parse.failed`, …), if the value has one. */
export function typeOf(err: unknown): string | undefined {
  const type = fieldOf(err, 'type');
  return typeof type === 'string' ? type : undefined;
}

/**
 * The status http-errors put on an error it made or wrapped for a client (it sets `expose` on exactly
 * those): 4xx, or undefined for anything else (a provider's `status` on an oauth error is no such thing).
 */
export function clientStatusOf(err: unknown): number | undefined {
  const status = fieldOf(err, 'status');
  return fieldOf(err, 'expose') === true && typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

/** The cause a thrown Error was wrapped around, if any. */
export function causeOf(err: unknown): unknown {
  return fieldOf(err, 'cause');
}

/** How a failed file or socket operation is named in a message: its code when it has one, else its message. */
export function reasonOf(err: unknown): string {
  return codeOf(err) ?? messageOf(err);
}

/** An error as the log may show it: class, code and OAuth error, never a token or a body. */
export function describeError(err: unknown, depth = 0): Record<string, unknown> {
  if (err instanceof oidc.ResponseBodyError) return { type: 'ResponseBodyError', error: err.error, status: err.status };
  if (err instanceof oidc.AuthorizationResponseError) return { type: 'AuthorizationResponseError', error: err.error };
  if (typeof err === 'object' && err !== null) {
    const cause = fieldOf(err, 'cause');
    const message = fieldOf(err, 'message');
    return {
      type: fieldOf(err, 'name'),
      code: fieldOf(err, 'code'),
      message: typeof message === 'string' ? message.slice(0, 200) : undefined,
      cause: cause === undefined || depth >= 4 ? undefined : describeError(cause, depth + 1),
    };
  }
  return { type: typeof err };
}
