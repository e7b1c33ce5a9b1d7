import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';

/**
 * Action-method targets for tests: real node:http servers on loopback that record every call (the
 * exact body bytes and the headers) and answer per path, well or badly on purpose.
 */
export interface TargetCall {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type TargetHandler = (call: TargetCall, res: ServerResponse, req: IncomingMessage) => void | Promise<void>;

export interface TestTarget {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  calls: TargetCall[];
  /** Calls to one path. */
  callsTo(path: string): TargetCall[];
  /** Answers `path` with `handler` from now on. */
  on(path: string, handler: TargetHandler): void;
  close(): Promise<void>;
}

/** `port`: listen on that one (a receiver that comes back where it was); a free one by default. */
export async function startTarget(routes: Record<string, TargetHandler> = {}, port = 0): Promise<TestTarget> {
  const handlers = new Map(Object.entries(routes));
  const calls: TargetCall[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const call: TargetCall = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      calls.push(call);
      const handler = handlers.get(call.path.split('?')[0] ?? '') ?? notFound;
      Promise.resolve(handler(call, res, req)).catch(() => res.destroy());
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    calls,
    callsTo: (path) => calls.filter((c) => c.path === path),
    on: (path, handler) => handlers.set(path, handler),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const notFound: TargetHandler = (_call, res) => {
  res.writeHead(404).end();
};

/** Canned target behaviours. */
export const reply = {
  json(body: unknown, status = 200): TargetHandler {
    return (_c, res) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
    };
  },
  text(body: string, contentType = 'text/plain; charset=utf-8', status = 200): TargetHandler {
    return (_c, res) => {
      res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) }).end(body);
    };
  },
  status(status: number, headers: Record<string, string> = {}): TargetHandler {
    return (_c, res) => {
      res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(`status ${status}`);
    };
  },
  /** Answers after `ms` (or never answers, when the client gives up first). */
  slow(ms: number, then: TargetHandler = reply.json({ speech: 'late' })): TargetHandler {
    return (c, res, req) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          if (!res.destroyed) void then(c, res, req);
          resolve();
        }, ms);
        res.on('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
  },
  /** `bytes` of JSON-looking data, streamed without content-length (chunked). */
  huge(bytes: number): TargetHandler {
    return (_c, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      const pump = (): void => {
        while (sent < bytes && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        if (!res.destroyed) res.end();
      };
      res.on('error', () => undefined);
      pump();
    };
  },
  /** Sends the headers and half a JSON body, then drops the connection. */
  hangUpMidReply(): TargetHandler {
    return (_c, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '400' });
      res.write('{"version":"1.0","response":{"outputSpeech":');
      setTimeout(() => res.socket?.destroy(), 20);
    };
  },
  /** Runs the handlers in turn, one per call; the last one answers every call after. */
  sequence(...handlers: TargetHandler[]): TargetHandler {
    let i = 0;
    return (c, res, req) => {
      const h = handlers[Math.min(i, handlers.length - 1)];
      i++;
      return h?.(c, res, req);
    };
  },
};

/** A loopback port with nothing listening on it (connection refused). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A minimal OAuth 2.0 token endpoint for refreshes (RFC 6749 section 6): each `refresh_token`
 * grant returns `access_token` `<prefix>-<n>`; `fail` makes it answer `invalid_grant`.
 */
export interface TestTokenEndpoint {
  url: string;
  refreshes: number;
  fail: boolean;
  /** The access token the last refresh handed out. */
  lastAccessToken: string | undefined;
  close(): Promise<void>;
}

export async function startTokenEndpoint(prefix = 'refreshed'): Promise<TestTokenEndpoint> {
  const state: TestTokenEndpoint = {
    url: '',
    refreshes: 0,
    fail: false,
    lastAccessToken: undefined,
    close: async () => undefined,
  };
  const target = await startTarget({
    '/token': (call, res) => {
      const form = new URLSearchParams(call.body.toString('utf8'));
      if (form.get('grant_type') !== 'refresh_token') return reply.json({ error: 'unsupported_grant_type' }, 400)(call, res, undefined as never);
      state.refreshes++;
      if (state.fail) return reply.json({ error: 'invalid_grant', error_description: 'refresh token revoked' }, 400)(call, res, undefined as never);
      state.lastAccessToken = `${prefix}-${state.refreshes}`;
      return reply.json({ access_token: state.lastAccessToken, token_type: 'Bearer', expires_in: 3600, refresh_token: form.get('refresh_token') ?? 'rt' })(call, res, undefined as never);
    },
  });
  state.url = `${target.url}/token`;
  state.close = () => target.close();
  return state;
}

/** A plain TCP listener on loopback that only counts connection attempts (any TLS handshake with it fails). */
export interface ConnectionCounter {
  port: number;
  /** The connections made so far. */
  readonly connections: readonly Socket[];
  close(): Promise<void>;
}

/**
 * For the production target policy tests: what matters is whether the gateway dialled an address
 * at all, so the listener answers nothing and closes each connection.
 */
export async function startConnectionCounter(): Promise<ConnectionCounter> {
  const connections: Socket[] = [];
  const server = createNetServer((s) => {
    connections.push(s);
    s.on('error', () => undefined);
    s.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections,
    async close() {
      for (const s of connections) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
