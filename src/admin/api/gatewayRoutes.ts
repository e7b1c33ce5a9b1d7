import { Router } from 'express';
import type { ExtensionRecord } from '../../extensions/model.js';
import type { ExtensionRegistry } from '../../extensions/registry.js';
import type { Gateway } from '../../gateway/gateway.js';
import { maskedValue, newKeyId, newKeyValue } from '../../gateway/keys.js';
import {
  cleanPlan,
  createKeyInput,
  GATEWAY_SECTION,
  gatewaySectionOf,
  gatewaySettingsInput,
  MAX_KEYS,
  patchKeyInput,
  regenerateKeyInput,
  type ApiKeyRecord,
  type GatewaySection,
} from '../../gateway/model.js';
import { swaggerDocument } from '../../gateway/swagger.js';
import { dayInfo } from '../../gateway/windows.js';
import { AppError } from '../../http/errors.js';
import { parseInput } from '../../http/validate.js';
import { sha256Hex } from '../../security/hash.js';

export interface GatewayRoutesDeps {
  registry: ExtensionRegistry;
  gateway: Gateway;
  publicUrl: string;
}

/** The API shape of a key: never a value or a hash, only the value's last 4 characters. */
export function formatKey(k: ApiKeyRecord) {
  return {
    id: k.id,
    name: k.name,
    enabled: k.enabled,
    primary: { masked: maskedValue(k.primary), createdAt: k.primary.createdAt },
    secondary: { masked: maskedValue(k.secondary), createdAt: k.secondary.createdAt },
    usagePlan: k.usagePlan,
    createdAt: k.createdAt,
    updatedAt: k.updatedAt,
  };
}

function formatSettings(r: ExtensionRecord, s: GatewaySection, deps: GatewayRoutesDeps) {
  return {
    extensionId: r.extensionId,
    requireApiKey: s.requireApiKey,
    usagePlan: s.usagePlan,
    messengerVerifyTokenSet: s.messengerVerifyTokenHash !== undefined,
    freeMonthlyCalls: s.freeMonthlyCalls ?? deps.gateway.freeMonthlyCalls,
    freeMonthlyCallsOverridden: s.freeMonthlyCalls !== undefined,
    keyCount: s.keys.length,
    messengerUrl: `${deps.publicUrl}/chatbot/${r.extensionId}`,
    swaggerUrl: `${deps.publicUrl}/api/v1/extensions/${r.extensionId}/swagger.json`,
  };
}

function findKey(s: GatewaySection, id: string, extensionId: string): ApiKeyRecord {
  const key = s.keys.find((k) => k.id === id);
  if (key === undefined) throw new AppError('not_found', `Extension "${extensionId}" has no API key "${id.slice(0, 64)}".`);
  return key;
}

