import { Agent, type Dispatcher } from 'undici';
import { causeOf, codeOf } from '../http/errorInfo.js';
import type { Logger } from '../http/logger.js';
import { policyConnect } from '../security/outbound.js';

/** Replies above this are refused (CEK responses are a few KB; this keeps a hostile target from filling memory). */
export const REPLY_LIMIT = 256 * 1024;
/** A non-2xx body is read (to keep the connection reusable) up to this much, then the connection is dropped. */
const DISCARD_LIMIT = 16 * 1024;

/**
 * Why a forward failed, the `outcome` label of `cekgw_forwards_total`:
 * `timeout` (the call's deadline passed), `refused` (connection refused), `blocked` (target policy),
 * `dns`, `tls`, `reset` (connection closed mid-reply), `network` (other socket errors),
 * `redirect` (3xx: not followed), `bad_status` (other non-2xx), `unauthorized` (401),
 * `too_large` (reply above 256 KiB). `bad_reply` is added by the reply mapping.
 */
export type ForwardFailure = 'timeout' | 'refused' | 'blocked' | 'dns' | 'tls' | 'reset' | 'network' | 'redirect' | 'bad_status' | 'unauthorized' | 'too_large';

export type ForwardResult = { ok: true; status: number; contentType: string; body: Buffer } | { ok: false; cause: ForwardFailure; status?: number };

/** A definition's target, parsed once when the definitions are compiled. */
export interface Target {
  /** `https://host:port` */
  origin: string;
  /** Path and query. */
  path: string;
  https: boolean;
}

export interface ForwardCall {
  target: Target;
  /** Request headers as a flat `[name, value, name, value, ...]` list (cheapest for undici to take). */
  headers: string[];
  body: Buffer;
  /** Milliseconds this call may take in all (connect, send, wait, read). */
  timeoutMs: number;
  /** The extension's `allowPrivateTargets`. */
  allowPrivateTargets: boolean;
}

export interface ForwarderOptions {
  production: boolean;
  log: Logger;
  /** Connections per target origin. */
  connections?: number;
}

/**
 * Forwards CEK requests to action targets with undici: one keep-alive pool per target origin
 * (`Agent`), a deadline per call, redirects not followed, replies capped at 256 KiB.
 *
 * Two agents, because the address policy belongs to the connection (checked when a socket is
 * opened, so DNS rebinding cannot get around it) and one pool cannot serve both kinds of extension:
 * `#strict` refuses private addresses (production mode, the default), `#open` allows them
 * (development, tests, and extensions with `allowPrivateTargets`).
 */
export class Forwarder {
  readonly #production: boolean;
  readonly #log: Logger;
  readonly #strict: Agent;
  readonly #open: Agent;
  readonly #warned = new Set<string>();

