import { z } from 'zod';
import type { ExtensionRecord } from '../extensions/model.js';
import { CONTROL_CHARS_MESSAGE, noControlChars, notReservedName, RESERVED_NAME_MESSAGE } from '../http/validate.js';

/**
 * Gateway settings of an extension (DESIGN.md section 8). They live in the extension's `gateway`
 * section, so the request path reads them from the registry's in-process cache, never the store.
 * API keys are kept there too, as SHA-256 hashes only: an extension has a handful of keys, and
 * comparing the presented key's hash with each of them costs microseconds.
 */
export const GATEWAY_SECTION = 'gateway';

/** The header callers put their API key in (the name NAVER's API Gateway uses). */
export const API_KEY_HEADER = 'x-ncp-apigw-api-key';

/** NCP's API Gateway: "the first 1,000,000 calls a month are free" (cek-protocol.md section 8.2). */
export const DEFAULT_FREE_MONTHLY_CALLS = 1_000_000;

/** Keys are stored on the extension record, which every cache miss reads: keep it small. */
export const MAX_KEYS = 20;

/** NCP's own bound for `rateRps` and the quotas (a signed 32-bit integer). */
const MAX_LIMIT = 2_147_483_647;

export const RESPONSE_CLASSES = ['2xx', '3xx', '4xx', '5xx'] as const;
export type ResponseClass = (typeof RESPONSE_CLASSES)[number];

export interface UsagePlan {
  /** Requests a second, counted in one-second UTC windows. */
  rateRps?: number;
  /** Calls a UTC day. */
  dayQuota?: number;
  /** Calls a UTC calendar month. */
  monthQuota?: number;
  /** Which responses count against the quotas; every response when left out. */
  quotaCondition?: ResponseClass[];
}

/** One value of a key: its hash, and the last 4 characters to tell keys apart in listings. */
export interface KeyValueRecord {
  hash: string;
  hint: string;
  createdAt: string;
}

export interface ApiKeyRecord {
  /** Stable across regeneration: usage and quota counters are keyed by it. */
  id: string;
  name: string;
  enabled: boolean;
  primary: KeyValueRecord;
  secondary: KeyValueRecord;
  /** Replaces the extension's plan for the calls made with this key (counted per key). */
  usagePlan: UsagePlan | null;
  createdAt: string;
  updatedAt: string;
}

/** What the `gateway` section holds. */
declare module '../extensions/model.js' {
  interface ExtensionSections {
    gateway: GatewaySection;
  }
}

export interface GatewaySection {
  requireApiKey: boolean;
  usagePlan: UsagePlan | null;
  /** SHA-256 of the messenger webhook verify token (`hub.verify_token`); write-only in the API. */
  messengerVerifyTokenHash?: string;
  /** Overrides the service-wide free allowance for this extension. */
  freeMonthlyCalls?: number;
  keys: ApiKeyRecord[];
}

export const EMPTY_SECTION: Readonly<GatewaySection> = Object.freeze({ requireApiKey: false, usagePlan: null, keys: [] });

/** The section of a stored record (a fresh copy: callers may change it). */
export function gatewaySectionOf(record: ExtensionRecord): GatewaySection {
  const raw = record.sections[GATEWAY_SECTION];
  return {
    ...(structuredClone(EMPTY_SECTION) as GatewaySection),
    ...(raw === undefined ? {} : structuredClone(raw)),
  };
}

const limit = z.number().int('must be an integer').min(1, 'must be at least 1').max(MAX_LIMIT, `must be at most ${MAX_LIMIT}`);

export const usagePlanInput = z
  .object({
    rateRps: limit.optional(),
    dayQuota: limit.optional(),
    monthQuota: limit.optional(),
    quotaCondition: z
      .array(z.enum(RESPONSE_CLASSES))
      .min(1, 'must name at least one response class (or be left out: every response counts)')
      .refine((a) => new Set(a).size === a.length, 'must not repeat a class')
      .optional(),
  })
  .strict()
  .refine((p) => p.rateRps !== undefined || p.dayQuota !== undefined || p.monthQuota !== undefined, {
    message: 'must set at least one of rateRps, dayQuota, monthQuota (or be null for no plan)',
  })
  .refine((p) => p.dayQuota === undefined || p.monthQuota === undefined || p.monthQuota >= p.dayQuota, {
    path: ['monthQuota'],
    message: 'must be at least dayQuota (a month has every day in it)',
  });

export const gatewaySettingsInput = z
  .object({
    requireApiKey: z.boolean().optional(),
    usagePlan: usagePlanInput.nullable().optional(),
    /** `null` removes it (the verification route then answers 403). */
    messengerVerifyToken: z.string().min(8, 'must be at least 8 characters').max(256, 'must be at most 256 characters').nullable().optional(),
    /** `null` returns to the service default. */
    freeMonthlyCalls: z.number().int('must be an integer').min(0, 'must not be negative').max(Number.MAX_SAFE_INTEGER).nullable().optional(),
  })
  .strict();

// Keys are matched by name in configuration files (cli/document.ts): a name is a key of an object there.
const keyName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .refine(noControlChars(false), CONTROL_CHARS_MESSAGE)
  .refine(notReservedName, RESERVED_NAME_MESSAGE);

export const createKeyInput = z
  .object({
    name: keyName,
    usagePlan: usagePlanInput.nullable().optional(),
  })
  .strict();

export const patchKeyInput = z
  .object({
    name: keyName.optional(),
    enabled: z.boolean().optional(),
    usagePlan: usagePlanInput.nullable().optional(),
  })
  .strict();

export const regenerateKeyInput = z
  .object({
    which: z.enum(['primary', 'secondary'], { error: 'must be "primary" or "secondary"' }),
  })
  .strict();

export type GatewaySettingsInput = z.infer<typeof gatewaySettingsInput>;

/** A plan as validated input, without the `undefined`s zod leaves (exactOptionalPropertyTypes). */
export function cleanPlan(p: z.infer<typeof usagePlanInput> | null | undefined): UsagePlan | null {
  if (p === null || p === undefined) return null;
  const plan: UsagePlan = {};
  if (p.rateRps !== undefined) plan.rateRps = p.rateRps;
  if (p.dayQuota !== undefined) plan.dayQuota = p.dayQuota;
  if (p.monthQuota !== undefined) plan.monthQuota = p.monthQuota;
  if (p.quotaCondition !== undefined) plan.quotaCondition = [...p.quotaCondition].sort();
  return plan;
}

export function responseClassOf(status: number): ResponseClass | undefined {
  if (status >= 200 && status < 300) return '2xx';
  if (status >= 300 && status < 400) return '3xx';
  if (status >= 400 && status < 500) return '4xx';
  if (status >= 500 && status < 600) return '5xx';
  return undefined;
}
