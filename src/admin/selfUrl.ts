import type { Request } from 'express';

/**
 * This instance as seen from itself: the address and port the admin request came in on. That is
 * where this process listens (behind a proxy too: the proxy connects to us), so test requests
 * reach this very instance, never a neighbour behind the load balancer.
 */
export function selfBaseUrl(req: Request): string {
  const port = req.socket.localPort ?? 0;
  let host = req.socket.localAddress ?? '127.0.0.1';
  if (host.startsWith('::ffff:')) host = host.slice('::ffff:'.length);
  if (host === '' || host === '::' || host === '0.0.0.0') host = '127.0.0.1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
