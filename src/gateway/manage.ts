import type { ExtensionRecord } from '../extensions/model.js';
import type { ExtensionRegistry } from '../extensions/registry.js';
import { AppError } from '../http/errors.js';
import { parseInput } from '../http/validate.js';
import { sha256Hex } from '../security/hash.js';
import type { Gateway } from './gateway.js';
import { newKeyId, newKeyValue } from './keys.js';
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
  type UsagePlan,
} from './model.js';
import type { UsageRow } from './usage.js';
import { dayInfo } from './windows.js';

// What the admin API (`admin/api/gatewayRoutes.ts`) and the admin pages (`admin/pages/gatewayPages.ts`)
// change and read of an extension's gateway: settings, API keys, the usage report. One
// implementation for both; each throws the AppError the API answers with (404 before 400).

/**
 * Changes the gateway section on the current record (compare-and-set in the registry, so concurrent
 * changes, e.g. two keys created at once, all land). `change` may run more than once.
 */
async function change(registry: ExtensionRegistry, id: string, fn: (s: GatewaySection) => void): Promise<{ record: ExtensionRecord; section: GatewaySection }> {
  let section: GatewaySection | undefined;
  const record = await registry.updateSection(id, GATEWAY_SECTION, (r) => {
    section = gatewaySectionOf(r);
    fn(section);
    return section;
  });
  return { record, section: section as GatewaySection };
}

function findKey(s: GatewaySection, keyId: string, extensionId: string): ApiKeyRecord {
  const key = s.keys.find((k) => k.id === keyId);
  if (key === undefined) throw new AppError('not_found', `Extension "${extensionId}" has no API key "${keyId.slice(0, 64)}".`);
  return key;
}

/**
 * Sets the settings the body gives (`requireApiKey`, `usagePlan`, `messengerVerifyToken`,
 * `freeMonthlyCalls`); fields left out keep their value, `null` clears one. The verify token is
 * stored as its SHA-256 only.
 */
export async function saveGatewaySettings(registry: ExtensionRegistry, extensionId: string, body: unknown): Promise<{ record: ExtensionRecord; section: GatewaySection }> {
  await registry.get(extensionId);
  const input = parseInput(gatewaySettingsInput, body);
  return change(registry, extensionId, (s) => {
    if (input.requireApiKey !== undefined) s.requireApiKey = input.requireApiKey;
    if (input.usagePlan !== undefined) s.usagePlan = cleanPlan(input.usagePlan);
    if (input.messengerVerifyToken === null) delete s.messengerVerifyTokenHash;
    else if (input.messengerVerifyToken !== undefined) s.messengerVerifyTokenHash = sha256Hex(input.messengerVerifyToken);
    if (input.freeMonthlyCalls === null) delete s.freeMonthlyCalls;
    else if (input.freeMonthlyCalls !== undefined) s.freeMonthlyCalls = input.freeMonthlyCalls;
  });
}

/**
 * A new key `{name, usagePlan?}` with fresh primary and secondary values. The values are returned
 * here only: the record keeps their hashes (and last 4 characters). 409 `conflict` past MAX_KEYS.
 */
export async function createApiKey(registry: ExtensionRegistry, extensionId: string, body: unknown): Promise<{ key: ApiKeyRecord; values: { primary: string; secondary: string } }> {
  await registry.get(extensionId);
  const input = parseInput(createKeyInput, body);
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
  await change(registry, extensionId, (s) => {
    if (s.keys.length >= MAX_KEYS) throw new AppError('conflict', `An extension has at most ${MAX_KEYS} API keys: delete one first.`);
    s.keys.push(key);
  });
  return { key, values: { primary: primary.value, secondary: secondary.value } };
}

/** Changes a key's `name`, `enabled` or own `usagePlan` (`null`: counted under the extension's plan). */
export async function updateApiKey(registry: ExtensionRegistry, extensionId: string, keyId: string, body: unknown): Promise<ApiKeyRecord> {
  findKey(gatewaySectionOf(await registry.get(extensionId)), keyId, extensionId);
  const input = parseInput(patchKeyInput, body);
  let key: ApiKeyRecord | undefined;
  await change(registry, extensionId, (s) => {
    key = findKey(s, keyId, extensionId);
    if (input.name !== undefined) key.name = input.name;
    if (input.enabled !== undefined) key.enabled = input.enabled;
    if (input.usagePlan !== undefined) key.usagePlan = cleanPlan(input.usagePlan);
    key.updatedAt = new Date().toISOString();
  });
  return key as ApiKeyRecord;
}

/**
 * A new value for one side of a key (`{which: "primary"|"secondary"}`); the old value of that side
 * stops working at once. The id, and so its usage and quota counters, stay. The value is returned
 * here only.
 */
export async function regenerateApiKey(registry: ExtensionRegistry, extensionId: string, keyId: string, body: unknown): Promise<{ key: ApiKeyRecord; which: 'primary' | 'secondary'; value: string }> {
  findKey(gatewaySectionOf(await registry.get(extensionId)), keyId, extensionId);
  const { which } = parseInput(regenerateKeyInput, body);
  const now = new Date().toISOString();
  const fresh = newKeyValue(now);
  let key: ApiKeyRecord | undefined;
  await change(registry, extensionId, (s) => {
    key = findKey(s, keyId, extensionId);
    key[which] = fresh.record;
    key.updatedAt = now;
  });
  return { key: key as ApiKeyRecord, which, value: fresh.value };
}

/** Deletes a key; calls presenting its values are refused from then on. Its usage stays in the report's totals. */
export async function deleteApiKey(registry: ExtensionRegistry, extensionId: string, keyId: string): Promise<ApiKeyRecord> {
  let key: ApiKeyRecord | undefined;
  await change(registry, extensionId, (s) => {
    const found = findKey(s, keyId, extensionId);
    s.keys = s.keys.filter((k) => k !== found);
    key = found;
  });
  return key as ApiKeyRecord;
}

/** A plan with what it has counted today and this month (its quota counters). */
export type CountedPlan = UsagePlan & { counted: { day: number; month: number } };

/** `GET /api/v1/extensions/:id/usage`, and the usage section of the admin pages. */
export interface UsageReport {
  extensionId: string;
  /** This UTC month, `YYYY-MM`. */
  month: string;
  freeAllowance: { monthlyCalls: number; used: number; remaining: number; overage: number };
  usagePlan: CountedPlan | null;
  keys: Array<{ id: string; name: string; enabled: boolean; usagePlan: CountedPlan | null }>;
  /** The last 31 UTC days and 12 months, oldest first. */
  days: Array<UsageRow & { date: string }>;
  months: Array<UsageRow & { month: string }>;
}

/**
 * The usage of an extension: calls by day and month (by outcome, by key, refused by code), the free
 * allowance this month, and what each plan has counted. This instance's last second of counts is
 * flushed first; other instances add theirs within a second.
 */
export async function usageReport(gateway: Gateway, registry: ExtensionRegistry, extensionId: string, now = Date.now()): Promise<UsageReport> {
  const record = await registry.get(extensionId);
  const id = record.extensionId;
  const s = gatewaySectionOf(record);
  await gateway.usage.flush();
  const report = await gateway.usage.report(
    id,
    s.keys.map((k) => k.id),
    now,
  );
  const thisMonth = report.months[report.months.length - 1];
  const allowance = s.freeMonthlyCalls ?? gateway.freeMonthlyCalls;
  const used = thisMonth?.calls ?? 0;
  const planUse = async (scope: string) => gateway.limiter.used(id, scope, now);
  return {
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
  };
}
