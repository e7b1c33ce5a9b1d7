import { livePreviousSecrets, type ExtensionRecord } from '../../extensions/model.js';
import { DEFAULT_MESSAGES } from '../../extensions/messages.js';

/** The API shape of an extension: never the record as stored, never a secret. */
export function formatExtension(r: ExtensionRecord, publicUrl: string) {
  return {
    extensionId: r.extensionId,
    name: r.name,
    language: r.language,
    verification: r.verification,
    /** Each message as spoken in the extension's language: the developer's (one text or its variants) over the default. */
    messages: { ...DEFAULT_MESSAGES[r.language], ...r.messages },
    customMessages: Object.keys(r.messages),
    /** Messages for requests in other locales, as written (each over that locale's defaults). */
    locales: r.locales ?? {},
    variantSeed: r.variantSeed ?? null,
    allowPrivateTargets: r.allowPrivateTargets === true,
    invokeUrl: `${publicUrl}/cek/${r.extensionId}`,
    /** Metadata only; the value is shown once, in the create and rotate responses. */
    secret: {
      createdAt: r.secret.createdAt,
      // The last of the earlier secrets to stop working (each has its own end).
      previousExpiresAt: livePreviousSecrets(r).reduce<string | null>((latest, p) => (latest === null || Date.parse(p.expiresAt) > Date.parse(latest) ? p.expiresAt : latest), null),
    },
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

export type ExtensionView = ReturnType<typeof formatExtension>;
