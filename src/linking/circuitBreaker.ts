/**
 * A circuit breaker per OAuth provider (issue 16): after FAILURES_TO_OPEN refreshes in a row that the
 * provider failed (5xx, timeouts, unreachable), the breaker opens and refreshes for that provider
 * answer "unavailable" at once for OPEN_MS, so voice requests speak the error message in
 * milliseconds instead of each waiting seconds for a provider that is down. Then it half-opens: one
 * refresh is let through as a probe; its success closes the breaker, its failure opens it again.
 *
 * Kept per instance, in memory: each instance learns of an outage from its own few failures, which
 * costs a handful of slow answers per instance instead of a store round trip on every refresh.
 */
export const FAILURES_TO_OPEN = 5;
export const OPEN_MS = 10_000;

type State = { kind: 'closed'; failures: number } | { kind: 'open'; until: number } | { kind: 'half_open'; probing: boolean };

export type BreakerState = State['kind'];

export class CircuitBreakers {
  readonly #states = new Map<string, State>();
  readonly #onChange: (openCount: number) => void;
  readonly #onTransition: (provider: string, to: BreakerState) => void;

  /**
   * `onChange` hears the number of open breakers whenever it changes; `onTransition` each change of
   * one provider's state (metrics). An open breaker becomes half-open when a refresh next asks.
   */
  constructor(onChange: (openCount: number) => void = () => undefined, onTransition: (provider: string, to: BreakerState) => void = () => undefined) {
    this.#onChange = onChange;
    this.#onTransition = onTransition;
  }

  /** May a refresh for `provider` call it now? (Takes the probe slot of a half-open breaker.) */
  allow(provider: string, now = Date.now()): boolean {
    const s = this.#states.get(provider);
    if (s === undefined || s.kind === 'closed') return true;
    if (s.kind === 'open') {
      if (now < s.until) return false;
      this.#set(provider, { kind: 'half_open', probing: true });
      return true;
    }
    if (s.probing) return false;
    this.#set(provider, { kind: 'half_open', probing: true });
    return true;
  }

  /** The provider answered (a token, or a refusal about the grant or the client: it is up). */
  succeeded(provider: string): void {
    if (this.#states.has(provider)) this.#set(provider, undefined);
  }

  /** The provider failed (5xx, timeout, unreachable). */
  failed(provider: string, now = Date.now()): void {
    const s = this.#states.get(provider);
    if (s?.kind === 'half_open') {
      this.#set(provider, { kind: 'open', until: now + OPEN_MS });
      return;
    }
    // A call that started before the breaker opened and failed after: it stays open (it used to
    // count as the first failure of a closed breaker, which closed it again).
    if (s?.kind === 'open') return;
    const failures = (s?.kind === 'closed' ? s.failures : 0) + 1;
    this.#set(provider, failures >= FAILURES_TO_OPEN ? { kind: 'open', until: now + OPEN_MS } : { kind: 'closed', failures });
  }

  /** A probe that ended without an answer either way (cut short by its request's deadline): let another probe try. */
  released(provider: string): void {
    const s = this.#states.get(provider);
    if (s?.kind === 'half_open') this.#set(provider, { kind: 'half_open', probing: false });
  }

  stateOf(provider: string, now = Date.now()): 'closed' | 'open' | 'half_open' {
    const s = this.#states.get(provider);
    if (s === undefined || s.kind === 'closed') return 'closed';
    if (s.kind === 'open') return now < s.until ? 'open' : 'half_open';
    return 'half_open';
  }

  #set(provider: string, state: State | undefined): void {
    const before = this.#openCount();
    const from = this.#states.get(provider)?.kind ?? 'closed';
    if (state === undefined) this.#states.delete(provider);
    else this.#states.set(provider, state);
    const after = this.#openCount();
    if (after !== before) this.#onChange(after);
    const to = state?.kind ?? 'closed';
    if (to !== from) this.#onTransition(provider, to);
  }

  #openCount(): number {
    let n = 0;
    for (const s of this.#states.values()) if (s.kind !== 'closed') n++;
    return n;
  }
}
