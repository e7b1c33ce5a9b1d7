import { readFileSync } from 'node:fs';
import request from 'supertest';
import { MAX_WRONG_PER_CLIENT } from '../../src/linking/attempts.js';
import { CODE_LENGTH, CODE_TTL_MS, GUESS_RATE_BOUND, PENDING_CODES_BOUND, takeoverChance } from '../../src/linking/pairing.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { FetchBrowser } from '../helpers/browser.js';
import { intentRequest } from '../helpers/cek.js';
import { startProvider, type TestProvider } from '../helpers/provider.js';
import { storeKinds } from '../helpers/stores.js';
import { tokenProbe, speechOf, spokenCode } from '../helpers/tokenProbe.js';

// Issue 13 item 7: a global cap on wrong codes (30 a minute) was checked before a code was
// redeemed, so a guesser on rotating addresses locked every genuine user out. Now a client that has
// not failed is never refused, and the code space keeps a many-address guesser below 1 %.
const EXT = 'com.example.guessed';

describe.each(storeKinds)('pairing-code guessing from many addresses (%s)', (kind) => {
  let app: TestApp;
  let provider: TestProvider;
  beforeAll(async () => {
    // One proxy hop is trusted, so each guess can come "from" its own address.
    app = await startTestApp({ store: kind, label: `pair-guess-${kind}`, responders: tokenProbe, env: { TRUST_PROXY: '1' } });
    provider = await startProvider({ clientAuth: 'basic', redirectUri: `${app.config.publicUrl}/oauth/callback` });
    await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: EXT, language: 'en' }).expect(201);
    await request(app.url)
      .put(`/api/v1/extensions/${EXT}/account-linking`)
      .set(app.adminHeaders)
      .send({ enabled: true, loginUrl: provider.authorizationUrl, tokenUrl: provider.tokenUrl, clientId: provider.clientId, clientSecret: provider.clientSecret, clientAuth: 'basic', scope: 'api' })
      .expect(200);
  });
  afterAll(async () => {
    await app.close();
    await provider.close();
  });

  const voice = (userId: string) => {
    const raw = JSON.stringify(intentRequest({ extensionId: EXT, intent: 'WhoAmI', userId }));
    return request(app.url).post(`/cek/${EXT}`).set('SignatureCEK', app.signer.sign(raw)).send(raw);
  };

  test('300 wrong codes from 60 addresses lock only those addresses; a fresh client with the right code links', async () => {
    const code = spokenCode(speechOf((await voice('genuine-user')).body));
    expect(code).toHaveLength(CODE_LENGTH);

    const form = await request(app.url).get('/link');
    const cookie = (form.headers['set-cookie'] as unknown as string[])[0]?.split(';')[0] ?? '';
    const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? '';
    const guess = (address: string, n: number) =>
      request(app.url)
        .post('/link')
        .set('x-forwarded-for', address)
        .set('cookie', cookie)
        .type('form')
        .send({ csrf, code: String(n).padStart(CODE_LENGTH, '7') });
    const statuses: number[] = [];
    for (let a = 0; a < 60; a++) {
      const results = await Promise.all(Array.from({ length: MAX_WRONG_PER_CLIENT + 1 }, (_, i) => guess(`198.51.100.${a + 1}`, a * 10 + i)));
      statuses.push(...results.map((r) => r.status));
    }
    // Each address: its 5 tries are looked at (the fifth answers "locked"), the sixth is refused.
    expect(statuses.filter((s) => s === 400)).toHaveLength(60 * (MAX_WRONG_PER_CLIENT - 1));
    expect(statuses.filter((s) => s === 429)).toHaveLength(60 * 2);
    expect((await guess('198.51.100.1', 999)).status).toBe(429);

    // The genuine user, on an address that has not failed: never refused, whatever others did.
    const browser = new FetchBrowser();
    const page = await browser.request(`${app.url}/link`);
    const started = await browser.request(`${app.url}/link`, { form: { csrf: /name="csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '', code } });
    expect(started.status).toBe(303);
    const callback = await browser.authorize(started.location!, `${app.config.publicUrl}/oauth/callback`);
    const done = await browser.request(`${app.url}${callback.pathname}${callback.search}`);
    expect(done.status).toBe(200);
    expect(done.text).toContain('Account linked');
    expect(speechOf((await voice('genuine-user')).body)).toMatch(/ token \S+$/);
  });
});

describe('the guessing arithmetic (README, "Pairing codes")', () => {
  test('unlimited addresses at the assumed rate take over any of 1,000 pending codes with < 1 % chance', () => {
    expect(PENDING_CODES_BOUND).toBe(1_000);
    const guesses = GUESS_RATE_BOUND * (CODE_TTL_MS / 1000);
    expect(takeoverChance()).toBeCloseTo((guesses * PENDING_CODES_BOUND) / 10 ** CODE_LENGTH, 12);
    expect(takeoverChance()).toBeLessThan(0.01);
  });

  test('the README states the same figures as the code', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const fmt = (n: number) => n.toLocaleString('en-US');
    expect(readme).toContain(`${CODE_LENGTH} digits`);
    // The link-ticket answer of the curl examples shows a code of that length too.
    const shown = [...readme.matchAll(/"code":"([^"]*)"/g)].map((m) => m[1]);
    expect(shown.length).toBeGreaterThan(0);
    for (const code of shown) expect(code).toMatch(new RegExp(`^[0-9]{${CODE_LENGTH}}$`));
    expect(readme).toContain(`${fmt(GUESS_RATE_BOUND)} × ${fmt(CODE_TTL_MS / 1000)} × ${fmt(PENDING_CODES_BOUND)} / 10^${CODE_LENGTH} = ${(takeoverChance() * 100).toFixed(1)} %`);
  });
});
