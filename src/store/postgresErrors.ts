// Which failures of node-postgres mean "PostgreSQL cannot be reached" (routes answer 503 for those),
// and how a PostgreSQL URL is shown in messages.

import { redactUrl } from '../security/redactUrl.js';

/** Socket-level codes Node gives when the server is down, unreachable or unknown. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/**
 * SQLSTATEs of a server that is going away or cannot take the work: class 08 (connection exception),
 * 57014 (statement_timeout: the server is stuck), 57P01–57P03 (shutdown, crash, starting up),
 * 53300 (too many connections).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57014|57P0[123]|53300)$/;

/** Messages node-postgres and pg-pool make themselves, without a code. */
const UNAVAILABLE_MESSAGE =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Client was closed and is not queryable|Cannot use a pool after calling end)/;

/** True when `err` from node-postgres means the server cannot be reached or cannot answer now. */
export function isPostgresUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
  if (typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message)) return true;
  // A failed connect to several addresses (localhost → ::1 and 127.0.0.1) is an AggregateError.
  return err instanceof AggregateError && err.errors.some(isPostgresUnavailable);
}

/** `url` with its password replaced by `***`, for messages and logs. */
export function redactPostgresUrl(url: string): string {
  return redactUrl(url, '<invalid PostgreSQL URL>');
}
