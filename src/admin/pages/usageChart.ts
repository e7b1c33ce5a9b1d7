/**
 * The geometry of the usage charts on the Gateway tab: stacked bars (admitted calls, then refused
 * calls on top) that `views/admin/gateway.njk` draws as an inline `<svg>`. Everything is computed
 * here, so the page needs no script and no inline style (the admin CSP allows neither) and the
 * template only prints numbers.
 *
 * The SVG is drawn in a `CHART_HEIGHT`-tall user space stretched to the box CSS gives it
 * (`preserveAspectRatio="none"`): a bar's height is its share of `scale`, and the HTML labels of
 * the grid lines (at `scale` and `scale / 2`) sit at 0 % and 50 % of the box.
 */
export const CHART_HEIGHT = 100;
/** Width of one column in user units; the bar takes `BAR_WIDTH` of it, the rest is the gap. */
export const SLOT_WIDTH = 10;
const BAR_WIDTH = 7;
/** A column that is not zero is at least this tall, so a single call shows next to thousands. */
const MIN_VISIBLE = 2;

export interface ChartColumn {
  /** What the column stands for (`2026-11-23`, `2026-11`): a data attribute and part of the tooltip. */
  key: string;
  calls: number;
  refused: number;
  /** The column of today or of this month, drawn a little stronger. */
  current?: boolean;
}

export interface ChartBar {
  key: string;
  calls: number;
  refused: number;
  current: boolean;
  /** Left edge of the column's slot (the hover target spans the whole slot). */
  slotX: number;
  x: number;
  width: number;
  /** The admitted part, from the baseline up; height 0 when there were none. */
  callsY: number;
  callsHeight: number;
  /** The refused part, on top of the admitted one. */
  refusedY: number;
  refusedHeight: number;
  /** The tooltip (`<title>`) of the column. */
  title: string;
}

export interface BarChart {
  width: number;
  slotWidth: number;
  height: number;
  bars: ChartBar[];
  /** The value of the top grid line, and of the middle one. */
  scale: number;
  half: number;
  totals: { calls: number; refused: number };
  /** No call at all in the period: the template says so instead of drawing nothing. */
  empty: boolean;
}

/**
 * The top of the scale: the smallest of 2, 4, 10, 20, 40, 100, … that holds `max`, so that both
 * grid lines are whole numbers.
 */
export function niceScale(max: number): number {
  if (!(max > 2)) return 2;
  let base = 1;
  while (base * 10 < max) base *= 10;
  for (const m of [2, 4, 10]) if (base * m >= max) return base * m;
  return base * 10;
}

const round = (n: number): number => Math.round(n * 100) / 100;

const plural = (n: number, one: string, many: string): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** Stacked bars for `columns`, oldest first; `describe` names a column in its tooltip. */
export function barChart(columns: readonly ChartColumn[], describe: (key: string) => string = (k) => k): BarChart {
  const max = columns.reduce((m, c) => Math.max(m, c.calls + c.refused), 0);
  const scale = niceScale(max);
  const heightOf = (n: number): number => (n <= 0 ? 0 : Math.max(MIN_VISIBLE, (n / scale) * CHART_HEIGHT));
  const bars = columns.map((c, i): ChartBar => {
    const callsHeight = round(heightOf(c.calls));
    // The refused part is measured on the whole column, so the stack's top is at the column's total.
    const totalHeight = round(Math.min(CHART_HEIGHT, Math.max(heightOf(c.calls + c.refused), callsHeight + (c.refused > 0 ? MIN_VISIBLE : 0))));
    const refusedHeight = c.refused > 0 ? round(totalHeight - callsHeight) : 0;
    const slotX = i * SLOT_WIDTH;
    return {
      key: c.key,
      calls: c.calls,
      refused: c.refused,
      current: c.current === true,
      slotX,
      x: round(slotX + (SLOT_WIDTH - BAR_WIDTH) / 2),
      width: BAR_WIDTH,
      callsY: round(CHART_HEIGHT - callsHeight),
      callsHeight,
      refusedY: round(CHART_HEIGHT - callsHeight - refusedHeight),
      refusedHeight,
      title: `${describe(c.key)}: ${plural(c.calls, 'call', 'calls')}${c.refused > 0 ? `, ${plural(c.refused, 'refused', 'refused')}` : ''}`,
    };
  });
  const totals = columns.reduce((t, c) => ({ calls: t.calls + c.calls, refused: t.refused + c.refused }), { calls: 0, refused: 0 });
  return {
    width: columns.length * SLOT_WIDTH,
    slotWidth: SLOT_WIDTH,
    height: CHART_HEIGHT,
    bars,
    scale,
    half: scale / 2,
    totals,
    empty: totals.calls + totals.refused === 0,
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `2026-11` → `Nov`. */
export function monthName(key: string): string {
  const m = Number(key.split('-')[1]);
  return MONTHS[m - 1] ?? key;
}

/** `2026-11-23` → `Nov 23`; `2026-11` → `Nov 2026`. */
export function shortDate(key: string): string {
  const [y, m, d] = key.split('-');
  const month = MONTHS[Number(m) - 1] ?? m ?? '';
  return d === undefined ? `${month} ${y ?? ''}` : `${month} ${Number(d)}`;
}
