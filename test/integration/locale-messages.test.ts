import request from 'supertest';
import { DEFAULT_MESSAGES } from '../../src/extensions/messages.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { adminApi } from '../helpers/adminApi.js';
import { chatbotSignature, intentRequest, launchRequest } from '../helpers/cek.js';
import { storeKinds } from '../helpers/stores.js';

/** Per-locale messages and variants (issue 17): the answer follows request.locale, then the extension's language. */
describe.each(storeKinds)('per-locale messages and variants on %s', (kind) => {
  let app: TestApp;
  let secret: string;
  const ID = 'com.example.locales';

  const speak = async (body: { request: Record<string, unknown> }, locale: string | undefined) => {
    if (locale === undefined) delete body.request['locale'];
    else body.request['locale'] = locale;
    const raw = JSON.stringify(body);
    const res = await request(app.url).post(`/cek/${ID}`).set('content-type', 'application/json').set('X-NCP-CHATBOT_SIGNATURE', chatbotSignature(secret, raw)).send(raw);
    expect(res.status).toBe(200);
    const values = res.body.response.outputSpeech.values as { lang: string; value: string };
    return [values.value, values.lang];
  };
  const launch = (locale: string | undefined) => speak(launchRequest({ extensionId: ID }), locale);
  const unmapped = (locale: string | undefined) => speak(intentRequest({ extensionId: ID, intent: 'Nothing' }), locale);

  beforeAll(async () => {
    app = await startTestApp({ store: kind, label: 'locales' });
    const created = await adminApi(app).post('/extensions', {
      extensionId: ID,
      language: 'ko',
      messages: { welcome: ['안녕 하나', '안녕 둘', '안녕 셋'] },
      locales: { 'ja-JP': { welcome: 'ようこそ', fallback: ['わかりません一', 'わかりません二'] } },
      variantSeed: 0,
    });
    expect(created.status).toBe(201);
    expect(created.body.messages.welcome).toEqual(['안녕 하나', '안녕 둘', '안녕 셋']);
    expect(created.body.locales).toEqual({ 'ja-JP': { welcome: 'ようこそ', fallback: ['わかりません一', 'わかりません二'] } });
    secret = created.body.chatbotSecret as string;
  });
  afterAll(async () => {
    await app.close();
  });

  test('variants go round-robin from the seed, in the extension’s language when the locale is not declared', async () => {
    expect(await launch('ko-KR')).toEqual(['안녕 하나', 'ko']);
    expect(await launch('ko-KR')).toEqual(['안녕 둘', 'ko']);
    expect(await launch(undefined)).toEqual(['안녕 셋', 'ko']);
    expect(await launch('en-US')).toEqual(['안녕 하나', 'ko']);
  });

  test('a declared locale answers in its language; a key it leaves out is that language’s default', async () => {
    expect(await launch('ja-JP')).toEqual(['ようこそ', 'ja']);
    expect(await unmapped('ja-JP')).toEqual(['わかりません一', 'ja']);
    expect(await unmapped('ja-JP')).toEqual(['わかりません二', 'ja']);
    expect(await unmapped('ko-KR')).toEqual([DEFAULT_MESSAGES.ko.fallback, 'ko']);
  });

  test('PATCH adds and removes locales; bad input is a clear 400', async () => {
    const patched = await adminApi(app).patch(`/extensions/${ID}`, { locales: { 'en-US': { welcome: 'Hello there' }, 'ja-JP': null } });
    expect(patched.status).toBe(200);
    expect(Object.keys(patched.body.locales)).toEqual(['en-US']);
    expect(await launch('en-US')).toEqual(['Hello there', 'en']);
    expect((await launch('ja-JP'))[1]).toBe('ko');

    for (const body of [
      { locales: { 'fr-FR': { welcome: 'Bonjour' } } },
      { messages: { welcome: [] } },
      { messages: { welcome: Array.from({ length: 11 }, (_, i) => `v${i}`) } },
      { variantSeed: -1 },
    ]) {
      const res = await adminApi(app).patch(`/extensions/${ID}`, body);
      expect([res.status, res.body.error.code]).toEqual([400, 'invalid_body']);
    }
  });
});
