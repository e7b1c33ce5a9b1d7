import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { z } from 'zod';
import { CLOVA_SIGNATURE_PUBLIC_KEY } from '../cek/clovaPublicKey.js';
import { estimatedEntropyBits, MIN_KEY_BITS, MIN_TOKEN_BITS } from '../security/entropy.js';
import { hasUserInfo } from '../security/redactUrl.js';
import { decodeKey } from '../security/keyring.js';
import { SCHEMA_NAME } from '../store/postgresMigrations.js';
import { clusterUrlOf, parseClusterNodes, redisTargetOf } from '../store/redisTarget.js';
import { deepFreeze } from './freeze.js';
import { messageOf } from '../http/errorInfo.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The validated, frozen configuration. Nothing outside `config/` reads `process.env`. */
export interface Config {
  readonly env: 'development' | 'production' | 'test';
  readonly production: boolean;
  /** Bind address: loopback by default except in production (`0.0.0.0`). */
  readonly host: string;
  readonly port: number;
  /** Without a trailing slash, e.g. `https://cek.example.com`. */
  readonly publicUrl: string;
  readonly dataDir: string;
  /** One server (`redis://…`), or a cluster (`redis+cluster://host:port,…`, also from `REDIS_CLUSTER_NODES`). */
  readonly redisUrl: string | undefined;
  readonly redisKeyPrefix: string;
  /** Start on a Redis that persists nothing (no RDB, no AOF) even in production. */
  readonly redisAllowVolatile: boolean;
  /** PostgreSQL (`postgres://…`): when set, the store lives there. */
  readonly databaseUrl: string | undefined;
  /** The PostgreSQL schema of the store's tables, so deployments can share a database. */
  readonly databaseSchema: string;
  /** Current sealing key (32 bytes) first, then the previous ones still accepted for opening. */
  readonly encryptionKeys: readonly Buffer[];
  readonly adminToken: string;
  readonly cekPublicKey: KeyObject;
  readonly logLevel: LogLevel;
  /** Seconds before expiry at which a linked access token is refreshed. */
  readonly refreshSkewSeconds: number;
  /** Express `trust proxy`: hops of reverse proxies whose X-Forwarded-* headers are believed. */
  readonly trustProxy: number;
  /** Calls a month each extension gets free before usage is billed (shown on the usage page). */
  readonly gatewayFreeMonthlyCalls: number;
  /** Lifecycle webhooks: the delay before the first retry; each later one doubles it (up to 24 h in all). */
  readonly webhookFirstRetrySeconds: number;
  /** Keep-alive refresh: token-endpoint calls a second per provider (token endpoint origin), across all instances. */
  readonly keepAliveRatePerSecond: number;
  /** The length in seconds of the "hour" of an extension's `keepAliveHours` (3600; tests shrink it, production refuses that). */
  readonly keepAliveHourSeconds: number;
}

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const blankToUndefined = (v: unknown): unknown => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalString = z.preprocess(blankToUndefined, z.string().optional());

/** An IP address or a host name (`localhost`, `gateway.internal`): what `server.listen` binds to. */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/**
 * A numeric variable, refused in one line that gives its range (zod's own words name NaN, or report
 * a huge value twice, once against the safe-integer limit). `max` undefined: no upper bound.
 */
