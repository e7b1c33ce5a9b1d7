import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CLOVA_SIGNATURE_PUBLIC_KEY } from '../../src/cek/clovaPublicKey.js';
import { verifyCekRequest, verifyCekSignature, verifyChatbotSignature } from '../../src/cek/verify.js';
import { type AppError } from '../../src/http/errors.js';
import { chatbotSignature, makeClovaSigner } from '../helpers/cek.js';

const genuine = JSON.parse(readFileSync(new URL('../fixtures/genuine-signed-request.json', import.meta.url), 'utf8')) as {
  body: string;
  signatureCEK: string;
};
const clovaKey = createPublicKey(CLOVA_SIGNATURE_PUBLIC_KEY);

describe('SignatureCEK', () => {
  test('a request signed by CLOVA itself verifies with the bundled key', () => {
    expect(verifyCekSignature(Buffer.from(genuine.body, 'utf8'), genuine.signatureCEK, clovaKey)).toBe(true);
  });

  test('one changed byte, one added space, or re-serialised JSON fails', () => {
    const raw = Buffer.from(genuine.body, 'utf8');
    const flipped = Buffer.from(raw);
    flipped[40] = (flipped[40] ?? 0) ^ 1;
    expect(verifyCekSignature(flipped, genuine.signatureCEK, clovaKey)).toBe(false);
    expect(verifyCekSignature(Buffer.from(genuine.body.replace('{"version"', '{ "version"')), genuine.signatureCEK, clovaKey)).toBe(false);
    expect(verifyCekSignature(Buffer.from(JSON.stringify(JSON.parse(genuine.body), null, 1)), genuine.signatureCEK, clovaKey)).toBe(false);
  });

  test('a signature from another key, a truncated one, or non-base64 text fails without throwing', () => {
    const other = makeClovaSigner();
    const raw = Buffer.from(genuine.body, 'utf8');
    expect(verifyCekSignature(raw, other.sign(raw), clovaKey)).toBe(false);
    expect(verifyCekSignature(raw, genuine.signatureCEK.slice(0, 100), clovaKey)).toBe(false);
    expect(verifyCekSignature(raw, '%%% not base64 %%%', clovaKey)).toBe(false);
    expect(verifyCekSignature(raw, '', clovaKey)).toBe(false);
  });
});

describe('X-NCP-CHATBOT_SIGNATURE', () => {
  const raw = Buffer.from('{"a":1}');
  test('matches any live secret, not others', () => {
    expect(verifyChatbotSignature(raw, chatbotSignature('s1', raw), ['s0', 's1'])).toBe(true);
    expect(verifyChatbotSignature(raw, chatbotSignature('s2', raw), ['s0', 's1'])).toBe(false);
    expect(verifyChatbotSignature(raw, chatbotSignature('s1', '{"a":2}'), ['s1'])).toBe(false);
    expect(verifyChatbotSignature(raw, 's1', ['s1'])).toBe(false); // the raw secret is not a signature
  });
});

describe('verifyCekRequest policy', () => {
  const signer = makeClovaSigner();
  const key = createPublicKey(signer.publicKeyPem);
  const raw = Buffer.from('{"x":1}');
  const good = { signaturecek: signer.sign(raw), 'x-ncp-chatbot_signature': chatbotSignature('sec', raw) };
  const bad = { signaturecek: signer.sign('other'), 'x-ncp-chatbot_signature': chatbotSignature('nope', raw) };
  const run = (headers: Record<string, string>, mode: 'any' | 'cekSignature' | 'chatbotSecret' | 'both') => {
    try {
      verifyCekRequest(raw, headers, mode, key, () => ['sec']);
      return 'ok';
    } catch (err) {
      return (err as AppError).code;
    }
  };

  test.each([
    ['any', {}, 'missing_signature'],
    ['any', { signaturecek: good.signaturecek }, 'ok'],
    ['any', { 'x-ncp-chatbot_signature': good['x-ncp-chatbot_signature'] }, 'ok'],
    ['any', { signaturecek: good.signaturecek, 'x-ncp-chatbot_signature': bad['x-ncp-chatbot_signature'] }, 'invalid_signature'],
    ['any', { signaturecek: bad.signaturecek }, 'invalid_signature'],
    ['cekSignature', { 'x-ncp-chatbot_signature': good['x-ncp-chatbot_signature'] }, 'missing_signature'],
    ['cekSignature', { signaturecek: good.signaturecek, 'x-ncp-chatbot_signature': 'ignored' }, 'ok'],
    ['chatbotSecret', { signaturecek: good.signaturecek }, 'missing_signature'],
    ['chatbotSecret', { 'x-ncp-chatbot_signature': good['x-ncp-chatbot_signature'] }, 'ok'],
    ['both', { signaturecek: good.signaturecek }, 'missing_signature'],
    ['both', good, 'ok'],
    ['both', { ...good, signaturecek: bad.signaturecek }, 'invalid_signature'],
  ] as const)('mode %s with %j → %s', (mode, headers, expected) => {
    expect(run(headers, mode)).toBe(expected);
  });
});
