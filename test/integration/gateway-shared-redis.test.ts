import { randomBytes } from 'node:crypto';
import { adminApi } from '../helpers/adminApi.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { chatbotSignature, launchRequest } from '../helpers/cek.js';
import { clusterAvailable, openTestStore, postgresAvailable, redisAvailable, type StoreKindName, type TestStore } from '../helpers/stores.js';

/**
 * Issue 6: counting is exact across instances that share Redis, a Redis Cluster or PostgreSQL (issue
 * 15). Two app instances on one shared store, each with its own registry cache, counters and usage recorder.
 */
const sharedKinds: StoreKindName[] = [...(redisAvailable ? ['redis' as const] : []), ...(clusterAvailable ? ['cluster' as const] : []), ...(postgresAvailable ? ['postgres' as const] : [])];
if (sharedKinds.length === 0) console.log('gateway on two instances: skipped (no Redis or PostgreSQL in this run)');

describe.each(sharedKinds)('gateway on two instances sharing %s', (kind) => {
  let shared: TestStore;
  let a: TestApp;
  let b: TestApp;
  const admin = adminApi;

  beforeAll(async () => {
    // One store, one encryption key (the sealed Chatbot Secrets), two instances.
    shared = await openTestStore(kind, 'gw-shared');
    const encryptionKey = randomBytes(32).toString('base64');
    a = await startTestApp({ sharedStore: shared, encryptionKey });
    b = await startTestApp({ sharedStore: shared, encryptionKey, signer: a.signer });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await shared.cleanup();
  });

  async function extension(id: string, plan: object): Promise<{ secret: string; key: string }> {
    const created = await admin(a).post('/extensions', { extensionId: id, language: 'en' });
    expect(created.status).toBe(201);
    const key = await admin(a).post(`/extensions/${id}/keys`, { name: 'load' });
    expect(key.status).toBe(201);
    const settings = await admin(a).put(`/extensions/${id}/gateway`, { requireApiKey: true, usagePlan: plan });
    expect(settings.status).toBe(200);
    // Both instances see the new settings (pub/sub invalidation); wait until b refuses a keyless call.
    for (let i = 0; i < 50; i++) {
      const res = await fetch(`${b.url}/cek/${id}`, { method: 'POST', body: '{}' });
      if (res.status === 401 && ((await res.json()) as { error: { code: string } }).error.code === 'missing_api_key') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return { secret: created.body.chatbotSecret as string, key: key.body.primary.value as string };
  }

  function call(app: TestApp, id: string, secret: string, key: string): Promise<Response> {
    const raw = JSON.stringify(launchRequest({ extensionId: id }));
    return fetch(`${app.url}/cek/${id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-ncp-chatbot_signature': chatbotSignature(secret, raw), 'x-ncp-apigw-api-key': key },
      body: raw,
    });
  }

  test('1,000 concurrent calls over both instances against a day quota of 500 admit exactly 500', async () => {
    const id = 'com.example.quota';
    const { secret, key } = await extension(id, { dayQuota: 500 });
    const responses = await Promise.all(Array.from({ length: 1000 }, (_, i) => call(i % 2 === 0 ? a : b, id, secret, key)));
    const statuses = responses.map((r) => r.status);
    const refused = responses.filter((r) => r.status === 429);
    expect(statuses.filter((s) => s === 200)).toHaveLength(500);
    expect(refused).toHaveLength(500);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    const sample = refused[0]!;
    expect(((await sample.json()) as { error: { code: string } }).error.code).toBe('quota_exceeded');
    expect(Number(sample.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(sample.headers.get('ratelimit-limit')).toBe('500');
    expect(sample.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(sample.headers.get('ratelimit-reset'))).toBeLessThanOrEqual(86_400);
    await Promise.all(responses.map((r) => (r.bodyUsed ? undefined : r.body?.cancel())));

    // Both instances have flushed their usage within a second: the report adds them up exactly.
    await new Promise((r) => setTimeout(r, 1_300));
    const usage = await admin(b).get(`/extensions/${id}/usage`);
    const today = usage.body.days[usage.body.days.length - 1];
    expect(today.calls).toBe(500);
    expect(today.refused.quota_exceeded).toBe(500);
    expect(usage.body.usagePlan.counted).toEqual({ day: 500, month: 500 });
    expect(Object.values(today.byKey)).toEqual([500]);
  });

  test('a rate of 20 rps is held within 10 % over 5 seconds of continuous load on both instances', async () => {
    const id = 'com.example.rate';
    const { secret, key } = await extension(id, { rateRps: 20 });
    const admitted: number[] = [];
    /** Admitted calls that were sent and answered within one second: their window is certain. */
    const certain: number[] = [];
    let refused = 0;
    const started = Date.now();
    // Start half-way into a second, run for 6.5 s; count the admitted calls of a 5-second span that
    // starts 1 s in (past the first window's burst), half-way between window boundaries.
    const until = started + 6_500;
    const worker = async (app: TestApp) => {
      while (Date.now() < until) {
        const sent = Date.now();
        const res = await call(app, id, secret, key);
        await res.body?.cancel();
        const answered = Date.now();
        if (res.status === 200) {
          admitted.push(answered);
          if (Math.floor(sent / 1000) === Math.floor(answered / 1000)) certain.push(answered);
        } else if (res.status === 429) refused++;
        else throw new Error(`unexpected status ${res.status}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, (_, i) => worker(i % 2 === 0 ? a : b)));
    const spanStart = Math.floor(started / 1000) * 1000 + 1_500;
    const inSpan = admitted.filter((t) => t >= spanStart && t < spanStart + 5_000).length;
    expect(refused).toBeGreaterThan(100); // the load was well over the rate
    expect(inSpan).toBeGreaterThanOrEqual(90);
    expect(inSpan).toBeLessThanOrEqual(110);
    // And never more than 20 in any one second window, over the whole run. A call sent in one second
    // and answered in the next may have been admitted in either window (a busy machine delays
    // answers by more than a window's tail), so only calls sent and answered within one second count here.
    const perSecond = new Map<number, number>();
    for (const t of certain) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
    expect(certain.length).toBeGreaterThan(60);
    for (const n of perSecond.values()) expect(n).toBeLessThanOrEqual(20);
  }, 30_000);
});
