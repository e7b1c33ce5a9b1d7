import type { Browser, Page } from 'playwright-core';
import request from 'supertest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { intentRequest } from '../helpers/cek.js';
import { describeWithBrowser, launchChromium, PHONE, saveScreenshot } from '../helpers/chromium.js';
import { startProvider, type TestProvider } from '../helpers/provider.js';
import { tokenProbe, speechOf, spokenCode } from '../helpers/tokenProbe.js';

/**
 * Account linking in a real headless Chromium at phone size: voice request → code spoken → code
 * typed on /link → provider login and consent → success page → next voice request carries the token.
 * Screenshots of each page go to test-artifacts/screenshots/linking-*.png.
 */
const EXT = 'com.example.phone';

describeWithBrowser('the browser test of account linking')('account linking in Chromium (phone-sized window)', () => {
  let app: TestApp;
  let provider: TestProvider;
  let browser: Browser;
  let page: Page;
  // Phone width only (a touch device's context): saveScreenshots would switch the viewport to desktop and back.
  const shot = (name: string) => saveScreenshot(page, `linking-${name}`);

  beforeAll(async () => {
    app = await startTestApp({ label: 'linking-e2e', realPublicUrl: true, responders: tokenProbe });
    provider = await startProvider({ clientAuth: 'basic', redirectUri: `${app.config.publicUrl}/oauth/callback` });
    await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: EXT, name: 'Points', language: 'en' }).expect(201);
    await request(app.url)
      .put(`/api/v1/extensions/${EXT}/account-linking`)
      .set(app.adminHeaders)
      .send({
        enabled: true,
        loginUrl: provider.authorizationUrl,
        tokenUrl: provider.tokenUrl,
        revocationUrl: provider.revocationUrl,
        clientId: provider.clientId,
        clientSecret: provider.clientSecret,
        scope: 'api',
        loginSuccessMessage: 'Your Points account is linked. Ask me for your balance.',
      })
      .expect(200);
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    page = await context.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await provider?.close();
  });

  test('voice → code → phone → provider login and consent → success → the next voice request has the token', async () => {
    const voice = async () => {
      const raw = JSON.stringify(intentRequest({ extensionId: EXT, intent: 'WhoAmI', userId: 'phone-user' }));
      return speechOf((await request(app.url).post(`/cek/${EXT}`).set('SignatureCEK', app.signer.sign(raw)).send(raw)).body);
    };
    const prompt = await voice();
    expect(prompt).toContain(`${app.config.publicUrl}/link`);
    const code = spokenCode(prompt);

    await page.goto(`${app.config.publicUrl}/link`);
    await shot('1-enter-code');
    await page.fill('#code', '111111111111');
    await page.click('button[type=submit]');
    await containsText(page.locator('#error'), 'That code did not work');
    await shot('2-wrong-code');

    await page.fill('#code', code.replace(/(\d{3})(?=\d)/g, '$1 '));
    await Promise.all([page.waitForURL((u) => u.href.startsWith(provider.issuer)), page.click('button[type=submit]')]);
    await shot('3-provider-login');
    await page.fill('input[name=login]', 'alice');
    await page.fill('input[name=password]', 'secret');
    await Promise.all([page.waitForLoadState(), page.click('button[type=submit]')]);
    await page.waitForSelector('button[type=submit]');
    await shot('4-provider-consent');
    await Promise.all([page.waitForURL((u) => u.href.startsWith(`${app.config.publicUrl}/oauth/callback`)), page.click('button[type=submit]')]);
    await hasText(page.locator('h1'), 'Account linked');
    await hasText(page.locator('#message'), 'Your Points account is linked. Ask me for your balance.');
    await shot('5-success');

    expect(await voice()).toMatch(/^Your Points account is linked\. Ask me for your balance\. token \S+$/);
    expect(await voice()).toMatch(/^token \S+$/);

    await page.click('#unlink');
    await shot('6-unlink-confirm');
    await page.click('button[type=submit]');
    await hasText(page.locator('h1'), 'Account unlinked');
    await shot('7-unlinked');
    expect(await voice()).toMatch(/code \d \d \d, \d \d \d, \d \d \d, \d \d \d/);
  }, 60_000);
});

/** playwright-core comes without its test runner's web-first assertions: wait for the text, then compare. */
async function waitForText(locator: ReturnType<Page['locator']>, text: string, exact: boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  let last = '';
  while (Date.now() < deadline) {
    last = (await locator.textContent())?.trim() ?? '';
    if (exact ? last === text : last.includes(text)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`expected "${text}" but found "${last}"`);
}
const hasText = (l: ReturnType<Page['locator']>, text: string) => waitForText(l, text, true);
const containsText = (l: ReturnType<Page['locator']>, text: string) => waitForText(l, text, false);
