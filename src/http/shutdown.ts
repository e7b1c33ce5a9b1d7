import type { Server } from 'node:http';

/**
 * Stops taking new connections, lets in-flight requests finish (idle keep-alive connections are
 * closed at once), and after `graceMs` closes whatever is left. Resolves when the server is closed.
 */
export function closeGracefully(server: Server, graceMs: number, onForce?: () => void): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      onForce?.();
      server.closeAllConnections();
    }, graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
