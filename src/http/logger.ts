import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths that may hold a credential anywhere in a log object. pino's redact works on paths, so both
 * the request shape and the common field names are listed; anything under them is replaced.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers.signaturecek',
  'req.headers["x-ncp-chatbot_signature"]',
  'req.headers["x-ncp-apigw-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers.signaturecek',
  'headers["x-ncp-chatbot_signature"]',
  'headers["x-ncp-apigw-api-key"]',
  '*.authorization',
  'authorization',
  '*.accessToken',
  'accessToken',
  '*.access_token',
  'access_token',
  '*.refreshToken',
  'refreshToken',
  '*.refresh_token',
  'refresh_token',
  '*.id_token',
  '*.clientSecret',
  'clientSecret',
  '*.client_secret',
  '*.chatbotSecret',
  'chatbotSecret',
  '*.secret',
  'secret',
  '*.password',
  '*.token',
  'token',
  '*.adminToken',
  '*.encryptionKey',
  '*.code_verifier',
  '*.apiKey',
];

type StdoutDestination = ReturnType<typeof pino.destination>;

/** The stdout destination of each logger made without one, and whether the reader of that pipe has gone. */
const stdoutOf = new WeakMap<Logger, { dest: StdoutDestination; gone: boolean }>();

/**
 * The service logger. Without a destination it writes to stdout asynchronously (sonic-boom): lines
 * that pile up while a write is in flight go out together, instead of one blocking write per
 * request on the voice path. `drainLog` it before exiting.
 */
export function createLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  const dest = destination ?? pino.destination({ dest: 1, sync: false });
  const log = pino(
    {
      level,
      base: { service: 'cek-gateway' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
  if (destination === undefined) {
    const out = { dest: dest as StdoutDestination, gone: false };
    // pino drops every later line after an EPIPE (`node main.js | head`); noted, so that `drainLog`
    // does not wait for lines that will never be written. Any other error is thrown on, as pino
    // does when nothing else listens.
    out.dest.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      out.gone = true;
    });
    stdoutOf.set(log, out);
  }
  return log;
}

/**
 * Resolves once the lines logged so far are written to stdout, or after `boundMs`, whichever comes
 * first: call it before `process.exit`. pino writes what is left synchronously on exit, and that
 * write retries forever on a pipe whose reader has gone (EPIPE) and blocks on a full pipe nobody
 * reads; so once this resolves, nothing is left for it to write (what the bound cut off is dropped).
 */
export function drainLog(log: Logger, boundMs: number): Promise<void> {
  const out = stdoutOf.get(log);
  if (out === undefined) return Promise.resolve();
  const { dest } = out;
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      dest.off('drain', done);
      dest.off('error', done);
      dest.flushSync = () => undefined;
      resolve();
    };
    const timer = setTimeout(done, boundMs);
    if (out.gone) {
      done();
      return;
    }
    dest.once('drain', done);
    dest.once('error', done);
    // sonic-boom says `drain` once everything queued before this empty write has been written.
    dest.write('');
  });
}

const accessLoggers = new WeakMap<Logger, Logger>();

/**
 * The logger of the one-line-per-request access log: the same logger without redaction, because
 * those lines carry only fields we choose (ids, route, status, outcome, timing), never headers or
 * bodies, and redaction costs about 40 µs per line on the voice path (bench/RESULTS.md). Anything
 * else, errors included, goes through the redacting logger.
 */
export function accessLogger(log: Logger): Logger {
  let access = accessLoggers.get(log);
  if (access === undefined) {
    access = log.child({}, { redact: { paths: [] } });
    accessLoggers.set(log, access);
  }
  return access;
}