  constructor(o: ForwarderOptions) {
    this.#production = o.production;
    this.#log = o.log;
    const agentOptions = (enforce: boolean): Agent.Options => {
      const onPrivate = (host: string, address: string): void => {
        if (!this.#production) this.#warnOnce(`private:${host}`, { host, address }, 'action target resolves to a loopback/private address: allowed outside production mode only');
      };
      return {
        // 128 sockets per origin: far above the concurrency one instance reaches, bounded against a slow target.
        connections: o.connections ?? 128,
        pipelining: 1,
        // Below the 65 s idle timeout of node's and most servers, so we close idle sockets first
        // and never send on a socket the target is closing.
        keepAliveTimeout: 4_000,
        keepAliveMaxTimeout: 30_000,
        maxResponseSize: REPLY_LIMIT,
        // Connect timeout well under the per-call deadline; the deadline's abort covers the rest.
        connect: policyConnect(enforce, onPrivate, 5_000),
      };
    };
    this.#strict = new Agent(agentOptions(true));
    this.#open = new Agent(agentOptions(false));
  }

  /**
   * One call. Resolves (never rejects) with the reply or the failure cause, at the latest when
   * `timeoutMs` has passed: the timer answers first and then aborts the call, so no socket or
   * target behaviour can hold the CEK answer.
   *
   * Written against undici's dispatch handler rather than `request()`: no AbortController, no body
   * stream, no async iteration per call; the reply is collected from its chunks (PERFORMANCE.md: the
   * forwarding hop is one of the larger costs of a voice request).
   */
  forward(call: ForwardCall): Promise<ForwardResult> {
    const { target } = call;
    if (this.#production && !target.https) return Promise.resolve({ ok: false, cause: 'blocked' });
    if (!this.#production && !target.https) this.#warnOnce(`http:${target.origin}`, { origin: target.origin }, 'action target is plain http: allowed outside production mode only');
    const agent = this.#production && !call.allowPrivateTargets ? this.#strict : this.#open;
    return new Promise<ForwardResult>((resolve) => {
      new Call(resolve, Math.max(0, call.timeoutMs)).start(agent, call);
    });
  }

  /** Closes idle sockets and waits for in-flight calls (each bounded by its deadline). */
  async close(): Promise<void> {
    await Promise.all([this.#strict.close(), this.#open.close()]);
  }

  #warnOnce(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.#warned.has(key)) return;
    if (this.#warned.size > 1_000) this.#warned.clear();
    this.#warned.add(key);
    this.#log.warn(fields, message);
  }
}

class ForwardAborted extends Error {
  constructor(why: string) {
    super(why);
    this.name = 'ForwardAborted';
  }
}

/**
 * The state of one forward, as undici's dispatch handler. A non-2xx reply is answered at once
 * (the status is all that matters); its body is still read, up to 16 KiB, so the socket goes back to
 * the pool, and dropped beyond that.
 */
class Call implements Dispatcher.DispatchHandler {
  readonly #resolve: (r: ForwardResult) => void;
  readonly #timer: NodeJS.Timeout;
  #controller: Dispatcher.DispatchController | undefined;
  #done = false;
  #status = 0;
  #contentType = '';
  #discarding = false;
  #size = 0;
  readonly #chunks: Buffer[] = [];

  constructor(resolve: (r: ForwardResult) => void, timeoutMs: number) {
    this.#resolve = resolve;
    // Runs until the exchange is over, not only until the answer: an error body that trickles in
    // is cut off at the same deadline, so a slow target cannot hold sockets of the pool.
    this.#timer = setTimeout(() => {
      this.#finish({ ok: false, cause: 'timeout' });
      this.#controller?.abort(new ForwardAborted('deadline'));
    }, timeoutMs);
  }

  start(agent: Agent, call: ForwardCall): void {
    try {
      agent.dispatch({ origin: call.target.origin, path: call.target.path, method: 'POST', headers: call.headers, body: call.body }, this);
    } catch (err) {
      this.#finish({ ok: false, cause: classify(err) });
      clearTimeout(this.#timer);
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // The deadline passed while the call waited for a socket.
    if (this.#done) controller.abort(new ForwardAborted('deadline'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (this.#done) return;
    this.#status = statusCode;
    if (statusCode < 200 || statusCode >= 300) {
      this.#discarding = true;
      const cause: ForwardFailure = statusCode === 401 ? 'unauthorized' : statusCode >= 300 && statusCode < 400 ? 'redirect' : 'bad_status';
      this.#finish({ ok: false, cause, status: statusCode });
      return;
    }
    const length = headers['content-length'];
    if (typeof length === 'string' && Number(length) > REPLY_LIMIT) {
      this.#finish({ ok: false, cause: 'too_large', status: statusCode });
      controller.abort(new ForwardAborted('reply too large'));
      return;
    }
    const type = headers['content-type'];
    this.#contentType = typeof type === 'string' ? type : '';
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#size += chunk.length;
    if (this.#discarding) {
      if (this.#size > DISCARD_LIMIT) controller.abort(new ForwardAborted('error body too large'));
      return;
    }
    if (this.#done) return;
    if (this.#size > REPLY_LIMIT) {
      this.#finish({ ok: false, cause: 'too_large', status: this.#status });
      controller.abort(new ForwardAborted('reply too large'));
      return;
    }
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    clearTimeout(this.#timer);
    if (this.#done) return;
    const chunks = this.#chunks;
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.#size);
    this.#finish({ ok: true, status: this.#status, contentType: this.#contentType, body });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    clearTimeout(this.#timer);
    this.#finish({ ok: false, cause: classify(err) });
  }

  /** Answers the caller (once); the exchange itself may go on until onResponseEnd/onResponseError. */
  #finish(result: ForwardResult): void {
    if (this.#done) return;
    this.#done = true;
    this.#resolve(result);
  }
}

function failureCode(err: unknown): string {
  const code = codeOf(err);
  if (code !== undefined && code !== 'UND_ERR_SOCKET') return code;
  return codeOf(causeOf(err)) ?? code ?? '';
}

function classify(err: unknown): ForwardFailure {
  const code = failureCode(err);
  switch (code) {
    case 'CEKGW_TARGET_REFUSED':
      return 'blocked';
    case 'ECONNREFUSED':
      return 'refused';
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timeout';
    case 'UND_ERR_RES_EXCEEDED_MAX_SIZE':
      return 'too_large';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return 'dns';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return 'reset';
    default:
      if (code.startsWith('ERR_TLS') || code.includes('CERT') || code.startsWith('ERR_SSL')) return 'tls';
      return 'network';
  }
}

/** Parses a definition's URL into the parts undici takes. */
export function targetOf(url: string): Target {
  const u = new URL(url);
  return { origin: u.origin, path: `${u.pathname}${u.search}`, https: u.protocol === 'https:' };
}
