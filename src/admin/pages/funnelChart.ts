import { FUNNEL_FAILURES, FUNNEL_STEPS, type FunnelFailure, type FunnelReport, type FunnelStep } from '../../linking/funnel.js';

/**
 * The linking funnel on the Linked users tab: one horizontal bar per step (its total over the
 * period, as a share of the largest), drawn by `views/admin/users.njk` as small inline `<svg>`s,
 * like the usage charts (`usageChart.ts`): computed here, no script and no inline style.
 */
export const FUNNEL_BAR_WIDTH = 100;
/** A step that is not zero is at least this wide, so one shows next to thousands. */
const MIN_VISIBLE = 1.5;

const STEP_LABELS: Record<FunnelStep, string> = {
  prompted: 'Login prompts spoken',
  page_opened: 'Link pages opened',
  code_accepted: 'Codes accepted',
  consent_returned: 'Consents returned',
  token_stored: 'Tokens stored',
  first_action: 'First action after linking',
};
const FAILURE_LABELS: Record<FunnelFailure, string> = {
  wrong_code: 'Wrong code',
  lockout: 'Locked out',
  consent_denied: 'Consent denied',
  token_endpoint_error: 'Token endpoint error',
  expired_state: 'Sign-in expired (state)',
};
/** Counted before an extension is known (funnel.ts): shown with the gateway-wide numbers. */
const GATEWAY_WIDE_STEPS: ReadonlySet<string> = new Set(['page_opened']);
const GATEWAY_WIDE_FAILURES: ReadonlySet<string> = new Set(['wrong_code', 'lockout', 'expired_state']);

export interface FunnelBar {
  key: string;
  label: string;
  value: number;
  /** Share of the previous step, in whole percent (null for the first step, or after a zero). */
  ofPrevious: number | null;
  width: number;
  /** Counted for all extensions together. */
  gatewayWide: boolean;
}

export interface FunnelView {
  days: number;
  steps: FunnelBar[];
  failures: FunnelBar[];
  empty: boolean;
  /** Newest first; days with nothing counted are left out. */
  rows: Array<{ date: string; values: number[] }>;
  columns: string[];
}

const widthOf = (n: number, max: number): number => (n <= 0 || max <= 0 ? 0 : Math.max(MIN_VISIBLE, Math.round((n / max) * FUNNEL_BAR_WIDTH * 100) / 100));

/**
 * The bars and the day-by-day table. A gateway-wide step adds the extension's own count of it
 * (ticket links) to the gateway-wide one, and says so.
 */
export function funnelView(r: FunnelReport): FunnelView {
  const stepValue = (s: FunnelStep): number => r.totals.steps[s] + (GATEWAY_WIDE_STEPS.has(s) ? r.gatewayWide.totals.steps[s] : 0);
  const failureValue = (f: FunnelFailure): number => r.totals.failures[f] + (GATEWAY_WIDE_FAILURES.has(f) ? r.gatewayWide.totals.failures[f] : 0);
  const stepMax = Math.max(0, ...FUNNEL_STEPS.map(stepValue));
  const failureMax = Math.max(0, ...FUNNEL_FAILURES.map(failureValue));
  let previous: number | undefined;
  const steps = FUNNEL_STEPS.map((s): FunnelBar => {
    const value = stepValue(s);
    const ofPrevious = previous === undefined || previous === 0 ? null : Math.round((value / previous) * 100);
    previous = value;
    return { key: s, label: STEP_LABELS[s], value, ofPrevious, width: widthOf(value, stepMax), gatewayWide: GATEWAY_WIDE_STEPS.has(s) };
  });
  const failures = FUNNEL_FAILURES.map((f): FunnelBar => ({
    key: f,
    label: FAILURE_LABELS[f],
    value: failureValue(f),
    ofPrevious: null,
    width: widthOf(failureValue(f), failureMax),
    gatewayWide: GATEWAY_WIDE_FAILURES.has(f),
  }));
  const rows = r.days
    .map((d, i) => {
      const wide = r.gatewayWide.days[i];
      return {
        date: d.date,
        values: [
          ...FUNNEL_STEPS.map((s) => d.steps[s] + (GATEWAY_WIDE_STEPS.has(s) ? (wide?.steps[s] ?? 0) : 0)),
          ...FUNNEL_FAILURES.map((f) => d.failures[f] + (GATEWAY_WIDE_FAILURES.has(f) ? (wide?.failures[f] ?? 0) : 0)),
        ],
      };
    })
    .filter((row) => row.values.some((n) => n > 0))
    .reverse();
  return {
    days: r.days.length,
    steps,
    failures,
    empty: steps.every((s) => s.value === 0) && failures.every((f) => f.value === 0),
    rows,
    columns: [...FUNNEL_STEPS.map((s) => STEP_LABELS[s]), ...FUNNEL_FAILURES.map((f) => FAILURE_LABELS[f])],
  };
}
