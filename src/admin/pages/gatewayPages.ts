import type { Request, Response, Router } from 'express';
import type { ExtensionRecord } from '../../extensions/model.js';
import { createApiKey, deleteApiKey, regenerateApiKey, saveGatewaySettings, updateApiKey, usageReport, type UsageReport } from '../../gateway/manage.js';
import { API_KEY_HEADER, gatewaySectionOf, MAX_KEYS, RESPONSE_CLASSES, type ApiKeyRecord, type GatewaySection, type UsagePlan } from '../../gateway/model.js';
import { OUTCOMES, REFUSAL_CODES, type Outcome, type RefusalCode, type UsageRow } from '../../gateway/usage.js';
import { AppError } from '../../http/errors.js';
import { formatExtension } from '../api/formatExtension.js';
import { formatGatewaySettings, formatKey } from '../api/formatGateway.js';
import { apiKeyFlash, gatewayOf, page, redirectWith, type PagesContext } from './context.js';
import { applyError, checked, emptyForm, field, fieldValues, type FormState } from './forms.js';
import { extensionTabs } from './tabs.js';
import { barChart, monthName, shortDate, type BarChart } from './usageChart.js';
import { adminRouter, pathParam } from '../pathParams.js';

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
const PLAN_FIELDS = { rateRps: 'Requests a second', dayQuota: 'Calls a day', monthQuota: 'Calls a month', quotaCondition: 'What counts' };
const KEY_FIELDS = { name: 'Name', ...PLAN_FIELDS };
const ENFORCE_FIELDS = { requireApiKey: 'Require an API key' };
const VERIFY_FIELDS = { messengerVerifyToken: 'Verify token' };
const ALLOWANCE_FIELDS = { freeMonthlyCalls: 'Free calls a month' };
const OTHER_LABELS = { usagePlan: 'Usage plan' };

/** The API's paths of a plan (`usagePlan.dayQuota`, `usagePlan.quotaCondition.0`) → the form's fields. */
const planField = (path: string): string => path.replace(/^usagePlan\./, '').replace(/^quotaCondition\.\d+$/, 'quotaCondition');

type FormKey = 'newKey' | 'enforce' | 'plan' | 'verify' | 'allowance';

