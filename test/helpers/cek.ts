import { createHmac, createSign, generateKeyPairSync } from 'node:crypto';

/** A stand-in for CLOVA: an RSA key pair made at test time, whose public half the app is configured with. */
export function makeClovaSigner() {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign(body: string | Buffer): string {
      return createSign('RSA-SHA256').update(body).sign(privateKey, 'base64');
    },
  };
}
export type ClovaSigner = ReturnType<typeof makeClovaSigner>;

export function chatbotSignature(secret: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(body).digest('base64');
}

interface RequestOptions {
  extensionId: string;
  userId?: string;
  accessToken?: string;
  version?: string;
  sessionAttributes?: Record<string, unknown>;
}

function envelope(o: RequestOptions, request: Record<string, unknown>, session: 'normal' | 'null' = 'normal') {
  const user: Record<string, unknown> = { userId: o.userId ?? 'user-1' };
  if (o.accessToken !== undefined) user['accessToken'] = o.accessToken;
  return {
    version: o.version ?? '1.0',
    session: session === 'null' ? null : { new: true, sessionAttributes: o.sessionAttributes ?? {}, sessionId: 'sess-1', user },
    context: {
      System: {
        application: { applicationId: o.extensionId },
        device: { deviceId: 'device-1', display: { size: 'none' } },
        user,
      },
    },
    request,
  };
}

export const launchRequest = (o: RequestOptions) => envelope(o, { type: 'LaunchRequest', requestId: 'r-1', locale: 'ko-KR' });
export const intentRequest = (o: RequestOptions & { intent: string; slots?: Record<string, unknown> | null }) =>
  envelope(o, { type: 'IntentRequest', intent: { name: o.intent, slots: o.slots === undefined ? {} : o.slots } });
export const sessionEndedRequest = (o: RequestOptions) => envelope(o, { type: 'SessionEndedRequest' });
/** CEK's event timestamp: ISO 8601 in whole seconds (`2021-03-02T02:00:00Z`). */
export const cekTimestamp = (at: number = Date.now()): string => new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** An EventRequest sent now (`timestamp` defaults to the current second). */
export const eventRequest = (o: RequestOptions & { namespace: string; name: string; payload?: unknown; nullSession?: boolean; timestamp?: string }) =>
  envelope(
    o,
    { type: 'EventRequest', requestId: 'e-1', timestamp: o.timestamp ?? cekTimestamp(), event: { namespace: o.namespace, name: o.name, payload: o.payload ?? null } },
    o.nullSession === true ? 'null' : 'normal',
  );
