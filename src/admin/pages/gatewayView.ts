import type { Request } from 'express';
import type { UsageReport } from '../../gateway/manage.js';
import { RESPONSE_CLASSES, type ApiKeyRecord, type GatewaySection, type UsagePlan } from '../../gateway/model.js';
import { OUTCOMES, REFUSAL_CODES, type Outcome, type RefusalCode, type UsageRow } from '../../gateway/usage.js';
import { emptyForm, field, fieldValues, type FormState } from './forms.js';
import { barChart, monthName, shortDate, type BarChart } from './usageChart.js';

/**
 * The view model of the gateway pages: labels, how a plan reads and is written in a form, and what
 * the Usage section shows. The routes (gatewayPages.ts) only call these.
 */

const REFUSAL_LABELS: Record<RefusalCode, string> = {
  missing_api_key: 'No API key sent',
  invalid_api_key: 'Wrong, disabled or foreign key',
  rate_limited: 'Over the rate limit',
  quota_exceeded: 'Over a quota',
  missing_signature: 'Not signed (not counted)',
  invalid_signature: 'Wrong signature (not counted)',
  application_id_mismatch: "Another extension's request (not counted)",
};

const OUTCOME_LABELS: Record<Outcome, string> = {
  '2xx': 'Answered (2xx)',
  '3xx': 'Redirected (3xx)',
  '4xx': 'Refused by the endpoint (4xx)',
  '5xx': 'Failed (5xx)',
  unclassified: 'Not classified',
};

const CLASS_LABELS: Record<(typeof RESPONSE_CLASSES)[number], string> = {
  '2xx': '2xx (answered)',
  '3xx': '3xx',
  '4xx': '4xx (bad signature or request)',
  '5xx': '5xx (our failures)',
};

const LIMITS = ['rateRps', 'dayQuota', 'monthQuota'] as const;
export const PLAN_FIELDS = { rateRps: 'Requests a second', dayQuota: 'Calls a day', monthQuota: 'Calls a month', quotaCondition: 'What counts' };
export const KEY_FIELDS = { name: 'Name', ...PLAN_FIELDS };
export const ENFORCE_FIELDS = { requireApiKey: 'Require an API key' };
export const VERIFY_FIELDS = { messengerVerifyToken: 'Verify token' };
export const ALLOWANCE_FIELDS = { freeMonthlyCalls: 'Free calls a month' };
export const OTHER_LABELS = { usagePlan: 'Usage plan' };

/** The API's paths of a plan (`usagePlan.dayQuota`, `usagePlan.quotaCondition.0`) → the form's fields. */
export const planField = (path: string): string => path.replace(/^usagePlan\./, '').replace(/^quotaCondition\.\d+$/, 'quotaCondition');

export type FormKey = 'newKey' | 'enforce' | 'plan' | 'verify' | 'allowance';

/** A plan as form values: the three limits as text, a checkbox per response class. */
export function planValues(plan: UsagePlan | null): FormState['values'] {
  const values: FormState['values'] = {};
  for (const f of LIMITS) values[f] = plan?.[f] === undefined ? '' : String(plan[f]);
  for (const c of RESPONSE_CLASSES) values[`qc${c}`] = plan?.quotaCondition === undefined || plan.quotaCondition.includes(c);
  return values;
}

/**
 * The plan fields of a posted form. All three limits blank: no plan (`null`). Every class ticked:
 * `quotaCondition` left out (every response counts, the API's default). Numbers may be written
 * with thousands separators; the API checks the ranges.
 */
export function readPlan(req: Request, values: FormState['values'], errors: Record<string, string>): Record<string, unknown> | null {
  const plan: Record<string, unknown> = {};
  for (const f of LIMITS) {
    values[f] = field(req, f).trim();
    const digits = String(values[f]).replace(/[,_\s]/g, '');
    if (digits === '') continue;
    if (/^\d{1,10}$/.test(digits)) plan[f] = Number(digits);
    else errors[f] = 'Must be a whole number.';
  }
  const classes = fieldValues(req, 'quotaCondition');
  for (const c of RESPONSE_CLASSES) values[`qc${c}`] = classes.includes(c);
  const empty = LIMITS.every((f) => values[f] === '');
  if (empty) return null;
  if (classes.length === 0) errors['quotaCondition'] = 'Tick at least one class: the responses that count against the quotas.';
  else if (!RESPONSE_CLASSES.every((c) => classes.includes(c))) plan['quotaCondition'] = classes;
  return plan;
}

/** Optional whole number; `null` when blank. Problems go into `errors`. */
export function readCount(req: Request, name: string, values: FormState['values'], errors: Record<string, string>): number | null {
  values[name] = field(req, name).trim();
  const digits = String(values[name]).replace(/[,_\s]/g, '');
  if (digits === '') return null;
  if (!/^\d{1,16}$/.test(digits)) {
    errors[name] = 'Must be a whole number.';
    return null;
  }
  return Number(digits);
}

