import type { NextFunction, RequestHandler } from 'express';
import type { IncomingMessage } from 'node:http';
import { AppError } from './errors.js';

/** How long a request body may take to arrive, on every route that reads one. */
export const BODY_TIMEOUT_MS = 10_000;

/**
 * Reads a request body into one Buffer, refusing more than `limit` bytes with 413
 * `payload_too_large` (early from content-length, or as soon as the stream passes the limit), a
 * compressed body with 415 `unsupported_media_type` (signatures are over the bytes as sent), and
 * a body that has not fully arrived within `timeoutMs` with 408 `request_timeout`.
 */
export function readBody(req: IncomingMessage, limit: number, timeoutMs = BODY_TIMEOUT_MS): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(tooLarge(limit));
  }
  const coding = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (coding !== '' && coding !== 'identity') {
    return Promise.reject(new AppError('unsupported_media_type', 'Send the request body uncompressed: content-encoding is not supported here.'));
  }
  // The client may have gone while the request waited its turn: its 'aborted'/'close' events are past.
  if (req.destroyed && !req.readableEnded) {
    return Promise.reject(new AppError('invalid_request', 'The client aborted the request.'));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    // A client that stalls mid-body would otherwise hold its socket until node's requestTimeout. A
    // body that has fully arrived (the usual CEK request: one packet) needs no timer.
    const timer = req.complete
      ? undefined
      : setTimeout(() => {
          req.pause();
          finish(timedOut(timeoutMs));
        }, timeoutMs);
    const finish = (err: Error | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (err !== undefined) reject(err);
      else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        // Stop buffering; the response goes out with `connection: close`, which drops the rest.
        req.pause();
        finish(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish(undefined);
    const onError = (err: Error): void => finish(new AppError('invalid_request', 'The request body could not be read.', { cause: err }));
    const onAborted = (): void => finish(new AppError('invalid_request', 'The client aborted the request.'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/** Like a timeout, the unread rest of the body would be parsed as the next request: the answer closes the connection. */
function tooLarge(limit: number): AppError {
  return new AppError('payload_too_large', `The request body is larger than ${limit / 1024} KiB.`, { headers: { connection: 'close' } });
}

/**
 * `parse` (an Express body parser) under readBody's deadline: body-parser itself waits for a stalled
 * body as long as the socket stays open (node's requestTimeout). Past `timeoutMs` the request goes on
 * to the error handler as 408 `request_timeout`; whatever the parser reports later is dropped.
 */
export function withBodyDeadline(parse: RequestHandler, timeoutMs = BODY_TIMEOUT_MS): RequestHandler {
  return (req, res, next) => {
    // A body that has fully arrived (most requests: one packet) needs no timer.
    if (req.complete) {
      parse(req, res, next);
      return;
    }
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      next(timedOut(timeoutMs));
    }, timeoutMs);
    const parsed: NextFunction = (err?: unknown) => {
      clearTimeout(timer);
      if (done) return;
      done = true;
      next(err);
    };
    parse(req, res, parsed);
  };
}

/** The rest of the body would hold the connection (node reads an unread body off before the next request): the answer closes it. */
function timedOut(timeoutMs: number): AppError {
  return new AppError('request_timeout', `The request body did not arrive within ${timeoutMs / 1000} s.`, { headers: { connection: 'close' } });
}
