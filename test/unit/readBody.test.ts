import express, { type NextFunction, type RequestHandler } from 'express';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAppError } from '../../src/http/errors.js';
import { readBody, withBodyDeadline } from '../../src/http/readBody.js';

// readBody against real sockets: a body that stalls is refused with 408 after the timeout.
describe('readBody', () => {
  let server: Server;
  let outcome: Promise<string>;
  let settle: (v: string) => void;

  beforeEach(async () => {
    outcome = new Promise((resolve) => (settle = resolve));
    server = createServer((req, res) => {
      readBody(req, 1024, 150).then(
        (b) => settle(`body:${b.toString()}`),
        (err: unknown) => settle(isAppError(err) ? `${err.status} ${err.code}${err.headers?.['connection'] === 'close' ? ' (close)' : ''}` : 'other'),
      );
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const send = (chunks: string[], length: number, headers: Record<string, string> = {}) => {
    const req = request({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', method: 'POST', headers: { 'content-length': String(length), ...headers } });
    req.on('error', () => undefined);
    for (const c of chunks) req.write(c);
    return req;
  };

  test('a complete body is read', async () => {
    send(['{"a":', '1}'], 7).end();
    expect(await outcome).toBe('body:{"a":1}');
  });

  test('a body that stops half-way is refused with 408 request_timeout after the timeout, closing the connection', async () => {
    const req = send(['{"a":'], 100);
    expect(await outcome).toBe('408 request_timeout (close)');
    req.destroy();
  });

  test('a body over the limit is refused with 413 payload_too_large, closing the connection', async () => {
    const req = send(['x'.repeat(200)], 5000);
    expect(await outcome).toBe('413 payload_too_large (close)');
    req.destroy();
  });

  test('a compressed body is refused with 415 (signatures are over the bytes as sent)', async () => {
    send(['xx'], 2, { 'content-encoding': 'gzip' }).end();
    expect(await outcome).toBe('415 unsupported_media_type');
  });

  test('content-encoding identity is read as it is', async () => {
    send(['{}'], 2, { 'content-encoding': 'Identity' }).end();
    expect(await outcome).toBe('body:{}');
  });
});

// The same deadline around an Express body parser (the admin API, admin pages and link pages).
describe('withBodyDeadline', () => {
  let server: Server;
  let outcome: Promise<string>;
  let settle: (v: string) => void;
  const parse = withBodyDeadline(express.urlencoded({ extended: false }), 150);

  beforeEach(async () => {
    outcome = new Promise((resolve) => (settle = resolve));
    server = createServer((req, res) => {
      parse(req as never, res as never, (err?: unknown) => {
        settle(err === undefined ? `body:${JSON.stringify((req as { body?: unknown }).body)}` : isAppError(err) ? `${err.status} ${err.code} ${err.headers?.['connection']}` : 'other');
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const send = (chunks: string[], length: number) => {
    const req = request({
      port: (server.address() as AddressInfo).port,
      host: '127.0.0.1',
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(length) },
    });
    req.on('error', () => undefined);
    for (const c of chunks) req.write(c);
    return req;
  };

  test('a form that arrives is parsed', async () => {
    send(['a=1', '&b=2'], 7).end();
    expect(await outcome).toBe('body:{"a":"1","b":"2"}');
  });

  test('a form that stops half-way is 408 request_timeout after the timeout, answered with connection: close', async () => {
    const req = send(['a='], 100);
    expect(await outcome).toBe('408 request_timeout close');
    req.destroy();
  });

  test('what the parser reports after the deadline is dropped: the request goes on once', async () => {
    let late: NextFunction | undefined;
    const never: RequestHandler = (_req, _res, next) => {
      late = next;
    };
    const seen: unknown[] = [];
    const req = { complete: false };
    await new Promise<void>((resolve) =>
      withBodyDeadline(never, 20)(req as never, {} as never, (err?: unknown) => {
        seen.push(err);
        resolve();
      }),
    );
    late?.(new Error('aborted'));
    late?.();
    expect(seen).toHaveLength(1);
    expect(isAppError(seen[0]) && seen[0].code).toBe('request_timeout');
  });
});
