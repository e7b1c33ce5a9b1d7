import { openPostgresStore } from '../../src/store/postgresStore.js';
import { adminApi } from '../helpers/adminApi.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { dropPostgresSchema, postgresAvailable, postgresUrl, uniqueSchema } from '../helpers/stores.js';
import { startTcpProxy } from '../helpers/tcpProxy.js';

/**
 * The service on PostgreSQL while the server goes away: readiness and the admin API answer 503
 * store_unavailable (never 500), and everything answers again once it is back. The server is
 * "taken away" by cutting a TCP proxy in front of it, so the shared server is never touched.
 */
const describePostgres = postgresAvailable ? describe : describe.skip;

describePostgres('the service on PostgreSQL during an outage', () => {
  test('503 store_unavailable while the server is away, 200 again when it is back', async () => {
    const proxy = await startTcpProxy(postgresUrl());
    const schema = uniqueSchema('outage-http');
    const store = await openPostgresStore({ url: proxy.url, schema, poolSize: 2, connectTimeoutMs: 1_000 });
    let app: TestApp | undefined;
    try {
      app = await startTestApp({ sharedStore: { store } });
      const admin = adminApi(app);
      expect((await admin.post('/extensions', { extensionId: 'com.example.outage', language: 'en' })).status).toBe(201);
      expect((await fetch(`${app.url}/readyz`)).status).toBe(200);

      await proxy.stop();
      const ready = await fetch(`${app.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { error: { code: string } }).error.code).toBe('store_unavailable');
      const created = await admin.post('/extensions', { extensionId: 'com.example.during', language: 'en' });
      expect(created.status).toBe(503);
      expect(created.body.error.code).toBe('store_unavailable');
      expect(JSON.stringify(created.body)).not.toContain('127.0.0.1');

      await proxy.start();
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = (await fetch(`${app.url}/readyz`)).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(200);
      const listed = await admin.get('/extensions');
      expect(listed.status).toBe(200);
      expect(JSON.stringify(listed.body)).toContain('com.example.outage');
    } finally {
      await app?.close();
      await store.close();
      await proxy.stop();
      await dropPostgresSchema(schema);
    }
  });
});
