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

/**
 * The service logger. Without a destination it writes to stdout asynchronously (sonic-boom): lines
 * that pile up while a write is in flight go out together, instead of one blocking write per
 * request on the voice path. `flush` it before exiting.
 */
export function createLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'cek-gateway' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
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
