import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import { AppError, toAppError } from './errors.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { observeRequest } from './observe.js';
import { requestIdOf } from './requestId.js';
import { sendError } from './respond.js';

declare module 'express-serve-static-core' {
  interface Request {
    requestId: string;
    /** Set by the error handler so the log line names the failure. */
    failure?: { code: string; err?: unknown };
  }
}

/** The route template a request matched (`/api/v1/extensions/:id`), never the raw path: metrics labels stay bounded. */
function routeOf(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? `${req.baseUrl}${path}` : 'unmatched';
}

/** Request id, and one log line + metrics per request when it finishes (the same functions the CEK door uses). */
export function requestObserver(log: Logger, metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const startedAt = process.hrtime.bigint();
    req.requestId = requestIdOf(req);
    res.setHeader('x-request-id', req.requestId);
    res.on('finish', () => {
      if (req.path === '/metrics' || req.path === '/healthz' || req.path === '/readyz') return;
      observeRequest(log, metrics, {
        requestId: req.requestId,
        route: routeOf(req),
        method: req.method,
        status: res.statusCode,
        outcome: req.failure?.code ?? (res.statusCode < 400 ? 'ok' : String(res.statusCode)),
        startedAt,
        err: req.failure?.err,
      });
    });
    next();
  };
}

export const notFound: RequestHandler = (req) => {
  throw new AppError('not_found', `No route for ${req.method} ${req.path}.`);
};

/** Turns any error into the JSON envelope; internals never reach the client. */
export function jsonErrorHandler(): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const appErr = toAppError(err);
    req.failure = { code: appErr.code, ...(appErr.code === 'internal_error' ? { err } : {}) };
    sendError(res, appErr, req.requestId);
  };
}
