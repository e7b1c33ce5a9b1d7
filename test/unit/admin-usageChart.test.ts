import { barChart, CHART_HEIGHT, monthName, niceScale, shortDate, SLOT_WIDTH } from '../../src/admin/pages/usageChart.js';

describe('usage chart geometry (Gateway tab)', () => {
  test('the scale is the smallest of 2, 4, 10, 20, 40, 100, … that holds the largest column', () => {
    expect([0, 1, 2, 3, 4, 5, 10, 11, 40, 41, 99, 100, 101, 999_999, 1_000_001].map(niceScale)).toEqual([2, 2, 2, 4, 4, 10, 10, 20, 40, 100, 100, 100, 200, 1_000_000, 2_000_000]);
    for (const max of [3, 7, 37, 512, 12_345]) expect(Number.isInteger(niceScale(max) / 2)).toBe(true);
  });

  test('bars stack admitted calls under refused ones, measured on the scale, from the baseline up', () => {
    const c = barChart([
      { key: '2026-11-22', calls: 5, refused: 0 },
      { key: '2026-11-23', calls: 2, refused: 3, current: true },
    ]);
    expect(c).toMatchObject({ width: 2 * SLOT_WIDTH, height: CHART_HEIGHT, scale: 10, half: 5, totals: { calls: 7, refused: 3 }, empty: false });
    const [a, b] = c.bars;
    expect(a).toMatchObject({ callsHeight: 50, callsY: 50, refusedHeight: 0, current: false, slotX: 0 });
    expect(b).toMatchObject({ callsHeight: 20, callsY: 80, refusedHeight: 30, refusedY: 50, current: true, slotX: SLOT_WIDTH });
    expect(b?.x).toBeGreaterThan(SLOT_WIDTH);
    expect((b?.x ?? 0) + (b?.width ?? 0)).toBeLessThan(2 * SLOT_WIDTH);
    expect(b?.title).toBe('2026-11-23: 2 calls, 3 refused');
    expect(a?.title).toBe('2026-11-22: 5 calls');
  });

  test('one call next to thousands is still visible, and no bar leaves the chart', () => {
    const c = barChart([
      { key: 'a', calls: 1, refused: 0 },
      { key: 'b', calls: 3999, refused: 1 },
      { key: 'c', calls: 0, refused: 0 },
    ]);
    expect(c.scale).toBe(4000);
    expect(c.bars[0]?.callsHeight).toBeGreaterThan(0);
    expect(c.bars[2]).toMatchObject({ callsHeight: 0, refusedHeight: 0 });
    for (const bar of c.bars) {
      expect(bar.refusedY).toBeGreaterThanOrEqual(0);
      expect(bar.callsY + bar.callsHeight).toBeCloseTo(CHART_HEIGHT);
    }
    expect(c.bars[1]?.refusedHeight).toBeGreaterThan(0);
    expect(c.bars[1]?.title).toBe('b: 3,999 calls, 1 refused');
  });

  test('a period without calls is empty', () => {
    const c = barChart([{ key: 'x', calls: 0, refused: 0 }]);
    expect(c).toMatchObject({ empty: true, scale: 2 });
  });

  test('dates and months read as short labels', () => {
    expect(shortDate('2026-11-03')).toBe('Nov 3');
    expect(shortDate('2026-01')).toBe('Jan 2026');
    expect(monthName('2026-12')).toBe('Dec');
  });
});
