import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAppError } from '../../src/http/errors.js';
import { readBody } from '../../src/http/readBody.js';

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
        (err: unknown) => settle(isAppError(err) ? `${err.status} ${err.code}` : 'other'),
      );
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const send = (chunks: string[], length: number) => {
    const req = request({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', method: 'POST', headers: { 'content-length': String(length) } });
    req.on('error', () => undefined);
    for (const c of chunks) req.write(c);
    return req;
  };

  test('a complete body is read', async () => {
    send(['{"a":', '1}'], 7).end();
    expect(await outcome).toBe('body:{"a":1}');
  });

  test('a body that stops half-way is refused with 408 request_timeout after the timeout', async () => {
    const req = send(['{"a":'], 100);
    expect(await outcome).toBe('408 request_timeout');
    req.destroy();
  });
});