function numberVar(o: { min: number; max?: number; whole?: boolean; fallback: number; note?: string }) {
  const kind = o.whole === true ? 'a whole number' : 'a number';
  const range = o.max === undefined ? `${o.min} or more` : `from ${o.min} to ${o.max}`;
  const message = `must be ${kind} ${range}${o.note === undefined ? '' : ` (${o.note})`}`;
  return z.preprocess(blankToUndefined, z.string().optional()).transform((v, ctx) => {
    if (v === undefined) return o.fallback;
    const n = Number(v.trim());
    if (!Number.isFinite(n) || n < o.min || (o.max !== undefined && n > o.max) || (o.whole === true && !Number.isSafeInteger(n))) {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    return n;
  });
}

const flag = z.preprocess(blankToUndefined, z.enum(['0', '1', 'true', 'false'], { message: 'must be 1 or 0' }).default('0')).transform((v) => v === '1' || v === 'true');

const schema = z.object({
  NODE_ENV: z.preprocess(blankToUndefined, z.enum(['development', 'production', 'test']).default('development')),
  HOST: z.preprocess(
    blankToUndefined,
    z
      .string()
      .refine((v) => isIP(v) !== 0 || HOST_NAME.test(v), 'must be an IP address (127.0.0.1, 0.0.0.0, ::) or a host name')
      .optional(),
  ),
  // 0: a free port the system picks (tests start instances that way); the log line names it.
  PORT: numberVar({ min: 0, max: 65535, whole: true, fallback: 3000, note: '0: any free port' }),
  PUBLIC_URL: optionalString,
  DATA_DIR: z.preprocess(blankToUndefined, z.string().default('./data')),
  REDIS_URL: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^rediss?(\+cluster)?:\/\//, 'must start with redis://, rediss://, redis+cluster:// or rediss+cluster://')
      .superRefine(problemOf(validRedisTarget))
      .optional(),
  ),
  REDIS_CLUSTER_NODES: z.preprocess(blankToUndefined, z.string().superRefine(problemOf(validClusterNodes)).optional()),
  // Braces would make a Redis Cluster hash only the prefix's tag: every key in one slot, one node.
  REDIS_KEY_PREFIX: z.preprocess(
    blankToUndefined,
    z
      .string()
      .max(64)
      .regex(/^[^{}]*$/, 'must not contain { or } (on a Redis Cluster they would put every key in one hash slot)')
      .default('cekgw:'),
  ),
  REDIS_ALLOW_VOLATILE: flag,
  DATABASE_URL: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .refine((u) => URL.canParse(u), 'is not a valid URL')
      .optional(),
  ),
  DATABASE_SCHEMA: z.preprocess(blankToUndefined, z.string().regex(SCHEMA_NAME, 'must be lower-case letters, digits and _ (at most 63, not starting with a digit)').default('cek_gateway')),
  ENCRYPTION_KEY: optionalString,
  ENCRYPTION_KEYS_PREVIOUS: optionalString,
  ADMIN_TOKEN: optionalString,
  CEK_PUBLIC_KEY: optionalString,
  LOG_LEVEL: z.preprocess(blankToUndefined, z.enum(LOG_LEVELS).default('info')),
  REFRESH_SKEW_SECONDS: numberVar({ min: 0, max: 3600, whole: true, fallback: 60 }),
  TRUST_PROXY: numberVar({ min: 0, max: 10, whole: true, fallback: 0 }),
  GATEWAY_FREE_MONTHLY_CALLS: numberVar({ min: 0, whole: true, fallback: 1_000_000 }),
  WEBHOOK_FIRST_RETRY_SECONDS: numberVar({ min: 0.05, max: 3600, fallback: 5 }),
  KEEPALIVE_RATE_PER_SECOND: numberVar({ min: 0.01, max: 1000, fallback: 5 }),
  KEEPALIVE_HOUR_SECONDS: numberVar({ min: 0.1, max: 3600, fallback: 3600 }),
});

/** Secrets generated for development, kept in `DATA_DIR` so they survive restarts. */
export interface DevSecrets {
  encryptionKey: string;
  adminToken: string;
}

export interface ParseOptions {
  /**
   * Called in development when `ENCRYPTION_KEY` or `ADMIN_TOKEN` is missing; returns the secrets to
   * use (read from or generated into `DATA_DIR`). Not called in production, which refuses instead.
   */
  devSecrets?: (dataDir: string) => DevSecrets;
}

export interface ParsedConfig {
  config: Config;
  /** Loud warnings for the log (generated dev secrets, http public URL, ...). */
  warnings: string[];
}

