import { funnelView } from '../../src/admin/pages/funnelChart.js';
import { FUNNEL_FAILURES, FUNNEL_STEPS, type FunnelDay, type FunnelReport } from '../../src/linking/funnel.js';

const zeros = <K extends string>(names: readonly K[]): Record<K, number> => Object.fromEntries(names.map((n) => [n, 0])) as Record<K, number>;
const day = (date: string, steps: Partial<Record<string, number>> = {}, failures: Partial<Record<string, number>> = {}): FunnelDay => ({
  date,
  steps: { ...zeros(FUNNEL_STEPS), ...steps },
  failures: { ...zeros(FUNNEL_FAILURES), ...failures },
});
const totalsOf = (days: FunnelDay[]) => ({
  steps: Object.fromEntries(FUNNEL_STEPS.map((s) => [s, days.reduce((n, d) => n + d.steps[s], 0)])) as FunnelDay['steps'],
  failures: Object.fromEntries(FUNNEL_FAILURES.map((f) => [f, days.reduce((n, d) => n + d.failures[f], 0)])) as FunnelDay['failures'],
});

describe('linking funnel chart (Linked users tab)', () => {
  test('bars are shares of the largest step, each with its share of the step before; gateway-wide steps are added in and marked', () => {
    const own = [
      day('2026-11-22', { prompted: 10, code_accepted: 4 }),
      day('2026-11-23', { prompted: 10, code_accepted: 4, consent_returned: 5, token_stored: 5, first_action: 1 }, { consent_denied: 2 }),
    ];
    const wide = [day('2026-11-22', { page_opened: 3 }, { wrong_code: 7 }), day('2026-11-23', { page_opened: 7 }, { expired_state: 1 })];
    const report: FunnelReport = { extensionId: 'com.example.x', days: own, totals: totalsOf(own), gatewayWide: { days: wide, totals: totalsOf(wide) } };
    const v = funnelView(report);
    expect(v.steps.map((s) => [s.key, s.value, s.width, s.ofPrevious, s.gatewayWide])).toEqual([
      ['prompted', 20, 100, null, false],
      ['page_opened', 10, 50, 50, true],
      ['code_accepted', 8, 40, 80, false],
      ['consent_returned', 5, 25, 63, false],
      ['token_stored', 5, 25, 100, false],
      ['first_action', 1, 5, 20, false],
    ]);
    expect(v.failures.map((f) => [f.key, f.value, f.width, f.gatewayWide])).toEqual([
      ['wrong_code', 7, 100, true],
      ['lockout', 0, 0, true],
      ['consent_denied', 2, 28.57, false],
      ['token_endpoint_error', 0, 0, false],
      ['expired_state', 1, 14.29, true],
    ]);
    // Newest day first in the table, the gateway-wide counts added to the day's.
    expect(v.rows[0]).toEqual({ date: '2026-11-23', values: [10, 7, 4, 5, 5, 1, 0, 0, 2, 0, 1] });
    expect(v.columns).toHaveLength(11);
    expect(v.empty).toBe(false);
  });

  test('nothing counted: empty, no bar drawn; one next to thousands is still visible', () => {
    const none = [day('2026-11-23')];
    expect(funnelView({ extensionId: 'x.y', days: none, totals: totalsOf(none), gatewayWide: { days: none, totals: totalsOf(none) } })).toMatchObject({ empty: true });
    const some = [day('2026-11-23', { prompted: 5000, first_action: 1 })];
    const v = funnelView({ extensionId: 'x.y', days: some, totals: totalsOf(some), gatewayWide: { days: [day('2026-11-23')], totals: totalsOf([day('2026-11-23')]) } });
    expect(v.steps.find((s) => s.key === 'first_action')?.width).toBeGreaterThanOrEqual(1.5);
    expect(v.steps.find((s) => s.key === 'code_accepted')?.width).toBe(0);
  });
});
