import type { IncomingMessage } from 'node:http';
import type { ExtensionRecord } from '../extensions/model.js';
import type { ResolvedExtension } from '../extensions/registry.js';
import { AppError, isAppError } from '../http/errors.js';
import type { Logger } from '../http/logger.js';
import type { Metrics } from '../http/metrics.js';
import { StoreClock } from '../store/storeClock.js';
import type { Store } from '../store/store.js';
import { CounterBatch } from './counterBatch.js';
import { compileKey, findKey, type CompiledKey } from './keys.js';
import { compilePlan, Limiter, NO_RESERVATION, type CompiledPlan, type Reservation } from './limiter.js';
import { API_KEY_HEADER, DEFAULT_FREE_MONTHLY_CALLS, GATEWAY_SECTION, responseClassOf, type GatewaySection } from './model.js';
import { AUTH_REFUSALS, UsageRecorder, type RefusalCode } from './usage.js';

/** An extension's gateway settings, ready for the request path. */
export interface CompiledGateway {
  readonly requireApiKey: boolean;
  readonly plan: CompiledPlan | undefined;
  readonly keys: readonly CompiledKey[];
  /** Per-key plans by key id. */
  readonly keyPlans: ReadonlyMap<string, CompiledPlan>;
  readonly verifyTokenHash: string | undefined;
  readonly freeMonthlyCalls: number | undefined;
}

// Keyed by the cached record object, like the action index: compiled once per version of an extension.
const compiled = new WeakMap<ExtensionRecord, CompiledGateway>();

export function compiledGatewayOf(record: ExtensionRecord): CompiledGateway {
  let g = compiled.get(record);
  if (g === undefined) {
    const s: Partial<GatewaySection> = record.sections[GATEWAY_SECTION] ?? {};
    const keys = (s.keys ?? []).map(compileKey);
    const keyPlans = new Map<string, CompiledPlan>();
    for (const k of s.keys ?? []) {
      const p = compilePlan(k.usagePlan);
      if (p !== undefined) keyPlans.set(k.id, p);
    }
    g = {
      requireApiKey: s.requireApiKey === true,
      plan: compilePlan(s.usagePlan),
      keys,
      keyPlans,
      verifyTokenHash: s.messengerVerifyTokenHash,
      freeMonthlyCalls: s.freeMonthlyCalls,
    };
    compiled.set(record, g);
  }
  return g;
}

/** An admitted call: who made it and what it took from the plan. */
export interface Admission {
  readonly extensionId: string;
  readonly keyId: string | undefined;
  readonly plan: CompiledPlan | undefined;
  readonly reservation: Reservation;
  /** A test user's call (issue 17): left out of usage and quotas. */
  readonly testUser: boolean;
}

export interface GatewayOptions {
  store: Store;
  log: Logger;
  metrics: Metrics;
  /** The service-wide free allowance a month (an extension may override it). */
  freeMonthlyCalls?: number;
  /** The store's clock, for the counting windows (tests inject one over a skewed local clock). */
  clock?: StoreClock;
}

/**
 * The gateway in front of an extension's routes (voice and messenger): API keys, the usage plan,
 * and usage counting. `admit` runs before the request body is read; `finish` runs with the final
 * status, counts the call by outcome and hands back the quota unit of a response the plan's
 * `quotaCondition` does not count.
 */
export class Gateway {
  readonly usage: UsageRecorder;
  readonly limiter: Limiter;
  readonly batch: CounterBatch;
  readonly freeMonthlyCalls: number;
  /** Windows (rate seconds, quota and usage days) are the store's, not this instance's clock's. */
  readonly clock: StoreClock;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  #lastStoreWarning = 0;

  constructor(o: GatewayOptions) {
    this.#log = o.log;
    this.#metrics = o.metrics;
    this.batch = new CounterBatch(o.store);
    this.clock = o.clock ?? new StoreClock(o.store);
    this.limiter = new Limiter(o.store, this.batch, () => this.clock.now());
    this.usage = new UsageRecorder(o.store, o.log);
    this.freeMonthlyCalls = o.freeMonthlyCalls ?? DEFAULT_FREE_MONTHLY_CALLS;
  }

