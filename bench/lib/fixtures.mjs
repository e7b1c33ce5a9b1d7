// What every scenario sends and expects: the extension and the linked user, the signed CEK request
// of about 1.5 KB, the CEK response our service must give for it, and the sealed token record of the
// `floor` and `typical` baselines. Fresh keys and tokens for each run.
import { createCipheriv, createHmac, createSign, generateKeyPairSync, randomBytes } from 'node:crypto';

export const EXT_ID = 'com.example.bench';
export const USER_ID = 'bench-user-7f3a9c';
export const TOKEN = `bench-access-${randomBytes(16).toString('hex')}`;
export const SPEECH = 'You have 120 points.';
export const ENCRYPTION_KEY = randomBytes(32).toString('base64');
export const ADMIN_TOKEN = randomBytes(24).toString('hex');
export const SEAL_KEY = randomBytes(32);

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
/** The CEK public key (PEM) the servers verify SignatureCEK with. */
export const PUBLIC_KEY_PEM = publicKey.export({ type: 'spki', format: 'pem' });

/** A CEK IntentRequest of about 1.5 KB, like a linked user's request from a display speaker. */
function cekBody() {
  const user = { userId: USER_ID, accessToken: undefined };
  const body = {
    version: '1.0',
    session: { new: false, sessionAttributes: { lastIntent: 'Greeting', visits: 3, cart: ['coffee', 'bagel'] }, sessionId: 'a29cfead-c5ba-474d-8745-6c1a6625f0c5', user: { userId: USER_ID } },
    context: {
      System: {
        application: { applicationId: EXT_ID },
        device: {
          deviceId: '096e6b27-1717-33e9-b0a7-510a48658a9b',
          display: { size: 'l100', orientation: 'landscape', dpi: 96, contentLayer: { width: 640, height: 360 } },
        },
        user,
      },
      AudioPlayer: { offsetInMilliseconds: 0, playerActivity: 'IDLE', stream: null, totalInMilliseconds: 0 },
    },
    request: {
      type: 'IntentRequest',
      requestId: 'f3b1a76c-2b1d-4f6a-9c3e-2f1d9a7b6c5e',
      timestamp: '2026-11-23T19:40:00Z',
      locale: 'ko-KR',
      extensionId: EXT_ID,
      intent: {
        intent: 'CheckPoints',
        name: 'CheckPoints',
        slots: {
          store: { name: 'store', value: '강남점', valueType: 'TEXT' },
          period: { name: 'period', value: '2026-11', valueType: 'DATE' },
          category: { name: 'category', value: 'coffee', valueType: 'TEXT' },
        },
      },
      event: { namespace: '', name: '', payload: null },
    },
  };
  let text = JSON.stringify(body);
  // Pad with a realistic field to ~1.5 KB (PERFORMANCE.md's request size).
  body.context.System.device.display.padding = 'x'.repeat(Math.max(0, 1500 - Buffer.byteLength(text) - 14));
  text = JSON.stringify(body);
  return Buffer.from(text);
}
export const BODY = cekBody();
export const SIGNATURE_CEK = createSign('RSA-SHA256').update(BODY).sign(privateKey, 'base64');
export const chatbotSignatureOf = (secret, body) => createHmac('sha256', secret).update(body).digest('base64');
export const chatbotSignature = (secret) => chatbotSignatureOf(secret, BODY);

/** The headers of a voice request signed for an extension whose Chatbot Secret is `secret`. */
export const signedHeaders = (secret) => ({ 'content-type': 'application/json', signaturecek: SIGNATURE_CEK, 'x-ncp-chatbot_signature': chatbotSignature(secret) });

/** A reply carries the target's speech. */
export const verifyBody = (body) => body.includes(SPEECH);

export const expectedReply = JSON.stringify({
  version: '1.0',
  sessionAttributes: {},
  response: { outputSpeech: { type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'en', value: SPEECH } }, card: {}, directives: [], shouldEndSession: true },
});

/** The token record of floor/typical: AES-256-GCM sealed, bound to the user (AAD), JSON like ours. */
export function floorRecord() {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', SEAL_KEY, iv);
  cipher.setAAD(Buffer.from(`token:${USER_ID}`));
  const ct = Buffer.concat([cipher.update(JSON.stringify({ accessToken: TOKEN, refreshToken: 'bench-refresh-token' })), cipher.final()]);
  const sealed = Buffer.concat([iv, ct, cipher.getAuthTag()]).toString('base64url');
  return JSON.stringify({ v: 1, sealed, expiresAt: Date.now() + 86_400_000, scope: 'points', tokenType: 'Bearer', linkedAt: new Date().toISOString(), status: 'linked' });
}