/** Parses and validates the environment once; every problem is listed in one `ConfigError`. */
export function parseConfig(env: Readonly<Record<string, string | undefined>>, opts: ParseOptions = {}): ParsedConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || 'env'}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  const warnings: string[] = [];
  const production = e.NODE_ENV === 'production';
  const dataDir = resolve(e.DATA_DIR);
  if (e.REDIS_CLUSTER_NODES !== undefined && e.REDIS_URL !== undefined) {
    problems.push('REDIS_CLUSTER_NODES: set it or REDIS_URL, not both (a cluster with credentials or TLS: REDIS_URL=redis+cluster://user:password@host:port,host:port)');
  }

  const publicUrl = (e.PUBLIC_URL ?? defaultPublicUrl(e.PORT)).replace(/\/+$/, '');
  const url = URL.canParse(publicUrl) ? new URL(publicUrl) : undefined;
  if (hasUserInfo(publicUrl)) {
    // Checked first and never quoted: the URL is the base of every invoke, link and redirect URL and is logged at start.
    problems.push('PUBLIC_URL: must not contain a user name or password (it is the base of the invoke, link and OAuth redirect URLs that CLOVA and users see)');
  } else if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    problems.push(`PUBLIC_URL: "${publicUrl}" is not an http(s) URL`);
  } else if (url.search !== '' || url.hash !== '') {
    problems.push('PUBLIC_URL: must not have a query or fragment');
  } else if (production && url.protocol !== 'https:') {
    problems.push('PUBLIC_URL: must be https:// when NODE_ENV=production (CLOVA and the OAuth redirect require TLS)');
  } else if (url.protocol !== 'https:') {
    const shown = e.PUBLIC_URL === undefined && e.PORT === 0 ? defaultPublicUrl('<the port picked at start>') : publicUrl;
    warnings.push(`PUBLIC_URL is ${shown} (http): fine for development, CLOVA needs https in production.`);
  }

  let encryptionKey = e.ENCRYPTION_KEY;
  let adminToken = e.ADMIN_TOKEN;
  if (production) {
    if (encryptionKey === undefined) problems.push('ENCRYPTION_KEY: required when NODE_ENV=production (32 random bytes, base64; e.g. `openssl rand -base64 32`)');
    if (adminToken === undefined) problems.push('ADMIN_TOKEN: required when NODE_ENV=production (at least 24 characters; e.g. `openssl rand -hex 24`)');
  } else if ((encryptionKey === undefined || adminToken === undefined) && opts.devSecrets !== undefined) {
    const generated = opts.devSecrets(dataDir);
    if (encryptionKey === undefined) {
      encryptionKey = generated.encryptionKey;
      warnings.push(`ENCRYPTION_KEY is not set: using a development key stored in ${dataDir}/dev-secrets.json. Set ENCRYPTION_KEY before real use; NODE_ENV=production refuses to start without it.`);
    }
    if (adminToken === undefined) {
      adminToken = generated.adminToken;
      warnings.push(`ADMIN_TOKEN is not set: using a development token stored in ${dataDir}/dev-secrets.json. Set ADMIN_TOKEN before real use; NODE_ENV=production refuses to start without it.`);
    }
  } else {
    if (encryptionKey === undefined) problems.push('ENCRYPTION_KEY: required (32 random bytes, base64)');
    if (adminToken === undefined) problems.push('ADMIN_TOKEN: required');
  }

  const encryptionKeys: Buffer[] = [];
  if (encryptionKey !== undefined) {
    const key = decodeKey(encryptionKey);
    if (key === undefined) problems.push('ENCRYPTION_KEY: must be exactly 32 bytes, base64 or base64url encoded');
    else encryptionKeys.push(key);
    if (key !== undefined && estimatedEntropyBits(key) < MIN_KEY_BITS) {
      const text = `ENCRYPTION_KEY: is not random (repeated or sequential bytes, about ${Math.floor(estimatedEntropyBits(key))} bits of entropy); generate one with \`openssl rand -base64 32\``;
      if (production) problems.push(text);
      else warnings.push(`${text}. NODE_ENV=production refuses to start with it.`);
    }
  }
  if (e.ENCRYPTION_KEYS_PREVIOUS !== undefined) {
    e.ENCRYPTION_KEYS_PREVIOUS.split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .forEach((s, i) => {
        const key = decodeKey(s);
        if (key === undefined) problems.push(`ENCRYPTION_KEYS_PREVIOUS: key #${i + 1} is not 32 bytes of base64`);
        else encryptionKeys.push(key);
      });
  }
  if (adminToken !== undefined && adminToken.length < (production ? 24 : 16)) {
    problems.push(`ADMIN_TOKEN: must be at least ${production ? 24 : 16} characters`);
  } else if (adminToken !== undefined && estimatedEntropyBits(adminToken) < MIN_TOKEN_BITS) {
    const text = `ADMIN_TOKEN: is easy to guess (repeated or sequential characters, about ${Math.floor(estimatedEntropyBits(adminToken))} bits of entropy); generate one with \`openssl rand -hex 24\``;
    if (production) problems.push(text);
    else warnings.push(`${text}. NODE_ENV=production refuses to start with it.`);
  }

  let cekPublicKey: KeyObject | undefined;
  try {
    cekPublicKey = loadPublicKey(e.CEK_PUBLIC_KEY);
  } catch (err) {
    problems.push(`CEK_PUBLIC_KEY: ${messageOf(err)}`);
  }

  // A shorter keep-alive "hour" is a test knob: in production it would refresh links every N seconds instead of every N hours.
  if (production && e.KEEPALIVE_HOUR_SECONDS !== 3600) problems.push('KEEPALIVE_HOUR_SECONDS: only for tests; must be 3600 (or unset) when NODE_ENV=production');
  else if (e.KEEPALIVE_HOUR_SECONDS !== 3600) warnings.push(`KEEPALIVE_HOUR_SECONDS=${e.KEEPALIVE_HOUR_SECONDS}: keepAliveHours counts hours of that many seconds (a test setting)`);

  if (problems.length > 0 || cekPublicKey === undefined || adminToken === undefined) throw new ConfigError(problems);
  if (e.NODE_ENV === 'development' && e.HOST !== undefined && !['127.0.0.1', '::1', 'localhost'].includes(e.HOST)) {
    // Development allows http and private action targets and may run on a generated admin token.
    warnings.push(
      `HOST=${e.HOST} in development: this instance is reachable from other machines, with development's relaxed rules (http and private targets allowed). Use NODE_ENV=production for anything others can reach.`,
    );
  }

  const config: Config = {
    env: e.NODE_ENV,
    production,
    // Development answers this machine only; a server (or a container) must be reachable from outside.
    host: e.HOST ?? (production ? '0.0.0.0' : '127.0.0.1'),
    port: e.PORT,
    publicUrl,
    dataDir,
    redisUrl: redisUrlOf(e),
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    redisAllowVolatile: e.REDIS_ALLOW_VOLATILE,
    databaseUrl: e.DATABASE_URL,
    databaseSchema: e.DATABASE_SCHEMA,
    encryptionKeys,
    adminToken,
    cekPublicKey,
    logLevel: e.LOG_LEVEL,
    refreshSkewSeconds: e.REFRESH_SKEW_SECONDS,
    trustProxy: e.TRUST_PROXY,
    gatewayFreeMonthlyCalls: e.GATEWAY_FREE_MONTHLY_CALLS,
    webhookFirstRetrySeconds: e.WEBHOOK_FIRST_RETRY_SECONDS,
    keepAliveRatePerSecond: e.KEEPALIVE_RATE_PER_SECOND,
    keepAliveHourSeconds: e.KEEPALIVE_HOUR_SECONDS,
  };
  return { config: deepFreeze(config), warnings };
}

