import request from 'supertest';
import { closeGracefully } from '../../src/http/shutdown.js';
import { startTestApp } from '../helpers/app.js';
import { launchRequest } from '../helpers/cek.js';

describe('operations', () => {
  test('/healthz and /readyz answer; /readyz is 503 once the store is down', async () => {
    const app = await startTestApp({ label: 'ops' });
    try {
      expect((await request(app.url).get('/healthz')).body).toEqual({ status: 'ok' });
      expect((await request(app.url).get('/readyz')).body).toEqual({ status: 'ready', store: 'sqlite' });
      await app.store.close();
      const down = await request(app.url).get('/readyz');
      expect(down.status).toBe(503);
      expect(down.body.error.code).toBe('store_unavailable');
      expect((await request(app.url).get('/healthz')).status).toBe(200);
      // The admin API says the same, not 500.
      const api = await request(app.url).get('/api/v1/extensions').set(app.adminHeaders);
      expect(api.status).toBe(503);
      expect(api.body.error.code).toBe('store_unavailable');
    } finally {
      await app.close().catch(() => undefined);
    }
  });

  test('/metrics is Prometheus text with the request counters', async () => {
    const app = await startTestApp({ label: 'metrics' });
    try {
      await request(app.url).get('/api/v1/extensions').set(app.adminHeaders);
      const res = await request(app.url).get('/metrics');
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.text).toMatch(/cekgw_http_requests_total\{route="\/api\/v1\/extensions",method="GET",status="200",outcome="ok"\} 1/);
      expect(res.text).toContain('cekgw_http_request_duration_seconds_bucket');
    } finally {
      await app.close();
    }
  });

  test('graceful shutdown lets an in-flight CEK request finish and refuses new connections', async () => {
    const app = await startTestApp({
      label: 'shutdown',
      responders: () => [
        async () => {
          await new Promise((r) => setTimeout(r, 400));
          return undefined;
        },
      ],
    });
    const created = await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: 'com.example.slow' });
    expect(created.status).toBe(201);
    const raw = JSON.stringify(launchRequest({ extensionId: 'com.example.slow' }));
    const inFlight = fetch(`${app.url}/cek/com.example.slow`, { method: 'POST', body: raw, headers: { SignatureCEK: app.signer.sign(raw) } });
    await new Promise((r) => setTimeout(r, 100));
    const closed = closeGracefully(app.server, 5000);
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { response: { shouldEndSession: boolean } }).response.shouldEndSession).toBe(false);
    await closed;
    await expect(fetch(`${app.url}/healthz`)).rejects.toThrow();
    await app.close().catch(() => undefined);
  });
});
