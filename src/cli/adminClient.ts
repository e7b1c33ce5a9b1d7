import { CliError } from './errors.js';
import { hasUserInfo, redactUrlsIn } from '../security/redactUrl.js';

/** Per request: the admin API answers in milliseconds; a stuck instance should not hang a script. */
const REQUEST_TIMEOUT_MS = 15_000;

export interface AdminClient {
  readonly baseUrl: string;
  get<T>(path: string): Promise<T>;
  /** `undefined` for a 404 (a missing extension, a read the instance does not have). */
  getOptional<T>(path: string): Promise<T | undefined>;
  send<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T | undefined>;
}

interface ErrorEnvelope {
  error?: { code?: unknown; message?: unknown; details?: Array<{ path?: unknown; message?: unknown }> };
}

/**
 * The admin API of a running instance (`/api/v1`, `Authorization: Bearer <token>`). Every failure
 * becomes a `CliError` with one line that says what went wrong; the token is never part of a message.
 */
export function adminClient(opts: { url: string | undefined; token: string | undefined }): AdminClient {
  if (opts.url === undefined) throw new CliError('no instance given: pass --url or set CEK_GATEWAY_URL (e.g. http://localhost:3000)');
  if (opts.token === undefined) throw new CliError("no admin token given: pass --token or set CEK_GATEWAY_TOKEN (the instance's ADMIN_TOKEN)");
  const base = opts.url.replace(/\/+$/, '');
  // Refused before anything can print it: fetch would not send them anyway (it refuses such a URL),
  // and every message names the instance by its URL.
  if (hasUserInfo(base)) throw new CliError('--url: credentials in the URL are not used; pass the admin token with --token or CEK_GATEWAY_TOKEN');
  if (!URL.canParse(base) || !['http:', 'https:'].includes(new URL(base).protocol)) {
    throw new CliError(`--url: "${base}" is not an http(s) URL`);
  }
  const token = opts.token;

  async function call(method: string, path: string, body: unknown, missingOk: boolean): Promise<{ status: number; json: unknown }> {
    const url = `${base}/api/v1${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        redirect: 'manual',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw new CliError(`cannot reach ${base}: ${networkReason(err)}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new CliError(`${method} ${url}: HTTP ${res.status} with a body that is not JSON: is ${base} a cek-gateway instance?`);
    }
    if (res.ok) return { status: res.status, json };
    if (res.status === 404 && missingOk) return { status: 404, json: undefined };
    const e = (json as ErrorEnvelope | undefined)?.error;
    if (res.status === 401) throw new CliError(`the admin token was refused by ${base} (HTTP 401): check --token or CEK_GATEWAY_TOKEN`);
    if (e === undefined) throw new CliError(`${method} ${url}: HTTP ${res.status}: is ${base} a cek-gateway instance?`);
    const details = (e.details ?? []).map((d) => `${String(d.path)}: ${String(d.message)}`).join('; ');
    throw new CliError(`${method} ${path}: ${String(e.code)}: ${String(e.message)}${details === '' ? '' : ` (${details})`}`);
  }

  return {
    baseUrl: base,
    async get<T>(path: string) {
      return (await call('GET', path, undefined, false)).json as T;
    },
    async getOptional<T>(path: string) {
      const r = await call('GET', path, undefined, true);
      return r.status === 404 ? undefined : (r.json as T);
    },
    async send<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown) {
      return (await call(method, path, body, false)).json as T | undefined;
    },
  };
}

/** "connection refused", "timed out", ... from fetch's nested cause. */
function networkReason(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  const cause = err instanceof Error ? err.cause : undefined;
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : undefined;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the instance running, on this port?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ECONNRESET':
      return 'connection reset';
    default:
      // The text may quote a URL with credentials (a proxy's, when Node takes one from HTTPS_PROXY).
      return redactUrlsIn(code ?? (cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err)));
  }
}
