// Kept with the stores: which failures of their client libraries mean "the store cannot serve".

/**
 * `work`, or a rejection with "Command timed out" when it has not settled `ms` after the call. A
 * reply that arrived while this process was busy is read in the event loop's poll phase, which
 * follows the timers: the timeout waits for that turn (a `setImmediate`) before it wins, so a
 * process lagging behind under load does not take its own slowness for a stalled store.
 */
export function withCommandTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      setImmediate(() => {
        if (settled) return;
        settled = true;
        reject(new Error('Command timed out'));
      });
    }, ms);
    work.then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** A failure that proves nothing by itself (the store may only be slow): confirm with a probe before calling it an outage. */
export function isCommandTimeout(err: unknown): boolean {
  return err instanceof Error && err.message === 'Command timed out';
}

/** Messages of a command that was sent but got no answer: the store may have applied it, or not. */
const NO_ANSWER = /^(Command timed out|Connection is closed\.|Connection terminated|Query read timeout)/;

/**
 * Whether a failed write may have been applied all the same: it was sent, then timed out or lost
 * its connection (a stalled Redis runs the commands waiting in its socket when it resumes).
 * Retrying such a write could apply it twice, so counters do not retry it. False for failures
 * that prove the write did not happen (the store known to be down and the command never sent, a
 * refusal, a rolled-back transaction).
 */
export function mayHaveApplied(err: unknown): boolean {
  for (let e = err, depth = 0; depth < 5; depth++) {
    if (typeof e !== 'object' || e === null) return false;
    const { message, cause } = e as { message?: unknown; cause?: unknown };
    if (typeof message === 'string' && NO_ANSWER.test(message)) return true;
    e = cause;
  }
  return false;
}

/** ioredis' own messages for a command that never got an answer. */
const CLIENT_MESSAGES = /^(Connection is closed\.|Command timed out|Stream isn't writeable|store is closed$|The database connection is not open$)/;
/** Redis replies meaning "this server cannot serve now" (loading, read-only replica, failing disk, out of memory, a stuck script). */
const REDIS_REPLIES = /^(LOADING|READONLY|MISCONF|MASTERDOWN|BUSY|OOM|NOREPLICAS|CLUSTERDOWN|TRYAGAIN) /;
/**
 * SQLite result codes (extended codes start with these) of a file that cannot be read or written
 * right now: locked by another process, read-only (or moved), an I/O error, a full disk, a broken file.
 * Constraint violations and misuse are bugs, not outages, and are not listed.
 */
const SQLITE_CODES = /^SQLITE_(BUSY|LOCKED|READONLY|IOERR|FULL|CANTOPEN|CORRUPT|NOTADB|PROTOCOL|NOMEM|PERM|NOLFS)/;

/**
 * A store that cannot serve: Redis down, stalled or refusing writes (ioredis gives up on the
 * command, times it out, or the connection is closed), a SQLite file that cannot be written, or a
 * store closed at shutdown. Recognised by name, message and code, because the errors come from the
 * client libraries; an error wrapping one (`cause`) counts too.
 */
export function isStoreUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; depth < 5; depth++) {
    // Duck-typed: errors made by native code (better-sqlite3) may come from another realm than `Error`.
    if (typeof e !== 'object' || e === null) return false;
    const { name, message, code, cause } = e as { name?: unknown; message?: unknown; code?: unknown; cause?: unknown };
    if (name === 'MaxRetriesPerRequestError' || name === StoreUnavailableError.NAME) return true;
    if (typeof message === 'string' && CLIENT_MESSAGES.test(message)) return true;
    if (name === 'ReplyError' && typeof message === 'string' && REDIS_REPLIES.test(message)) return true;
    if (typeof code === 'string' && SQLITE_CODES.test(code)) return true;
    e = cause;
  }
  return false;
}

/**
 * Thrown by a store itself when it knows it cannot answer right now: Redis found stalled or
 * disconnected (commands fail at once instead of waiting for a timeout each), or PostgreSQL's
 * driver failures that mean the server cannot be reached (classified next to the driver).
 */
export class StoreUnavailableError extends Error {
  static readonly NAME = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = StoreUnavailableError.NAME;
  }
}