/** PUBLIC_URL when it is not set: this machine, on PORT. */
function defaultPublicUrl(port: number | string): string {
  return `http://localhost:${port}`;
}

/**
 * `config` once the server listens on `port`: with PORT=0 the system picked it, and the default
 * PUBLIC_URL (the base of invoke, link and redirect URLs) must name it. Any other PORT: unchanged.
 */
export function withBoundPort(config: Config, port: number): Config {
  if (config.port !== 0) return config;
  const publicUrl = config.publicUrl === defaultPublicUrl(0) ? defaultPublicUrl(port) : config.publicUrl;
  return deepFreeze({ ...config, port, publicUrl });
}

/** `CEK_PUBLIC_KEY` is PEM text or a path to a PEM file; unset means the bundled CLOVA key. */
function loadPublicKey(value: string | undefined): KeyObject {
  let pem = CLOVA_SIGNATURE_PUBLIC_KEY;
  if (value !== undefined) {
    if (value.includes('-----BEGIN')) pem = value.replace(/\\n/g, '\n');
    else if (existsSync(value)) pem = readFileSync(value, 'utf8');
    else throw new Error(`neither PEM text nor an existing file: "${value.slice(0, 80)}"`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new Error('is not a valid PEM public key');
  }
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`must be an RSA key, got ${String(key.asymmetricKeyType)}`);
  return key;
}

/** A zod check from a function that names the problem of a value (undefined: none). */
function problemOf(check: (v: string) => string | undefined) {
  return (v: string, ctx: z.RefinementCtx): void => {
    const why = check(v);
    if (why !== undefined) ctx.addIssue({ code: 'custom', message: why });
  };
}

function validRedisTarget(url: string): string | undefined {
  try {
    redisTargetOf(url);
    return undefined;
  } catch (err) {
    return messageOf(err);
  }
}

function validClusterNodes(list: string): string | undefined {
  try {
    parseClusterNodes(list);
    return undefined;
  } catch (err) {
    return `${messageOf(err)}; expected host:port,host:port`;
  }
}

/** The one Redis URL of the settings: REDIS_URL, or the cluster URL of REDIS_CLUSTER_NODES. */
export function redisUrlOf(e: { REDIS_URL?: string | undefined; REDIS_CLUSTER_NODES?: string | undefined }): string | undefined {
  return e.REDIS_CLUSTER_NODES !== undefined ? clusterUrlOf(e.REDIS_CLUSTER_NODES) : e.REDIS_URL;
}

/** The store settings alone (DATA_DIR, REDIS_URL, REDIS_KEY_PREFIX), same rules: for tools that open the store, like the CLI. */
export const storeEnvSchema = schema.pick({ DATA_DIR: true, REDIS_URL: true, REDIS_CLUSTER_NODES: true, REDIS_KEY_PREFIX: true, DATABASE_URL: true, DATABASE_SCHEMA: true });