  /** Starts the usage flushes and the clock's sampling; resolves once the clock has its first sample (or failed to). */
  start(): Promise<void> {
    this.usage.start();
    return this.clock.start();
  }

  async stop(): Promise<void> {
    this.clock.stop();
    await this.batch.drain();
    await this.usage.stop();
  }

  /**
   * Checks the API key (when the extension requires one) and takes the call's units of the
   * applicable plan: the key's own plan when it has one, else the extension's. Throws 401
   * `missing_api_key`, 403 `invalid_api_key`, 429 `rate_limited` / `quota_exceeded`. A test user's
   * call (`testUser`, vouched for by the pipeline) still needs its key, but takes nothing from the
   * plan and is counted nowhere, refused or not.
   */
  async admit(headers: IncomingMessage['headers'], ext: ResolvedExtension, now = this.clock.now(), testUser = false): Promise<Admission> {
    const id = ext.record.extensionId;
    const g = compiledGatewayOf(ext.record);
    let key: CompiledKey | undefined;
    if (g.requireApiKey) {
      const raw = headers[API_KEY_HEADER];
      const presented = (Array.isArray(raw) ? raw[0] : raw)?.trim();
      if (presented === undefined || presented === '') {
        throw this.#refuse(id, 'missing_api_key', new AppError('missing_api_key', `An API key is required: send it in the ${API_KEY_HEADER} header.`), now, testUser);
      }
      key = findKey(g.keys, presented);
      if (key === undefined) throw this.#refuse(id, 'invalid_api_key', new AppError('invalid_api_key', 'The API key is not valid for this extension.'), now, testUser);
      if (!key.enabled) throw this.#refuse(id, 'invalid_api_key', new AppError('invalid_api_key', 'The API key is disabled.'), now, testUser);
    }
    if (testUser) return { extensionId: id, keyId: key?.id, plan: undefined, reservation: NO_RESERVATION, testUser };
    const keyPlan = key === undefined ? undefined : g.keyPlans.get(key.id);
    const plan = keyPlan ?? g.plan;
    let reservation = NO_RESERVATION;
    if (plan !== undefined) {
      try {
        reservation = await this.limiter.acquire(id, keyPlan === undefined ? 'x' : `k:${key?.id ?? ''}`, plan, now);
      } catch (err) {
        if (isAppError(err) && (err.code === 'rate_limited' || err.code === 'quota_exceeded')) throw this.#refuse(id, err.code, err, now);
        // The store cannot count right now. Failing open keeps every planned extension answering
        // through a store outage; the plan is enforced again as soon as the store answers.
        this.#storeFailed(err, id);
      }
    }
    return { extensionId: id, keyId: key?.id, plan, reservation, testUser };
  }

  /**
   * The call's final status: counted by outcome, its quota unit handed back if the status does not
   * count. A call that failed authentication (bad or missing signature, another extension's
   * applicationId) is counted as refused and gives its quota unit back: whoever knows only the
   * public invoke URL cannot use up an extension's day or month quota or its free allowance.
   */
  finish(a: Admission, status: number | undefined, code?: string, now = this.clock.now()): void {
    if (a.testUser) return;
    if (code !== undefined && (AUTH_REFUSALS as readonly string[]).includes(code)) {
      this.usage.refused(a.extensionId, code as (typeof AUTH_REFUSALS)[number], now);
      this.limiter.refund(a.reservation);
      return;
    }
    this.usage.call(a.extensionId, a.keyId, status === undefined ? 'unclassified' : (responseClassOf(status) ?? 'unclassified'), now);
    if (status !== undefined && a.plan !== undefined && !a.plan.countsEverything && !a.plan.counts(status)) this.limiter.refund(a.reservation);
  }

  #refuse(ext: string, code: RefusalCode, err: AppError, now: number, testUser = false): AppError {
    if (!testUser) this.usage.refused(ext, code, now);
    return err;
  }

  #storeFailed(err: unknown, ext: string): void {
    this.#metrics.storeErrors.inc({ operation: 'gateway_plan' });
    const now = Date.now();
    if (now - this.#lastStoreWarning < 10_000) return;
    this.#lastStoreWarning = now;
    this.#log.warn({ err, extensionId: ext }, 'usage plan not enforced: the store could not count (failing open)');
  }
}
