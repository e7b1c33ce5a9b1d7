import { livePreviousSecrets, type ExtensionRecord } from '../../extensions/model.js';
import { resolveMessages } from '../../extensions/messages.js';

/** The API shape of an extension: never the record as stored, never a secret. */
export function formatExtension(r: ExtensionRecord, publicUrl: string) {
  return {
    extensionId: r.extensionId,
    name: r.name,
    language: r.language,
    verification: r.verification,
    messages: resolveMessages(r.language, r.messages),
    customMessages: Object.keys(r.messages),
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
