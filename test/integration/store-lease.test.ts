import { Lease } from '../../src/store/lease.js';
import { keyOf } from '../../src/store/keys.js';
import { openTestStore, storeKinds, type TestStore } from '../helpers/stores.js';
import { sleep } from '../helpers/wait.js';

/** The store lease the keep-alive sweep runs under: one holder; another takes over when the holder stops renewing (it died). */
describe.each(storeKinds)('Lease on %s', (kind) => {
  let s: TestStore;
  beforeAll(async () => {
    s = await openTestStore(kind, 'lease');
  });
  afterAll(async () => {
    await s.cleanup();
  });

  const TTL = 2_000;

  test('one holder at a time; renewal keeps it; a holder that stops renewing loses it after the TTL, and then steps down', async () => {
    const key = keyOf('keepAliveLease', 'test');
    const a = new Lease(s.store, key, TTL);
    const b = new Lease(s.store, key, TTL);
    expect(await a.hold()).toBe(true);
    expect(await b.hold()).toBe(false);
    // Renewed past its first TTL: still a's (renewed every 250 ms; only a pause of a whole TTL could lose it).
    for (let i = 0; i < 10; i++) {
      await sleep(250);
      expect(await a.hold()).toBe(true);
      expect(await b.hold()).toBe(false);
    }
    // a dies (stops renewing): b takes over once the TTL has run out, and a cannot come back.
    await sleep(TTL + 300);
    expect(await b.hold()).toBe(true);
    expect(await a.hold()).toBe(false);
    // Release is compare-and-delete: a cannot release b's lease; b's release frees it.
    expect(await a.release()).toBe(false);
    expect(await b.release()).toBe(true);
    expect(await a.hold()).toBe(true);
  });
});
