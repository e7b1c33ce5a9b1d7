import { Forwarder, targetOf } from '../../src/actions/forward.js';
import { createLogger } from '../../src/http/logger.js';
import { startTarget, type TestTarget } from '../helpers/targets.js';

/** The forwarder alone, against a loopback target. */
describe('Forwarder', () => {
  let target: TestTarget;
  /** Set when the trickling target's socket is closed (by the forwarder cutting it at the deadline). */
  let trickleClosed: Promise<void> = Promise.resolve();
  let trickleOpen = false;
  const forwarder = new Forwarder({ production: false, log: createLogger('silent') });
  const call = (path: string, timeoutMs = 300) =>
    forwarder.forward({ target: targetOf(`${target.url}${path}`), headers: ['content-type', 'application/json'], body: Buffer.from('{}'), timeoutMs, allowPrivateTargets: false });

  beforeAll(async () => {
    target = await startTarget({
      '/ok': (_c, res) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"speech":"ok"}');
      },
      // A 500 whose body trickles in forever: the status answers at once; the socket is cut at the deadline.
      '/trickle500': (_c, res) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        trickleOpen = true;
        const timer = setInterval(() => res.write('x'), 20);
        trickleClosed = new Promise((resolve) =>
          res.on('close', () => {
            clearInterval(timer);
            trickleOpen = false;
            resolve();
          }),
        );
      },
      '/declared-huge': (_c, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) });
        res.write('{');
      },
    });
  });
  afterAll(async () => {
    await forwarder.close();
    await target.close();
  });

  test('a 2xx reply comes back with its bytes and content type', async () => {
    const r = await call('/ok');
    expect(r).toEqual({ ok: true, status: 200, contentType: 'application/json', body: Buffer.from('{"speech":"ok"}') });
  });

  test('a non-2xx answers at once (while its body still trickles); the trickle is cut at the call deadline', async () => {
    const r = await call('/trickle500', 300);
    expect(r).toEqual({ ok: false, cause: 'bad_status', status: 500 });
    // Answered from the status alone: the target is still sending its body.
    expect(trickleOpen).toBe(true);
    // It would trickle forever: only the forwarder's deadline closes it (the test's own timeout bounds the wait).
    await trickleClosed;
    expect(trickleOpen).toBe(false);
  });

  test('a declared content-length above 256 KiB is refused without reading it', async () => {
    // Not `timeout`: the body never ends, so only refusing it from its header answers before the deadline.
    expect(await call('/declared-huge', 2_000)).toEqual({ ok: false, cause: 'too_large', status: 200 });
  });

  test('the pool keeps serving after all that', async () => {
    expect((await call('/ok')).ok).toBe(true);
  });
});