/** `/api/v1/extensions/:id/{gateway,keys,usage,swagger.json}` (DESIGN.md sections 7 and 8). */
export function gatewayRoutes(deps: GatewayRoutesDeps): Router {
  const { registry, gateway } = deps;
  const router = Router();
  const save = (id: string, s: GatewaySection) => registry.setSection(id, GATEWAY_SECTION, s);

  router.get('/extensions/:id/gateway', async (req, res) => {
    const record = await registry.get(req.params['id'] as string);
    res.json(formatSettings(record, gatewaySectionOf(record), deps));
  });

  /** Sets the fields it is given; fields left out keep their value, `null` clears one. */
  router.put('/extensions/:id/gateway', async (req, res) => {
    const id = req.params['id'] as string;
    const record = await registry.get(id); // 404 before 400, as for the extension itself
    const input = parseInput(gatewaySettingsInput, req.body);
    const s = gatewaySectionOf(record);
    if (input.requireApiKey !== undefined) s.requireApiKey = input.requireApiKey;
    if (input.usagePlan !== undefined) s.usagePlan = cleanPlan(input.usagePlan);
    if (input.messengerVerifyToken === null) delete s.messengerVerifyTokenHash;
    else if (input.messengerVerifyToken !== undefined) s.messengerVerifyTokenHash = sha256Hex(input.messengerVerifyToken);
    if (input.freeMonthlyCalls === null) delete s.freeMonthlyCalls;
    else if (input.freeMonthlyCalls !== undefined) s.freeMonthlyCalls = input.freeMonthlyCalls;
    const saved = await save(id, s);
    res.json(formatSettings(saved, s, deps));
  });

  router.get('/extensions/:id/keys', async (req, res) => {
    const record = await registry.get(req.params['id'] as string);
    res.json({ keys: gatewaySectionOf(record).keys.map(formatKey) });
  });

  router.post('/extensions/:id/keys', async (req, res) => {
    const id = req.params['id'] as string;
    const record = await registry.get(id);
    const input = parseInput(createKeyInput, req.body);
    const s = gatewaySectionOf(record);
    if (s.keys.length >= MAX_KEYS) throw new AppError('conflict', `An extension has at most ${MAX_KEYS} API keys: delete one first.`);
    const now = new Date().toISOString();
    const primary = newKeyValue(now);
    const secondary = newKeyValue(now);
    const key: ApiKeyRecord = {
      id: newKeyId(),
      name: input.name,
      enabled: true,
      primary: primary.record,
      secondary: secondary.record,
      usagePlan: cleanPlan(input.usagePlan),
      createdAt: now,
      updatedAt: now,
    };
    s.keys.push(key);
    await save(id, s);
    res.status(201).location(`/api/v1/extensions/${id}/keys/${key.id}`);
    // The only response that carries the values (besides a regeneration): they are stored hashed.
    const view = formatKey(key);
    res.json({ ...view, primary: { ...view.primary, value: primary.value }, secondary: { ...view.secondary, value: secondary.value } });
  });

  router.patch('/extensions/:id/keys/:keyId', async (req, res) => {
    const id = req.params['id'] as string;
    const record = await registry.get(id);
    const s = gatewaySectionOf(record);
    const key = findKey(s, req.params['keyId'] as string, id);
    const input = parseInput(patchKeyInput, req.body);
    if (input.name !== undefined) key.name = input.name;
    if (input.enabled !== undefined) key.enabled = input.enabled;
    if (input.usagePlan !== undefined) key.usagePlan = cleanPlan(input.usagePlan);
    key.updatedAt = new Date().toISOString();
    await save(id, s);
    res.json(formatKey(key));
  });

  /** A new value for one side of the key; the id, and so its usage and quota counters, stay. */
  router.post('/extensions/:id/keys/:keyId/regenerate', async (req, res) => {
    const id = req.params['id'] as string;
    const record = await registry.get(id);
    const s = gatewaySectionOf(record);
    const key = findKey(s, req.params['keyId'] as string, id);
    const { which } = parseInput(regenerateKeyInput, req.body);
    const now = new Date().toISOString();
    const fresh = newKeyValue(now);
    key[which] = fresh.record;
    key.updatedAt = now;
    await save(id, s);
    const view = formatKey(key);
    res.json({ ...view, [which]: { ...view[which], value: fresh.value } });
  });

  router.delete('/extensions/:id/keys/:keyId', async (req, res) => {
    const id = req.params['id'] as string;
    const record = await registry.get(id);
    const s = gatewaySectionOf(record);
    const key = findKey(s, req.params['keyId'] as string, id);
    s.keys = s.keys.filter((k) => k !== key);
    await save(id, s);
    res.status(204).end();
  });

  router.get('/extensions/:id/usage', async (req, res) => {
    const id = req.params['id'] as string;
    const record = await registry.get(id);
    const s = gatewaySectionOf(record);
    // This instance's last second of counts; other instances add theirs within a second.
    await gateway.usage.flush();
    const now = Date.now();
    const report = await gateway.usage.report(id, s.keys.map((k) => k.id), now);
    const thisMonth = report.months[report.months.length - 1];
    const allowance = s.freeMonthlyCalls ?? gateway.freeMonthlyCalls;
    const used = thisMonth?.calls ?? 0;
    const planUse = async (scope: string) => gateway.limiter.used(id, scope, now);
    res.json({
      extensionId: id,
      month: dayInfo(now).month,
      freeAllowance: { monthlyCalls: allowance, used: Math.min(used, allowance), remaining: Math.max(0, allowance - used), overage: Math.max(0, used - allowance) },
      usagePlan: s.usagePlan === null ? null : { ...s.usagePlan, counted: await planUse('x') },
      keys: await Promise.all(
        s.keys.map(async (k) => ({
          id: k.id,
          name: k.name,
          enabled: k.enabled,
          usagePlan: k.usagePlan === null ? null : { ...k.usagePlan, counted: await planUse(`k:${k.id}`) },
        })),
      ),
      days: report.days,
      months: report.months,
    });
  });

  router.get('/extensions/:id/swagger.json', async (req, res) => {
    const record = await registry.get(req.params['id'] as string);
    res.json(swaggerDocument(record, deps.publicUrl));
  });

  return router;
}
