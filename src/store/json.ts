import { AppError, isAppError } from '../http/errors.js';

/**
 * The one place the service trusts the shape of stored JSON: records it wrote itself, through the
 * owners' own types (the store holds nothing written by anyone else). Reading a record back is then
 * `decodeRecord<TokenRecord>(raw)` instead of a cast at every read.
 */
export function decodeRecord<T>(raw: string): T {
  return JSON.parse(raw) as T;
}

/**
 * Refuses a record whose shape version `v` is above `known` (the newest this code writes) with 503
 * `record_from_newer_version`. During a rolling upgrade an older instance reads what a newer one
 * wrote: acting on a shape it half understands, or writing it back in its own, could lose what the
 * newer version stored; an upgraded instance can serve it instead. One comparison: it runs on every
 * token read of the voice path. `what` names the record in the message, e.g. `Extension "com.a.b"`.
 */
export function checkRecordVersion(v: number | undefined, known: number, what: string): void {
  if (v !== undefined && v > known) {
    throw new AppError('record_from_newer_version', `${what} was written by a newer version of cek-gateway (record version ${v}, this instance reads up to ${known}): upgrade this instance.`);
  }
}

/** The refusal of `checkRecordVersion`. */
export function isNewerRecord(err: unknown): err is AppError {
  return isAppError(err) && err.code === 'record_from_newer_version';
}
