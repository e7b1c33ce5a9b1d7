import { accessLogger, type Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export interface RequestOutcome {
  requestId: string;
  route: string;
  method: string;
  status: number;
  /** `ok`, or the error code that answered the request. */
  outcome: string;
  startedAt: bigint;
  /** Extra fields for the log line (extension id, request type, action, ...): never secrets, the access line is not redacted. */
  fields?: Record<string, unknown>;
  /** The cause of an `internal_error`, logged at error level (never sent to the client). */
  err?: unknown;
}

/**
 * The one place a finished request is logged and counted, used by the CEK handler and the Express
 * app alike. One log line per request at info; 5xx at error with the cause.
 */
export function observeRequest(log: Logger, metrics: Metrics, o: RequestOutcome): void {
  const seconds = Number(process.hrtime.bigint() - o.startedAt) / 1e9;
  metrics.httpRequests.inc({ route: o.route, method: o.method, status: String(o.status), outcome: o.outcome });
  metrics.httpDuration.observe({ route: o.route, method: o.method, outcome: o.outcome }, seconds);
  const line = {
    reqId: o.requestId,
    method: o.method,
    route: o.route,
    status: o.status,
    outcome: o.outcome,
    ms: Math.round(seconds * 1e5) / 100,
    ...o.fields,
  };
  if (o.status >= 500) log.error({ ...line, err: o.err }, 'request failed');
  else accessLogger(log).info(line, 'request');
}
