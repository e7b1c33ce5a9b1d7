import { createRedisStore } from '../../src/store/redisStore.js';
import { adminApi } from '../helpers/adminApi.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { chatbotSignature, launchRequest } from '../helpers/cek.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redisServer.js';
import { sleep, waitFor } from '../helpers/wait.js';

/**
 * A stalled Redis (SIGSTOP) keeps the usage flush it was sent in its socket and runs it when it
 * resumes: the flush timed out here, so sending it again would count those calls twice. Every
 * call is counted exactly once: not retried when it may have landed, retried when it surely did not.
 */
const ID = 'com.example.usagestall';

describe('usage counts through a stalled Redis', () => {
  let redis: PrivateRedis;
  let app: TestApp;
  let secret: string;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    const store = createRedisStore({ url: redis.url, prefix: 'usagestall:' });
    app = await startTestApp({ sharedStore: { store }, label: 'usage-stall' });
    const created = await adminApi(app).post('/extensions', { extensionId: ID, language: 'en' });
    expect(created.status).toBe(201);
    secret = created.body.chatbotSecret as string;
  });
  afterAll(async () => {
    redis.resume();
    await app.close();
    await redis.stop();
  });

  const voice = async (): Promise<number> => {
    const raw = JSON.stringify(launchRequest({ extensionId: ID }));
    const res = await fetch(`${app.url}/cek/${ID}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-ncp-chatbot_signature': chatbotSignature(secret, raw) }, body: raw });
    await res.text();
    return res.status;
  };
  const calls = async (): Promise<number> => {
    const usage = (await adminApi(app).get(`/extensions/${ID}/usage`)).body as { days: Array<{ calls: number }> };
    return usage.days[usage.days.length - 1]?.calls ?? -1;
  };

  test('calls made before, during and after a stall are each counted once', async () => {
    for (let i = 0; i < 3; i++) expect(await voice()).toBe(200);
    expect(await calls()).toBe(3);

    redis.pause();
    // Voice answers from the registry's last copy; the counts wait in memory.
    for (let i = 0; i < 3; i++) expect(await voice()).toBe(200);
    // Several flushes meet the stalled server: the first is sent and times out, the later ones fail at once.
    await sleep(4_500);
    for (let i = 0; i < 2; i++) expect(await voice()).toBe(200);
    await sleep(1_500);
    redis.resume();

    for (let i = 0; i < 2; i++) expect(await voice()).toBe(200);
    // The report flushes first; a few seconds for the flushes kept while Redis was away.
    await waitFor(async () => (await calls()) >= 10, 15_000);
    await sleep(3_000);
    expect(await calls()).toBe(10);
  });
});
