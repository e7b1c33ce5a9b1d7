import { CircuitBreakers, FAILURES_TO_OPEN, OPEN_MS } from '../../src/linking/circuitBreaker.js';

describe('CircuitBreakers', () => {
  test(`opens after ${FAILURES_TO_OPEN} failures in a row, half-opens after the open time with one probe, closes on its success`, () => {
    const counts: number[] = [];
    const transitions: string[] = [];
    const b = new CircuitBreakers(
      (n) => counts.push(n),
      (p, to) => transitions.push(`${p}:${to}`),
    );
    const t0 = 1_000_000;
    for (let i = 0; i < FAILURES_TO_OPEN - 1; i++) b.failed('p', t0);
    expect(b.stateOf('p', t0)).toBe('closed');
    expect(b.allow('p', t0)).toBe(true);
    b.failed('p', t0);
    expect(b.stateOf('p', t0)).toBe('open');
    expect(b.allow('p', t0 + OPEN_MS - 1)).toBe(false);
    // Half-open: one probe only.
    expect(b.allow('p', t0 + OPEN_MS)).toBe(true);
    expect(b.allow('p', t0 + OPEN_MS)).toBe(false);
    b.succeeded('p');
    expect(b.stateOf('p')).toBe('closed');
    expect(b.allow('p')).toBe(true);
    expect(counts).toEqual([1, 0]);
    expect(transitions).toEqual(['p:open', 'p:half_open', 'p:closed']);
  });

  test('a failed probe opens it again; a success in between resets the count; providers are apart', () => {
    const b = new CircuitBreakers();
    const t0 = 5_000_000;
    for (let i = 0; i < FAILURES_TO_OPEN; i++) b.failed('p', t0);
    expect(b.allow('p', t0 + OPEN_MS)).toBe(true);
    b.failed('p', t0 + OPEN_MS);
    expect(b.stateOf('p', t0 + OPEN_MS + 1)).toBe('open');
    expect(b.allow('q', t0)).toBe(true);
    for (let i = 0; i < FAILURES_TO_OPEN - 1; i++) b.failed('q', t0);
    b.succeeded('q');
    b.failed('q', t0);
    expect(b.stateOf('q', t0)).toBe('closed');
  });

  test('a probe released without an answer lets the next one probe', () => {
    const b = new CircuitBreakers();
    const t0 = 9_000_000;
    for (let i = 0; i < FAILURES_TO_OPEN; i++) b.failed('p', t0);
    expect(b.allow('p', t0 + OPEN_MS)).toBe(true);
    b.released('p');
    expect(b.allow('p', t0 + OPEN_MS)).toBe(true);
  });

  test('a failure that arrives while open (a call started before it opened) keeps it open', () => {
    const b = new CircuitBreakers();
    const t0 = 12_000_000;
    for (let i = 0; i < FAILURES_TO_OPEN; i++) b.failed('p', t0);
    b.failed('p', t0 + 10);
    expect(b.stateOf('p', t0 + 20)).toBe('open');
    expect(b.allow('p', t0 + 20)).toBe(false);
  });
});