/** "20 requests a second · 10,000 calls a day · counts 2xx, 4xx" */
export function planSummary(plan: UsagePlan | null | undefined): string {
  if (plan === null || plan === undefined) return 'no limits';
  const n = (v: number): string => v.toLocaleString('en-US');
  const parts: string[] = [];
  if (plan.rateRps !== undefined) parts.push(`${n(plan.rateRps)} ${plan.rateRps === 1 ? 'request' : 'requests'} a second`);
  if (plan.dayQuota !== undefined) parts.push(`${n(plan.dayQuota)} calls a day`);
  if (plan.monthQuota !== undefined) parts.push(`${n(plan.monthQuota)} calls a month`);
  if (plan.quotaCondition !== undefined && (plan.dayQuota !== undefined || plan.monthQuota !== undefined)) parts.push(`quotas count ${plan.quotaCondition.join(', ')} only`);
  return parts.join(' · ');
}

const refusedOf = (row: UsageRow): number => REFUSAL_CODES.reduce((n, c) => n + row.refused[c], 0);

function percentText(used: number, of: number): string {
  if (used === 0) return '0 %';
  if (of === 0) return '100 %';
  const pct = (used / of) * 100;
  if (pct < 0.1) return 'under 0.1 %';
  return `${pct >= 10 ? Math.min(100, Math.round(pct)) : Math.round(pct * 10) / 10} %`;
}

/** Axis labels under the bars, one cell per column: a label every `every` columns, counted back from the last. */
function axis(keys: readonly string[], every: number, label: (key: string) => string, last: string): Array<{ text: string }> {
  return keys.map((k, i) => {
    const fromEnd = keys.length - 1 - i;
    return { text: fromEnd === 0 ? last : fromEnd % every === 0 ? label(k) : '' };
  });
}

/** What the Usage section shows: today and this month, the allowance, the two charts, the breakdowns. */
export function usageView(r: UsageReport, keys: readonly ApiKeyRecord[]) {
  const today = r.days[r.days.length - 1] as UsageReport['days'][number];
  const month = r.months[r.months.length - 1] as UsageReport['months'][number];
  const daysChart: BarChart = barChart(
    r.days.map((d, i) => ({ key: d.date, calls: d.calls, refused: refusedOf(d), current: i === r.days.length - 1 })),
    (k) => k,
  );
  const monthsChart: BarChart = barChart(
    r.months.map((m, i) => ({ key: m.month, calls: m.calls, refused: refusedOf(m), current: i === r.months.length - 1 })),
    (k) => shortDate(k),
  );
  const sum = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);
  const keyRows = keys.map((k) => ({ id: k.id, name: k.name, enabled: k.enabled, today: today.byKey[k.id] ?? 0, month: month.byKey[k.id] ?? 0 }));
  const withoutKey = { today: Math.max(0, today.calls - sum(today.byKey)), month: Math.max(0, month.calls - sum(month.byKey)) };
  const a = r.freeAllowance;
  const total = month.calls;
  return {
    today: { date: today.date, calls: today.calls, refused: refusedOf(today) },
    month: { month: month.month, label: shortDate(month.month), calls: month.calls, refused: refusedOf(month) },
    allowance: {
      ...a,
      percent: percentText(total, a.monthlyCalls),
      // The bar is 100 units wide (the SVG stretches it); at least 1 unit once anything is used.
      usedWidth: total === 0 ? 0 : a.monthlyCalls === 0 ? 100 : Math.min(100, Math.max(1, Math.round((total / a.monthlyCalls) * 1000) / 10)),
      over: a.overage > 0,
    },
    days: {
      chart: daysChart,
      axis: axis(
        r.days.map((d) => d.date),
        7,
        shortDate,
        'Today',
      ),
      rows: r.days.map((d) => ({ label: d.date, calls: d.calls, refused: refusedOf(d) })).reverse(),
    },
    months: {
      chart: monthsChart,
      axis: axis(
        r.months.map((m) => m.month),
        3,
        monthName,
        monthName(month.month),
      ),
      rows: r.months.map((m) => ({ label: shortDate(m.month), calls: m.calls, refused: refusedOf(m) })).reverse(),
    },
    refused: REFUSAL_CODES.map((code) => ({ code, label: REFUSAL_LABELS[code], today: today.refused[code], month: month.refused[code] })),
    outcomes: OUTCOMES.map((o) => ({ outcome: o, label: OUTCOME_LABELS[o], today: today.byOutcome[o], month: month.byOutcome[o] })).filter((o) => o.outcome !== 'unclassified' || o.month > 0),
    keys: keyRows,
    withoutKey,
  };
}

/** The response classes as the plan forms list them. */
export const classOptions = (): Array<{ value: (typeof RESPONSE_CLASSES)[number]; label: string }> => RESPONSE_CLASSES.map((value) => ({ value, label: CLASS_LABELS[value] }));

/** The forms of the gateway page as the stored section fills them. */
export function currentForms(s: GatewaySection): Record<FormKey, FormState> {
  return {
    newKey: emptyForm({ name: '' }),
    enforce: emptyForm({ requireApiKey: s.requireApiKey }),
    plan: emptyForm(planValues(s.usagePlan)),
    verify: emptyForm({ messengerVerifyToken: '', removeVerifyToken: false }),
    allowance: emptyForm({ freeMonthlyCalls: s.freeMonthlyCalls === undefined ? '' : String(s.freeMonthlyCalls) }),
  };
}
