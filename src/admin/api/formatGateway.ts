import type { ExtensionRecord } from '../../extensions/model.js';
import { maskedValue } from '../../gateway/keys.js';
import type { ApiKeyRecord, GatewaySection } from '../../gateway/model.js';

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

export type KeyView = ReturnType<typeof formatKey>;

/** The API shape of an extension's gateway settings: the verify token only as "set or not". */
export function formatGatewaySettings(r: ExtensionRecord, s: GatewaySection, o: { publicUrl: string; freeMonthlyCalls: number }) {
  return {
    extensionId: r.extensionId,
    requireApiKey: s.requireApiKey,
    usagePlan: s.usagePlan,
    messengerVerifyTokenSet: s.messengerVerifyTokenHash !== undefined,
    freeMonthlyCalls: s.freeMonthlyCalls ?? o.freeMonthlyCalls,
    freeMonthlyCallsOverridden: s.freeMonthlyCalls !== undefined,
    keyCount: s.keys.length,
    messengerUrl: `${o.publicUrl}/chatbot/${r.extensionId}`,
    swaggerUrl: `${o.publicUrl}/api/v1/extensions/${r.extensionId}/swagger.json`,
  };
}

export type GatewaySettingsView = ReturnType<typeof formatGatewaySettings>;
