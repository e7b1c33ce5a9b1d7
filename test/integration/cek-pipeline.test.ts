import request from 'supertest';
import { StoreUnavailableError } from '../../src/store/unavailable.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { chatbotSignature, intentRequest } from '../helpers/cek.js';

/**
 * The voice door and the messenger door run one pipeline: a responder that fails after a genuine
 * request was verified gets the spoken `error` message on both doors, never a 5xx.
 */
describe('one CEK pipeline behind both doors', () => {
  let app: TestApp;
  let secret: string;
  const ID = 'com.example.pipeline';
  const ERROR_TEXT = 'Sorry, something broke on our side.';

  beforeAll(async () => {
    app = await startTestApp({
      label: 'pipeline',
      responders: () => [
        async (ctx) => {
          if (ctx.cek.intentName === 'Explode' || ctx.cek.raw.toString('utf8').includes('explode')) throw new Error('responder failed on purpose');
          if (ctx.cek.intentName === 'StoreDown') throw new StoreUnavailableError('the store does not answer');
          return undefined;
        },
      ],
    });
    const created = await request(app.url)
      .post('/api/v1/extensions')
      .set(app.adminHeaders)
      .send({ extensionId: ID, language: 'en', messages: { error: ERROR_TEXT } });
    expect(created.status).toBe(201);
    secret = created.body.chatbotSecret as string;
  });
  afterAll(async () => {
    await app.close();
  });

  test('voice: a failing responder answers 200 with the error message', async () => {
    const raw = JSON.stringify(intentRequest({ extensionId: ID, intent: 'Explode' }));
    const res = await request(app.url).post(`/cek/${ID}`).set('content-type', 'application/json').set('X-NCP-CHATBOT_SIGNATURE', chatbotSignature(secret, raw)).send(raw);
    expect(res.status).toBe(200);
    expect(res.body.response.outputSpeech.values.value).toBe(ERROR_TEXT);
    expect(res.body.response.shouldEndSession).toBe(true);
  });

  test('a store that fails inside a responder is the spoken error too, counted as store_unavailable, not internal_error', async () => {
    const raw = JSON.stringify(intentRequest({ extensionId: ID, intent: 'StoreDown' }));
    const res = await request(app.url).post(`/cek/${ID}`).set('content-type', 'application/json').set('X-NCP-CHATBOT_SIGNATURE', chatbotSignature(secret, raw)).send(raw);
    expect(res.status).toBe(200);
    expect(res.body.response.outputSpeech.values.value).toBe(ERROR_TEXT);
    const counted = (await app.services.metrics.cekRequests.get()).values.filter((v) => v.labels['type'] === 'IntentRequest');
    expect(counted.find((v) => v.labels['outcome'] === 'store_unavailable')?.value).toBe(1);
  });

  test('messenger: a failing responder answers 200 with the error message as a text bubble', async () => {
    const raw = JSON.stringify({ version: 'v2', userId: 'u1', timestamp: 1614650142000, bubbles: [{ type: 'text', data: { description: 'explode' } }], event: 'send' });
    const res = await request(app.url).post(`/chatbot/${ID}`).set('content-type', 'application/json').set('X-NCP-CHATBOT_SIGNATURE', chatbotSignature(secret, raw)).send(raw);
    expect(res.status).toBe(200);
    expect(res.body.bubbles).toEqual([{ type: 'text', data: { description: ERROR_TEXT } }]);
  });
});
