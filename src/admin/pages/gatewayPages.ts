import type { Request, Response } from 'express';
import type { ExtensionRecord } from '../../extensions/model.js';
import { createApiKey, deleteApiKey, regenerateApiKey, saveGatewaySettings, updateApiKey, usageReport } from '../../gateway/manage.js';
import { API_KEY_HEADER, gatewaySectionOf, MAX_KEYS, type ApiKeyRecord } from '../../gateway/model.js';
import { AppError } from '../../http/errors.js';
import { formatExtension } from '../api/formatExtension.js';
import { formatGatewaySettings, formatKey } from '../api/formatGateway.js';
import { apiKeyFlash, gatewayOf, page, redirectWith, type PagesContext } from './context.js';
import { applyError, checked, emptyForm, field, type FormState } from './forms.js';
import {
  ALLOWANCE_FIELDS,
  classOptions,
  currentForms,
  ENFORCE_FIELDS,
  KEY_FIELDS,
  OTHER_LABELS,
  PLAN_FIELDS,
  planField,
  planSummary,
  planValues,
  readCount,
  readPlan,
  usageView,
  VERIFY_FIELDS,
  type FormKey,
} from './gatewayView.js';
import { extensionTabs } from './tabs.js';
import { adminRouter, pathParam } from '../pathParams.js';

/**
 * `/admin/extensions/:id/gateway`: API keys (values shown once), key enforcement, the usage plan,
 * the messenger verify token, and the usage (a server-drawn chart, no script). Every change goes
 * through `gateway/manage.ts`, the same functions as the admin API.
 */
export function gatewayPages(ctx: PagesContext) {
  const { registry } = ctx.s;
  const { publicUrl } = ctx.s.config;
  const router = adminRouter();
  const base = (id: string): string => `/admin/extensions/${id}/gateway`;

  const gatewayPage = async (req: Request, res: Response, status: number, id: string, posted: Partial<Record<FormKey, FormState>> = {}): Promise<void> => {
    const gateway = gatewayOf(ctx.s);
    const record = await registry.get(id);
    const common = { title: `Gateway · ${record.name}`, ext: formatExtension(record, publicUrl), tabs: extensionTabs(record.extensionId, 'gateway') };
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
        settings: formatGatewaySettings(record, s, { publicUrl, freeMonthlyCalls: gateway.freeMonthlyCalls }),
        serviceFreeMonthlyCalls: gateway.freeMonthlyCalls,
        keys: s.keys.map((k) => ({ ...formatKey(k), planText: k.usagePlan === null ? undefined : planSummary(k.usagePlan), counted: counted.get(k.id) })),
        enabledKeys: s.keys.filter((k) => k.enabled).length,
        maxKeys: MAX_KEYS,
        plan: report.usagePlan,
        planText: planSummary(report.usagePlan),
        usage: usageView(report, s.keys),
        forms: { ...currentForms(s), ...posted },
        classes: classOptions(),
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
      apiKeyFlash(
        ctx,
        req,
        id,
        key,
        { [which]: value },
        `New ${which} value for ${key.name}: the old ${which} value no longer works, the ${other} one still does. Copy the new value now: it is shown only this once.`,
      ),
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
      classes: classOptions(),
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
