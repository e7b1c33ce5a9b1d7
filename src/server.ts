import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createApp } from './app.js';
import { createVoiceHandler } from './cek/voiceDoor.js';
import type { Services } from './services.js';

const CEK_PREFIX = '/cek/';

/**
 * The node:http server: `POST /cek/:extensionId` goes straight to the voice door (Express costs more
 * CPU per request than all of a voice request's own work, PERFORMANCE.md), everything else to Express.
 * `server`: one made (and perhaps bound) already, which gets the handler.
 */
export function createServer(s: Services, server: Server = createHttpServer()): Server {
  const app = createApp(s);
  const handleVoice = createVoiceHandler({ pipeline: s.pipeline, publicKey: s.config.cekPublicKey, log: s.log, metrics: s.metrics });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    if (req.method === 'POST' && url.startsWith(CEK_PREFIX)) {
      const q = url.indexOf('?');
      let id = url.slice(CEK_PREFIX.length, q === -1 ? undefined : q);
      // An invoke URL pasted with a trailing slash is the same URL.
      if (id.endsWith('/')) id = id.slice(0, -1);
      if (id !== '' && !id.includes('/')) {
        void handleVoice(req, res, id);
        return;
      }
    }
    app(req, res);
  });
  // Longer than typical load-balancer idle timeouts (60 s), so the proxy closes first.
  server.keepAliveTimeout = 65_000;
  // A request's headers and body must have arrived within 30 s (node's default: 5 min). Every route
  // that reads a body stops a stalled one at 10 s (BODY_TIMEOUT_MS); this bounds the rest, e.g. a
  // body sent to a route that reads none, which node reads off before the connection is free again.
  // No route takes a long upload; responses and idle keep-alive connections are not timed by these.
  server.requestTimeout = 30_000;
  server.headersTimeout = 30_000;
  return server;
}
