import { Writable } from 'node:stream';
import { createLogger } from '../../src/http/logger.js';

/** A logger writing into an array of lines. */
function captureLogs() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, log: createLogger('info', sink) };
}

describe('logger redaction', () => {
  test('authorization, signatures, secrets and tokens never reach a log line', () => {
    const { lines, log } = captureLogs();
    log.info(
      {
        req: { headers: { authorization: 'Bearer AT-SECRET-1', signaturecek: 'SIG-SECRET-2', 'x-ncp-chatbot_signature': 'SIG-SECRET-3', cookie: 'sid=COOKIE-4' } },
        tokens: { accessToken: 'AT-SECRET-5', refresh_token: 'RT-SECRET-6' },
        settings: { clientSecret: 'CS-SECRET-7' },
        chatbotSecret: 'CB-SECRET-8',
      },
      'hello',
    );
    const out = lines.join('');
    expect(out).toContain('hello');
    for (const secret of ['AT-SECRET-1', 'SIG-SECRET-2', 'SIG-SECRET-3', 'COOKIE-4', 'AT-SECRET-5', 'RT-SECRET-6', 'CS-SECRET-7', 'CB-SECRET-8']) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('[redacted]');
  });
});

describe('access log', () => {
  test('the per-request line keeps its fields; errors still go through redaction', async () => {
    const { observeRequest } = await import('../../src/http/observe.js');
    const { createMetrics } = await import('../../src/http/metrics.js');
    const { lines, log } = captureLogs();
    const metrics = createMetrics({ defaultMetrics: false });
    observeRequest(log, metrics, {
      requestId: 'r1',
      route: '/cek/:extensionId',
      method: 'POST',
      status: 200,
      outcome: 'action',
      startedAt: process.hrtime.bigint(),
      fields: { extensionId: 'com.a.b' },
    });
    observeRequest(log, metrics, {
      requestId: 'r2',
      route: '/x',
      method: 'GET',
      status: 500,
      outcome: 'internal_error',
      startedAt: process.hrtime.bigint(),
      err: { message: 'boom', accessToken: 'AT-SECRET-9' },
    });
    const [ok, failed] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(ok).toMatchObject({ reqId: 'r1', status: 200, outcome: 'action', extensionId: 'com.a.b', msg: 'request' });
    expect(failed).toMatchObject({ reqId: 'r2', status: 500, msg: 'request failed' });
    expect(lines.join('')).not.toContain('AT-SECRET-9');
  });
});
