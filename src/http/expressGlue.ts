import type { ErrorRequestHandler, Request, RequestHandler, Router } from 'express';
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

/** What `allowedMethods` reads of Express 5's router (package `router` 2.x), checked as it goes: @types/express does not describe it. */
interface RouterLayer {
  match?: (path: string) => false | { path: string };
  route?: { methods?: Record<string, boolean> };
  handle?: { stack?: unknown };
}

/**
 * The methods the routes of `router`, and of the routers mounted in it, take at `path` (relative to
 * `router`), sorted, with HEAD wherever GET is: the list Express answers OPTIONS with. [] when no
 * route has the path. Read off the routers' own stacks with their own matchers, so it cannot drift
 * from the routes; walked only for a request no route took.
 */
export function allowedMethods(router: Router, path: string): string[] {
  const methods = new Set<string>();
  collectMethods(router.stack, path, methods);
  return [...methods].sort();
}

function collectMethods(stack: readonly unknown[], path: string, into: Set<string>): void {
  for (const layer of stack as readonly RouterLayer[]) {
    const match = typeof layer.match === 'function' ? layer.match(path) : false;
    if (match === false) continue;
    if (layer.route !== undefined) {
      // `_all` (app.all) takes every method: such a route never leaves a request to this walk.
      for (const [method, on] of Object.entries(layer.route.methods ?? {})) if (on && method !== '_all') into.add(method.toUpperCase());
      if (layer.route.methods?.['get'] === true) into.add('HEAD');
    } else if (Array.isArray(layer.handle?.stack)) {
      // A mounted router sees the path without its mount point, as Express hands it over.
      collectMethods(layer.handle.stack, path.slice(match.path.length) || '/', into);
    }
  }
}

/**
 * Put after the routes of `router`: a path they route with other methods is 405
 * `method_not_allowed` with `Allow` (RFC 9110 section 15.5.6); any other path goes on to the 404.
 * OPTIONS goes on too: Express answers it for a routed path, with the same list.
 */
export function methodNotAllowed(router: Router): RequestHandler {
  return (req, _res, next) => {
    const allowed = req.method === 'OPTIONS' ? [] : allowedMethods(router, req.path);
    if (allowed.length === 0) {
      next();
      return;
    }
    const allow = allowed.join(', ');
    throw new AppError('method_not_allowed', `${req.method} is not allowed on ${req.baseUrl}${req.path}: it takes ${allow}.`, { headers: { allow } });
  };
}

/** Turns any error into the JSON envelope; internals never reach the client. */
export function jsonErrorHandler(): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const appErr = toAppError(err);
    req.failure = { code: appErr.code, ...(appErr.code === 'internal_error' ? { err } : {}) };
    sendError(res, appErr, req.requestId);
  };
}
