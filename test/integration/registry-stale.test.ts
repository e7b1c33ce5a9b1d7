import { randomBytes } from 'node:crypto';
import { ExtensionRegistry } from '../../src/extensions/registry.js';
import { createLogger } from '../../src/http/logger.js';
import { createMetrics } from '../../src/http/metrics.js';
import { Keyring } from '../../src/security/keyring.js';
import { createRedisStore } from '../../src/store/redisStore.js';
import { isStoreUnavailable } from '../../src/store/unavailable.js';
import { startPrivateRedis } from '../helpers/redisServer.js';
import { sleep, waitFor } from '../helpers/wait.js';

describe('extension registry while the store is down', () => {
  test('serves the last record read past its expiry (counted), fails only for IDs never read, and reads fresh once the store is back', async () => {
    const redis = await startPrivateRedis();
    const store = createRedisStore({ url: redis.url, prefix: 'stale:' });
    const metrics = createMetrics({ defaultMetrics: false });
    const registry = new ExtensionRegistry({ store, keyring: new Keyring([randomBytes(32)]), log: createLogger('silent'), metrics, cacheTtlMs: 50 });
    await registry.start();
    try {
      await registry.create({ extensionId: 'com.example.kept', name: 'Kept' });
      expect((await registry.resolve('com.example.kept'))?.record.name).toBe('Kept');

      await redis.kill();
      await sleep(200); // past the cache's expiry
      for (let i = 0; i < 3; i++) {
        const served = await registry.resolve('com.example.kept');
        expect(served?.record.name).toBe('Kept');
        expect(served?.liveSecrets()).toHaveLength(1);
      }
      expect((await metrics.staleExtensions.get()).values[0]?.value).toBeGreaterThanOrEqual(1);
      // Nothing to fall back on: the store's failure, which the HTTP layer answers with 503.
      expect(isStoreUnavailable(await registry.resolve('com.example.never').catch((e: unknown) => e))).toBe(true);
      expect(isStoreUnavailable(await registry.get('com.example.kept').catch((e: unknown) => e))).toBe(true);

      await redis.restart();
      await waitFor(async () => await registry.patch('com.example.kept', { name: 'Renamed' }).then(() => true), 10_000);
      await waitFor(async () => (await registry.resolve('com.example.kept'))?.record.name === 'Renamed', 5_000);
    } finally {
      await registry.stop().catch(() => undefined);
      await store.close();
      await redis.stop();
    }
  });
});
