import { Writable } from 'node:stream';
import { createLogger } from '../../src/http/logger.js';

describe('logger redaction', () => {
  test('authorization, signatures, secrets and tokens never reach a log line', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const log = createLogger('info', sink);
    log.info({
      req: { headers: { authorization: 'Bearer AT-SECRET-1', signaturecek: 'SIG-SECRET-2', 'x-ncp-chatbot_signature': 'SIG-SECRET-3', cookie: 'sid=COOKIE-4' } },
      tokens: { accessToken: 'AT-SECRET-5', refresh_token: 'RT-SECRET-6' },
      settings: { clientSecret: 'CS-SECRET-7' },
      chatbotSecret: 'CB-SECRET-8',
    }, 'hello');
    const out = lines.join('');
    expect(out).toContain('hello');
    for (const secret of ['AT-SECRET-1', 'SIG-SECRET-2', 'SIG-SECRET-3', 'COOKIE-4', 'AT-SECRET-5', 'RT-SECRET-6', 'CS-SECRET-7', 'CB-SECRET-8']) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('[redacted]');
  });
});
