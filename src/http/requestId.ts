import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

// A caller-supplied id is reused only when it is short and plain, so it cannot inject into log lines.
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request id: the caller's `x-request-id` when it is safe, a new UUID otherwise. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && SAFE_ID.test(given)) return given;
  return randomUUID();
}
