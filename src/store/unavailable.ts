// Kept with the stores: which failures of their client libraries mean "the store cannot be reached".

/**
 * A store that cannot be reached (Redis down: ioredis gives up on the command, or the connection
 * is closed; or the store was closed at shutdown). Recognised by name and message, because the
 * errors come from the client library.
 */
export function isStoreUnavailable(err: unknown): boolean {
  // Duck-typed: errors made by native code (better-sqlite3) may come from another realm than `Error`.
  if (typeof err !== 'object' || err === null) return false;
  const { name, message } = err as { name?: unknown; message?: unknown };
  if (name === 'MaxRetriesPerRequestError' || name === StoreUnavailableError.NAME) return true;
  return typeof message === 'string' && /^(Connection is closed\.|Stream isn't writeable|store is closed$|The database connection is not open$)/.test(message);
}

/**
 * Thrown by a store that classifies its client library's failures itself (PostgreSQL: refused
 * connections, connection-class SQLSTATEs, timeouts), so that check is kept next to the driver.
 */
export class StoreUnavailableError extends Error {
  static readonly NAME = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = StoreUnavailableError.NAME;
  }
}