/** A plan as form values: the three limits as text, a checkbox per response class. */
function planValues(plan: UsagePlan | null): FormState['values'] {
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
function readPlan(req: Request, values: FormState['values'], errors: Record<string, string>): Record<string, unknown> | null {
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
function readCount(req: Request, name: string, values: FormState['values'], errors: Record<string, string>): number | null {
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
function usageView(r: UsageReport, keys: readonly ApiKeyRecord[]) {
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
    days: { chart: daysChart, axis: axis(r.days.map((d) => d.date), 7, shortDate, 'Today'), rows: r.days.map((d) => ({ label: d.date, calls: d.calls, refused: refusedOf(d) })).reverse() },
    months: { chart: monthsChart, axis: axis(r.months.map((m) => m.month), 3, monthName, monthName(month.month)), rows: r.months.map((m) => ({ label: shortDate(m.month), calls: m.calls, refused: refusedOf(m) })).reverse() },
    refused: REFUSAL_CODES.map((code) => ({ code, label: REFUSAL_LABELS[code], today: today.refused[code], month: month.refused[code] })),
    outcomes: OUTCOMES.map((o) => ({ outcome: o, label: OUTCOME_LABELS[o], today: today.byOutcome[o], month: month.byOutcome[o] })).filter((o) => o.outcome !== 'unclassified' || o.month > 0),
    keys: keyRows,
    withoutKey,
  };
}

/**
 * `/admin/extensions/:id/gateway`: API keys (values shown once), key enforcement, the usage plan,
 * the messenger verify token, and the usage (a server-drawn chart, no script). Every change goes
 * through `gateway/manage.ts`, the same functions as the admin API.
 */
export function gatewayPages(ctx: PagesContext): Router {
  const { registry } = ctx.s;
  const { publicUrl } = ctx.s.config;
  const router = adminRouter();
  const base = (id: string): string => `/admin/extensions/${id}/gateway`;

  const current = (s: GatewaySection): Record<FormKey, FormState> => ({
    newKey: emptyForm({ name: '' }),
    enforce: emptyForm({ requireApiKey: s.requireApiKey }),
    plan: emptyForm(planValues(s.usagePlan)),
    verify: emptyForm({ messengerVerifyToken: '', removeVerifyToken: false }),
    allowance: emptyForm({ freeMonthlyCalls: s.freeMonthlyCalls === undefined ? '' : String(s.freeMonthlyCalls) }),
  });

  const gatewayPage = async (req: Request, res: Response, status: number, id: string, posted: Partial<Record<FormKey, FormState>> = {}): Promise<void> => {
    const gateway = gatewayOf(ctx.s);
    const record = await registry.get(id);
    const common = { title: `Gateway · ${record.name}`, ext: formatExtension(record, publicUrl), tabs: extensionTabs(record.extensionId, 'gateway') };
    if (gateway === undefined) {
      await page(ctx, req, res, status, 'gateway.njk', { ...common, available: false });
      return;
    }
    const s = gatewaySectionOf(record);
    const report = await usageReport(gateway, registry, record.extensionId);
    const counted = new Map(report.keys.map((k) => [k.id, k.usagePlan?.counted]));
    await page(
      ctx,
      req,
      res,
      status,
      'gateway.njk',
      {
        ...common,
        available: true,
        settings: formatGatewaySettings(record, s, { publicUrl, freeMonthlyCalls: gateway.freeMonthlyCalls }),
        serviceFreeMonthlyCalls: gateway.freeMonthlyCalls,
        keys: s.keys.map((k) => ({ ...formatKey(k), planText: k.usagePlan === null ? undefined : planSummary(k.usagePlan), counted: counted.get(k.id) })),
        enabledKeys: s.keys.filter((k) => k.enabled).length,
        maxKeys: MAX_KEYS,
        plan: report.usagePlan,
        planText: planSummary(report.usagePlan),
        usage: usageView(report, s.keys),
        forms: { ...current(s), ...posted },
        classes: RESPONSE_CLASSES.map((value) => ({ value, label: CLASS_LABELS[value] })),
        apiKeyHeader: API_KEY_HEADER,
      },
      { apiKeyFor: record.extensionId },
    );
  };

  const idOf = async (req: Request): Promise<string> => (await registry.get(pathParam(req, 'id'))).extensionId;

  router.get('/extensions/:id/gateway', async (req, res) => {
    await gatewayPage(req, res, 200, req.params['id']);
  });

  // ---- API keys ----

  router.post('/extensions/:id/gateway/keys', async (req, res) => {
    const id = await idOf(req);
    const values = { name: field(req, 'name').trim() };
    const form = emptyForm(values);
    if (values.name === '') {
      form.errors['name'] = 'Give the key a name, e.g. the app or partner that will use it.';
      await gatewayPage(req, res, 400, id, { newKey: form });
      return;
    }
    try {
      const { key, values: secret } = await createApiKey(registry, id, { name: values.name });
      await redirectWith(ctx, req, res, `${base(id)}#keys`, apiKeyFlash(ctx, req, id, key, secret, `API key ${key.name} created. Copy its values now: they are shown only this once.`));
    } catch (err) {
      await gatewayPage(req, res, 400, id, { newKey: applyError(form, err, { fields: { name: 'Name' } }) });
    }
  });

  router.post('/extensions/:id/gateway/keys/:keyId/enabled', async (req, res) => {
    const id = await idOf(req);
    const enabled = field(req, 'enabled') === '1';
    const key = await updateApiKey(registry, id, req.params['keyId'], { enabled });
    await redirectWith(ctx, req, res, `${base(id)}#key-${key.id}`, {
      kind: 'ok',
      text: enabled ? `API key ${key.name} is enabled.` : `API key ${key.name} is disabled: calls with it are refused (403 invalid_api_key) until you enable it again.`,
    });
  });

  router.post('/extensions/:id/gateway/keys/:keyId/regenerate', async (req, res) => {
    const id = await idOf(req);
    const { key, which, value } = await regenerateApiKey(registry, id, req.params['keyId'], { which: field(req, 'which') });
    const other = which === 'primary' ? 'secondary' : 'primary';
    await redirectWith(
      ctx,
      req,
      res,
      `${base(id)}#keys`,
      apiKeyFlash(ctx, req, id, key, { [which]: value }, `New ${which} value for ${key.name}: the old ${which} value no longer works, the ${other} one still does. Copy the new value now: it is shown only this once.`),
    );
  });

  router.post('/extensions/:id/gateway/keys/:keyId/delete', async (req, res) => {
    const id = await idOf(req);
    const key = await deleteApiKey(registry, id, req.params['keyId']);
    await redirectWith(ctx, req, res, `${base(id)}#keys`, { kind: 'ok', text: `API key ${key.name} deleted: calls with its values are refused.` });
  });

  /** A key's name and its own usage plan. */
  const keyPage = async (req: Request, res: Response, status: number, record: ExtensionRecord, key: ApiKeyRecord, form: FormState): Promise<void> => {
    await page(ctx, req, res, status, 'gateway-key.njk', {
      title: `API key ${key.name} · ${record.name}`,
      ext: formatExtension(record, publicUrl),
      tabs: extensionTabs(record.extensionId, 'gateway'),
      key: formatKey(key),
      extensionPlanText: planSummary(gatewaySectionOf(record).usagePlan),
      form,
      classes: RESPONSE_CLASSES.map((value) => ({ value, label: CLASS_LABELS[value] })),
    });
  };

  const findKey = (record: ExtensionRecord, keyId: string): ApiKeyRecord => {
    const key = gatewaySectionOf(record).keys.find((k) => k.id === keyId);
    if (key === undefined) throw new AppError('not_found', `${record.extensionId} has no API key "${keyId.slice(0, 64)}".`);
    return key;
  };

  router.get('/extensions/:id/gateway/keys/:keyId', async (req, res) => {
    const record = await registry.get(req.params['id']);
    const key = findKey(record, req.params['keyId']);
    await keyPage(req, res, 200, record, key, emptyForm({ name: key.name, ...planValues(key.usagePlan) }));
  });

  router.post('/extensions/:id/gateway/keys/:keyId', async (req, res) => {
    const record = await registry.get(req.params['id']);
    const key = findKey(record, req.params['keyId']);
    const form = emptyForm({ name: field(req, 'name').trim() });
    const usagePlan = readPlan(req, form.values, form.errors);
    if (form.values['name'] === '') form.errors['name'] = 'Give the key a name.';
    if (Object.keys(form.errors).length > 0) {
      await keyPage(req, res, 400, record, key, form);
      return;
    }
    try {
      const saved = await updateApiKey(registry, record.extensionId, key.id, { name: form.values['name'], usagePlan });
      const planText = usagePlan === null ? 'It is counted under the extension’s usage plan.' : 'It is counted under its own usage plan.';
      await redirectWith(ctx, req, res, `${base(record.extensionId)}#key-${saved.id}`, { kind: 'ok', text: `API key ${saved.name} saved. ${planText}` });
    } catch (err) {
      await keyPage(req, res, 400, record, key, applyError(form, err, { fields: KEY_FIELDS, rename: planField, otherLabels: OTHER_LABELS }));
    }
  });

  // ---- Settings: key enforcement, the usage plan, the verify token, the free allowance ----

  router.post('/extensions/:id/gateway/enforcement', async (req, res) => {
    const id = await idOf(req);
    const values = { requireApiKey: checked(req, 'requireApiKey') };
    try {
      const { section } = await saveGatewaySettings(registry, id, values);
      const enabled = section.keys.filter((k) => k.enabled).length;
      const text = !values.requireApiKey
        ? 'API keys are no longer required: calls without one are admitted.'
        : `API keys are now required on every call (${API_KEY_HEADER}).${enabled === 0 ? ' No key is enabled yet: every call is refused until you create or enable one.' : ''}`;
      await redirectWith(ctx, req, res, `${base(id)}#keys`, { kind: values.requireApiKey && enabled === 0 ? 'info' : 'ok', text });
    } catch (err) {
      await gatewayPage(req, res, 400, id, { enforce: applyError(emptyForm(values), err, { fields: ENFORCE_FIELDS }) });
    }
  });

  router.post('/extensions/:id/gateway/plan', async (req, res) => {
    const id = await idOf(req);
    const form = emptyForm({});
    const usagePlan = readPlan(req, form.values, form.errors);
    if (Object.keys(form.errors).length > 0) {
      await gatewayPage(req, res, 400, id, { plan: form });
      return;
    }
    try {
      await saveGatewaySettings(registry, id, { usagePlan });
      await redirectWith(ctx, req, res, `${base(id)}#plan`, { kind: 'ok', text: usagePlan === null ? 'No usage plan: calls are not limited.' : 'Usage plan saved. It counts calls from now on.' });
    } catch (err) {
      await gatewayPage(req, res, 400, id, { plan: applyError(form, err, { fields: PLAN_FIELDS, rename: planField, otherLabels: OTHER_LABELS }) });
    }
  });

  router.post('/extensions/:id/gateway/plan/delete', async (req, res) => {
    const id = await idOf(req);
    await saveGatewaySettings(registry, id, { usagePlan: null });
    await redirectWith(ctx, req, res, `${base(id)}#plan`, { kind: 'ok', text: 'Usage plan removed: calls are not limited (keys with a plan of their own keep it).' });
  });

  router.post('/extensions/:id/gateway/verify-token', async (req, res) => {
    const id = await idOf(req);
    const token = field(req, 'messengerVerifyToken');
    const remove = checked(req, 'removeVerifyToken');
    // Write-only: the typed token is never sent back to the browser, not even after a mistake.
    const form = emptyForm({ messengerVerifyToken: '', removeVerifyToken: remove });
    if (!remove && token.trim() === '') {
      form.errors['messengerVerifyToken'] = 'Type the verify token your messenger platform will send (at least 8 characters).';
      await gatewayPage(req, res, 400, id, { verify: form });
      return;
    }
    try {
      await saveGatewaySettings(registry, id, { messengerVerifyToken: remove ? null : token.trim() });
      await redirectWith(ctx, req, res, `${base(id)}#messenger`, {
        kind: 'ok',
        text: remove ? 'Verify token removed: webhook verification requests are refused (403).' : 'Verify token saved. It is stored hashed and never shown again.',
      });
    } catch (err) {
      await gatewayPage(req, res, 400, id, { verify: applyError(form, err, { fields: VERIFY_FIELDS }) });
    }
  });

  router.post('/extensions/:id/gateway/allowance', async (req, res) => {
    const id = await idOf(req);
    const form = emptyForm({});
    const freeMonthlyCalls = readCount(req, 'freeMonthlyCalls', form.values, form.errors);
    if (Object.keys(form.errors).length > 0) {
      await gatewayPage(req, res, 400, id, { allowance: form });
      return;
    }
    try {
      await saveGatewaySettings(registry, id, { freeMonthlyCalls });
      await redirectWith(ctx, req, res, `${base(id)}#allowance`, {
        kind: 'ok',
        text: freeMonthlyCalls === null ? 'Free allowance back to the service default.' : `Free allowance set to ${freeMonthlyCalls.toLocaleString('en-US')} calls a month.`,
      });
    } catch (err) {
      await gatewayPage(req, res, 400, id, { allowance: applyError(form, err, { fields: ALLOWANCE_FIELDS }) });
    }
  });

  return router;
}
