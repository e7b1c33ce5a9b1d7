import { Agent, request } from 'undici';
import { causeOf, codeOf } from '../http/errorInfo.js';
import type { Logger } from '../http/logger.js';
import { policyConnect } from '../security/outbound.js';

/** One try may take this long in all; a receiver should answer at once and work afterwards. */
export const SEND_TIMEOUT_MS = 10_000;
/** What is read of a receiver's answer (its status is what counts). */
const ANSWER_LIMIT = 16 * 1024;

export type SendResult = { ok: true; statusCode: number } | { ok: false; statusCode: number | null; error: string };

/**
 * Posts one webhook delivery under the outbound target policy (`security/outbound.ts`), as action
 * forwards are: https only in production, and the address actually dialled checked, so a name that
 * later resolves to a private address (DNS rebinding) is still refused. Two agents, because the
 * policy belongs to the connection: `#strict` refuses private addresses, `#open` allows them
 * (development, and extensions with `allowPrivateTargets`). Redirects are not followed.
 */
export class WebhookSender {
  readonly #production: boolean;
  readonly #log: Logger;
  readonly #strict: Agent;
  readonly #open: Agent;
  readonly #warned = new Set<string>();

  constructor(o: { production: boolean; log: Logger }) {
    this.#production = o.production;
    this.#log = o.log;
    const onPrivate = (host: string, address: string): void => {
      if (this.#production || this.#warned.has(host) || this.#warned.size > 1_000) return;
      this.#warned.add(host);
      this.#log.warn({ host, address }, 'webhook endpoint resolves to a loopback/private address: allowed outside production mode only');
    };
    const options = (enforce: boolean): Agent.Options => ({ connections: 16, keepAliveTimeout: 4_000, connect: policyConnect(enforce, onPrivate, 5_000) });
    this.#strict = new Agent(options(true));
    this.#open = new Agent(options(false));
  }

  /** Never rejects: a failure is a result (and the queue's to retry). */
  async send(url: string, headers: Record<string, string>, body: string, allowPrivateTargets: boolean): Promise<SendResult> {
    if (this.#production && !url.startsWith('https:')) return { ok: false, statusCode: null, error: 'blocked: not https' };
    const dispatcher = this.#production && !allowPrivateTargets ? this.#strict : this.#open;
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'cek-gateway-webhooks', ...headers },
        body,
        dispatcher,
        headersTimeout: SEND_TIMEOUT_MS,
        bodyTimeout: SEND_TIMEOUT_MS,
        signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
      });
      // Read (a little of) the answer so the socket goes back to the pool.
      await res.body.dump({ limit: ANSWER_LIMIT }).catch(() => undefined);
      if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true, statusCode: res.statusCode };
      return { ok: false, statusCode: res.statusCode, error: `HTTP ${res.statusCode}` };
    } catch (err) {
      return { ok: false, statusCode: null, error: failureOf(err) };
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.#strict.close(), this.#open.close()]);
  }
}

/** A failure in a word or two for the admin (never a body): the policy's refusal, or the socket's error code. */
function failureOf(err: unknown): string {
  const code = codeOf(err);
  const inner = code === undefined || code === 'UND_ERR_SOCKET' ? (codeOf(causeOf(err)) ?? code) : code;
  if (inner === 'CEKGW_TARGET_REFUSED') return 'blocked: private address';
  if (err instanceof DOMException && err.name === 'TimeoutError') return 'timeout';
  return inner ?? 'network error';
}
