/**
 * Spaces keep-alive refreshes per provider (token endpoint origin) at most `ratePerSecond`, with no
 * burst: each refresh takes the next free slot, one interval after the previous one. A slot in the
 * future is where the sweep moves the entry to (it is met again then), so a backlog of a million
 * links due at once drains at the rate instead of reaching the token endpoint together.
 */
export class ProviderPacer {
  readonly #gapMs: number;
  readonly #next = new Map<string, number>();

  constructor(ratePerSecond: number) {
    this.#gapMs = 1000 / ratePerSecond;
  }

  /** Takes `provider`'s next free slot (epoch ms, `now` when it is free now). */
  take(provider: string, now: number): number {
    const slot = Math.max(this.#next.get(provider) ?? 0, now);
    this.#next.set(provider, slot + this.#gapMs);
    return Math.ceil(slot);
  }

  /** Forgets providers whose slots are all in the past (so the map holds only the busy ones). */
  prune(now: number): void {
    for (const [p, next] of this.#next) if (next < now) this.#next.delete(p);
  }
}
