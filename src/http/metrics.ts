import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of one service instance. A registry per instance (not prom-client's global one)
 * so tests can run several apps in one process.
 */
export interface Metrics {
  readonly registry: Registry;
  /** HTTP requests by route template, method, status and outcome (`ok` | error code). */
  readonly httpRequests: Counter<'route' | 'method' | 'status' | 'outcome'>;
  readonly httpDuration: Histogram<'route' | 'method' | 'outcome'>;
  /** CEK requests by request type and what answered them. */
  readonly cekRequests: Counter<'type' | 'outcome'>;
  /** Action-method forwards by outcome (`ok` or the failure cause). */
  readonly forwards: Counter<'outcome'>;
  readonly forwardDuration: Histogram<'outcome'>;
  readonly tokenRefreshes: Counter<'outcome'>;
  readonly storeErrors: Counter<'operation'>;
  /** Extension records served from the cache past their expiry because the store did not answer. */
  readonly staleExtensions: Counter;
  /** Extensions whose account linking this instance saw refused by the provider for client reasons, until fixed. */
  readonly linkingMisconfigured: Gauge;
  /** OAuth providers whose circuit breaker is open or half-open on this instance. */
  readonly providerCircuitsOpen: Gauge;
  /** Per provider (its breaker key): 0 closed, 1 half-open, 2 open, as last acted on by this instance. */
  readonly providerCircuitState: Gauge<'provider'>;
  /** Breaker changes on this instance, by provider and the state entered. */
  readonly providerCircuitTransitions: Counter<'provider' | 'to'>;
  /** Keep-alive refreshes (issue 16) made or decided by this instance, by result. */
  readonly keepAliveRefreshes: Counter<'result'>;
  /** Keep-alive entries due and not yet done, as the sweeping instance last counted them (0 on the others). */
  readonly keepAliveBacklog: Gauge;
  /** 1 on the instance that holds the keep-alive lease (sweeps), 0 on the others. */
  readonly keepAliveLeader: Gauge;
  /** Lifecycle webhook tries made by this instance, by what became of the delivery (`delivered`, `retry`, `failed`). */
  readonly webhookTries: Counter<'outcome'>;
  /** Linking funnel steps by extension (`*`: steps before an extension is known) and step; bounded: registered extensions × 6 steps. */
  readonly linkingFunnel: Counter<'extension' | 'step'>;
  /** Linking failures by extension (`*` as above) and reason; bounded: registered extensions × 5 reasons. */
  readonly linkingFailures: Counter<'extension' | 'reason'>;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'cekgw_process_' });
  const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 8];
  return {
    registry,
    httpRequests: new Counter({
      name: 'cekgw_http_requests_total',
      help: 'HTTP requests by route, method, status and outcome',
      labelNames: ['route', 'method', 'status', 'outcome'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'cekgw_http_request_duration_seconds',
      help: 'HTTP request latency by route, method and outcome',
      labelNames: ['route', 'method', 'outcome'],
      buckets,
      registers: [registry],
    }),
    cekRequests: new Counter({
      name: 'cekgw_cek_requests_total',
      help: 'Accepted CEK requests by request type and what answered them',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    }),
    forwards: new Counter({
      name: 'cekgw_forwards_total',
      help: 'Action-method forwards by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    forwardDuration: new Histogram({
      name: 'cekgw_forward_duration_seconds',
      help: 'Action-method forward latency by outcome',
      labelNames: ['outcome'],
      buckets,
      registers: [registry],
    }),
    tokenRefreshes: new Counter({
      name: 'cekgw_token_refreshes_total',
      help: 'Token refreshes by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    storeErrors: new Counter({
      name: 'cekgw_store_errors_total',
      help: 'Store operations that failed',
      labelNames: ['operation'],
      registers: [registry],
    }),
    staleExtensions: new Counter({
      name: 'cekgw_registry_stale_served_total',
      help: 'Extension records served from the cache past their expiry because the store did not answer',
      registers: [registry],
    }),
    providerCircuitsOpen: new Gauge({
      name: 'cekgw_provider_circuits_open',
      help: 'OAuth providers whose circuit breaker is open or half-open on this instance (refreshes answer at once instead of waiting)',
      registers: [registry],
    }),
    providerCircuitState: new Gauge({
      name: 'cekgw_provider_circuit_state',
      help: 'Circuit breaker state per OAuth provider on this instance: 0 closed, 1 half-open, 2 open',
      labelNames: ['provider'],
      registers: [registry],
    }),
    providerCircuitTransitions: new Counter({
      name: 'cekgw_provider_circuit_transitions_total',
      help: 'Circuit breaker state changes per OAuth provider on this instance, by the state entered (closed, open, half_open)',
      labelNames: ['provider', 'to'],
      registers: [registry],
    }),
    keepAliveRefreshes: new Counter({
      name: 'cekgw_keepalive_refreshes_total',
      help: 'Keep-alive refreshes by result: ok, broken (invalid_grant), failed (retried later), backed_off (breaker open), deferred (provider rate), dropped (no longer needed)',
      labelNames: ['result'],
      registers: [registry],
    }),
    keepAliveBacklog: new Gauge({
      name: 'cekgw_keepalive_backlog',
      help: 'Keep-alive refreshes due and not yet done (due now, or deferred by the provider rate), as the sweeping instance last counted them',
      registers: [registry],
    }),
    keepAliveLeader: new Gauge({
      name: 'cekgw_keepalive_leader',
      help: '1 on the instance that holds the keep-alive lease and sweeps the schedule, 0 on the others',
      registers: [registry],
    }),
    webhookTries: new Counter({
      name: 'cekgw_webhook_tries_total',
      help: 'Lifecycle webhook tries by what became of the delivery: delivered, retry (scheduled again) or failed (given up)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    linkingFunnel: new Counter({
      name: 'cekgw_linking_funnel_total',
      help: 'Account linking funnel steps by extension (* = before the extension is known) and step',
      labelNames: ['extension', 'step'],
      registers: [registry],
    }),
    linkingFailures: new Counter({
      name: 'cekgw_linking_failures_total',
      help: 'Account linking failures by extension (* = before the extension is known) and reason',
      labelNames: ['extension', 'reason'],
      registers: [registry],
    }),
    linkingMisconfigured: new Gauge({
      name: 'cekgw_linking_misconfigured_extensions',
      help: 'Extensions whose account linking the provider refuses for client reasons (invalid_client, unauthorized_client), until their settings are fixed',
      registers: [registry],
    }),
  };
}
