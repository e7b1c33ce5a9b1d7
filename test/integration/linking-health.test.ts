import { Writable } from 'node:stream';
import { createLogger } from '../../src/http/logger.js';
import { createMetrics } from '../../src/http/metrics.js';
import { LinkingHealth } from '../../src/linking/health.js';
import { openTestStore, storeKinds, type TestStore } from '../helpers/stores.js';

/**
 * The misconfigured mark of an extension's account linking, on each real store: a refused client is
 * noted and logged once a minute however many requests hit it, is seen by every instance, and is moot
 * once the settings change.
 */
describe.each(storeKinds)('LinkingHealth on %s', (kind) => {
  let shared: TestStore;
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  const metrics = createMetrics({ defaultMetrics: false });
  let health: LinkingHealth;

  beforeAll(async () => {
    shared = await openTestStore(kind, 'link-health');
    health = new LinkingHealth({ store: shared.store, log: createLogger('info', sink), metrics });
  });
  afterAll(async () => {
    await shared.cleanup();
  });

  const warnings = (): string[] => lines.filter((l) => l.includes('account linking misconfigured'));

  test('a hundred refusals make one mark and one log line; another instance sees it; new settings make it moot; healing clears it', async () => {
    for (let i = 0; i < 100; i++) await health.clientRejected('com.example.health', 'v1', 'invalid_client (HTTP 401)');
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toContain('invalid_client (HTTP 401)');
    expect((await metrics.linkingMisconfigured.get()).values[0]?.value).toBe(1);

    const other = new LinkingHealth({ store: shared.store, log: createLogger('silent'), metrics: createMetrics({ defaultMetrics: false }) });
    expect(await other.read('com.example.health', 'v1')).toMatchObject({ reason: 'invalid_client (HTTP 401)', settingsVersion: 'v1' });
    // Settings saved since (another version): the mark does not apply to them.
    expect(await other.read('com.example.health', 'v2')).toBeUndefined();

    // A refusal under new settings is news: noted and logged again at once.
    await health.clientRejected('com.example.health', 'v2', 'unauthorized_client (HTTP 400)');
    expect(warnings()).toHaveLength(2);

    await other.healed('com.example.health');
    expect(await health.read('com.example.health', 'v2')).toBeUndefined();
    await health.healed('com.example.health');
    expect((await metrics.linkingMisconfigured.get()).values[0]?.value).toBe(0);
  });
});
