import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { TokenVault } from '../../src/linking/vault.js';
import { startTestApp, ADMIN_TOKEN, type TestApp } from '../helpers/app.js';
import { launchRequest } from '../helpers/cek.js';
import { describeWithBrowser, DESKTOP, launchChromium, saveScreenshots, watchPage } from '../helpers/chromium.js';
import { runCli } from '../helpers/cli.js';
import { reply, startTarget, type TestTarget } from '../helpers/targets.js';

/**
 * The admin pages in a real headless Chromium (issue 5): sign in, create an extension, rotate its
 * secret, server settings with a bad then a good URL, account linking with the spoken preview, an
 * action method, a signed test request through the real endpoint, unlink, the Gateway tab (an API key
 * shown once, key enforcement, a usage plan, and signed voice calls in the usage chart), CSRF
 * refusal, delete, sign out. Every page is saved at desktop and phone width:
 * test-artifacts/screenshots/admin-*.png.
 */
const EXT = 'com.example.points';
const EVIL_EXT = 'com.example.evil';
const EVIL_NAME = '<img src=x onerror="window.__xss=1">Evil & Co';
const USER = 'clova-user-42';
const ACCESS_TOKEN = 'at-secret-0123456789';
const STATIC_HEADER_VALUE = 'api-key-s3cr3t';

describeWithBrowser('the admin pages (e2e)')('admin pages in Chromium', () => {
  let app: TestApp;
  let target: TestTarget;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** What the browser reported as errors (a CSP violation shows up here). */
  const browserErrors: string[] = [];
  const shots = (name: string) => saveScreenshots(page, `admin-${name}`);
  const url = (path: string) => `${app.config.publicUrl}${path}`;

  /** Clicks a submit button and waits for the page it leads to (a redirect or a re-rendered form). */
  async function submit(selector: string): Promise<void> {
    const navigated = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame() });
    await page.click(selector);
    await navigated;
    await page.waitForLoadState('load');
  }

  beforeAll(async () => {
    app = await startTestApp({ label: 'admin-e2e', realPublicUrl: true });
    target = await startTarget({ '/points': reply.json({ speech: 'You have 1200 points.' }) });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: DESKTOP });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.config.publicUrl });
    page = await context.newPage();
    watchPage(page, browserErrors);
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await target?.close();
    await app?.close();
  });

  test('signed out, pages lead to the sign-in page; a wrong token is refused; the right one signs in', async () => {
    await page.goto(url('/admin/extensions'));
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    await hasText(page.locator('h1'), 'Sign in');
    await shots('01-sign-in');

    await page.fill('#token', 'wrong-token');
    await submit('button[type=submit]');
    await containsText(page.locator('#error'), 'That is not the admin token');
    await shots('02-sign-in-wrong-token');

    await page.fill('#token', ADMIN_TOKEN);
    await submit('button[type=submit]');
    expect(new URL(page.url()).pathname).toBe('/admin/extensions');
    await containsText(page.locator('#no-extensions'), 'No extensions yet');
    await shots('03-extensions-empty');
  });

  test('create an extension: the ID is checked as it is typed and again on the server; the secret is shown once with a copy button', async () => {
    await page.fill('#f-extensionId', 'com..example');
    await containsText(page.locator('#f-extensionId-live'), 'no empty part');
    await page.fill('#f-extensionId', 'com.keno42.world_Clock');
    await containsText(page.locator('#f-extensionId-live'), 'Looks good');
    await page.fill('#f-extensionId', 'points');
    await submit('#create-button');
    await containsText(page.locator('#e-extensionId'), 'Extension IDs are reverse-domain names');
    await shots('04-create-invalid-id');

    await page.fill('#f-extensionId', EXT);
    await containsText(page.locator('#f-extensionId-live'), 'Looks good');
    await page.fill('#f-name', 'Points');
    await page.selectOption('#f-language', 'en');
    await submit('#create-button');
    expect(new URL(page.url()).pathname).toBe(`/admin/extensions/${EXT}`);
    await containsText(page.locator('#flash'), `Extension ${EXT} created`);
    const secret = (await page.textContent('#new-secret')) ?? '';
    expect((await app.services.registry.resolve(EXT))?.liveSecrets()).toEqual([secret]);
    await page.click('[data-copy="#new-secret"]');
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(secret);
    await shots('05-created-secret-shown-once');

    await page.reload();
    expect(await page.locator('#new-secret').count()).toBe(0);
    expect(await page.content()).not.toContain(secret);
    expect(await page.inputValue('#invoke-url')).toBe(url(`/cek/${EXT}`));
  });

  test('HTML in an extension name is shown as text', async () => {
    await page.goto(url('/admin/extensions'));
    await page.fill('#f-extensionId', EVIL_EXT);
    await page.fill('#f-name', EVIL_NAME);
    await submit('#create-button');
    await hasText(page.locator('#ext-name'), EVIL_NAME);
    await page.goto(url('/admin/extensions'));
    await hasText(page.locator(`tr[data-extension-id="${EVIL_EXT}"] .ext-name`), EVIL_NAME);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    await shots('06-extensions-list');
  });

  test('rotate the Chatbot Secret with a grace period', async () => {
    await page.goto(url(`/admin/extensions/${EXT}`));
    const before = (await app.services.registry.resolve(EXT))?.liveSecrets() ?? [];
    await page.selectOption('#f-graceSeconds', '3600');
    await submit('#rotate-secret');
    await containsText(page.locator('#flash'), 'New Chatbot Secret generated. The old secret keeps working for 1 hour.');
    const rotated = (await page.textContent('#new-secret')) ?? '';
    expect(rotated).not.toBe(before[0]);
    expect((await app.services.registry.resolve(EXT))?.liveSecrets()).toEqual([rotated, before[0]]);
    await containsText(page.locator('#previous-secret'), 'still accepted until');
    await shots('07-secret-rotated');
  });

  test('server settings: a bad URL gets a message next to the field; good ones are saved, the client secret write-only', async () => {
    await page.fill('#f-loginUrl', 'not a url');
    await page.fill('#f-tokenUrl', 'https://accounts.example.com/oauth/token');
    await page.fill('#f-clientId', 'points-client');
    await page.fill('#f-clientSecret', 'client-secret-value');
    await submit('#save-server');
    await containsText(page.locator('#e-loginUrl'), 'Must be an absolute URL');
    expect(await page.inputValue('#f-loginUrl')).toBe('not a url');
    expect(await page.inputValue('#f-clientSecret')).toBe('');
    await containsText(page.locator('#step-3 .alert.error'), 'The client secret you typed was discarded');
    await shots('08-server-settings-error');

    await page.fill('#f-loginUrl', 'https://accounts.example.com/oauth/authorize');
    await page.fill('#f-clientSecret', 'client-secret-value');
    await page.fill('#f-scope', 'points.read');
    await page.check('#f-clientAuth-body');
    await submit('#save-server');
    await containsText(page.locator('#flash'), 'Server settings saved. The new client secret is stored encrypted.');
    expect(await page.inputValue('#f-clientSecret')).toBe('');
    expect(await page.content()).not.toContain('client-secret-value');
    const saved = await request(app.url).get(`/api/v1/extensions/${EXT}/account-linking`).set(app.adminHeaders).expect(200);
    expect(saved.body).toMatchObject({
      loginUrl: 'https://accounts.example.com/oauth/authorize',
      clientId: 'points-client',
      clientSecretSet: true,
      clientAuth: 'body',
      scope: 'points.read',
      enabled: false,
    });
  });

  test('account linking on, with the login prompt previewed as it will be spoken', async () => {
    await page.check('#f-enabled');
    await page.fill('#f-loginPromptMessage', 'To see your points, open {url} and enter {code}.');
    await hasText(page.locator('#prompt-preview'), `To see your points, open ${url('/link')} and enter 1 2 3, 4 5 6, 7 8 9, 0 1 2.`);
    await submit('#save-linking');
    await containsText(page.locator('#flash'), 'Account linking is on');
    await hasText(page.locator('#linking-state'), 'on');
    await hasText(page.locator('#prompt-preview'), `To see your points, open ${url('/link')} and enter 1 2 3, 4 5 6, 7 8 9, 0 1 2.`);
    await shots('09-setup');
  });

  test('add an action method with the trigger picker (a bad target URL first)', async () => {
    await page.click('nav.tabs >> text=Action methods');
    await page.waitForURL(url(`/admin/extensions/${EXT}/actions`));
    await containsText(page.locator('#no-actions'), 'No action methods yet');
    await shots('10-actions-empty');

    await page.click('#add-action');
    await page.waitForURL(url(`/admin/extensions/${EXT}/actions/new`));
    expect(await page.isVisible('#f-eventNamespace')).toBe(false); // the picker shows only the intent's fields
    await page.selectOption('#f-triggerType', 'EventRequest');
    expect(await page.isVisible('#f-eventNamespace')).toBe(true);
    expect(await page.isVisible('#f-intent')).toBe(false);
    await page.selectOption('#f-triggerType', 'IntentRequest');
    await page.fill('#f-name', 'CheckPoints');
    await page.fill('#f-intent', 'CheckPoints');
    await page.fill('#f-url', 'ftp://example.com/points');
    await page.check('#f-useOAuthToken');
    await page.selectOption('#f-tokenSource', 'linked');
    await page.fill('#f-timeoutMs', '2500');
    await page.fill('#f-headers', `x-api-key: ${STATIC_HEADER_VALUE}`);
    await submit('#save-action');
    await containsText(page.locator('#e-url'), 'http');
    await shots('11-action-form-error');

    await page.fill('#f-url', `${target.url}/points`);
    await submit('#save-action');
    await page.waitForURL(url(`/admin/extensions/${EXT}/actions`));
    await containsText(page.locator('#flash'), 'Action method CheckPoints saved');
    await containsText(page.locator('tr[data-action="CheckPoints"]'), 'IntentRequest for intent "CheckPoints"');
    expect(await page.content()).not.toContain(STATIC_HEADER_VALUE);
    await shots('12-actions');

    await page.click('tr[data-action="CheckPoints"] >> text=Edit');
    await page.waitForURL(url(`/admin/extensions/${EXT}/actions/CheckPoints/edit`));
    expect(await page.inputValue('#f-timeoutMs')).toBe('2500');
    await shots('13-action-edit');
  });

  test('the test console sends a signed request through the real endpoint and shows request, forward and response', async () => {
    await new TokenVault(app.services.store, app.services.keyring).link(
      EXT,
      USER,
      { accessToken: ACCESS_TOKEN, refreshToken: 'rt-secret-0123456789' },
      { expiresAt: Date.now() + 3600_000, scope: 'points.read', tokenType: 'Bearer' },
    );
    await page.goto(url(`/admin/extensions/${EXT}/console`));
    expect(await page.inputValue('#f-userId')).toBe(USER); // the linked user is offered first
    await page.selectOption('#f-type', 'IntentRequest');
    await page.fill('#f-intent', 'CheckPoints');
    await page.fill('#f-slots', 'period=month');
    await shots('14-console');
    await submit('#send');
    await hasText(page.locator('#result-status'), 'HTTP 200');
    await containsText(page.locator('#result-speech'), 'You have 1200 points.');
    await containsText(page.locator('#result-outcome'), 'action');
    await containsText(page.locator('#forwarded-request'), `POST ${target.url}/points`);
    await containsText(page.locator('#request-json'), '"period"');
    await containsText(page.locator('#response-json'), '"outputSpeech"');
    expect(await page.locator('#result-time').textContent()).toMatch(/^\d+(\.\d)? ms$/);

    const call = target.callsTo('/points').at(-1);
    expect(call?.headers['authorization']).toBe(`Bearer ${ACCESS_TOKEN}`);
    expect(call?.headers['x-api-key']).toBe(STATIC_HEADER_VALUE);
    expect(JSON.parse(call?.body.toString() ?? '{}')).toMatchObject({ request: { type: 'IntentRequest', intent: { name: 'CheckPoints', slots: { period: { name: 'period', value: 'month' } } } } });
    const html = await page.content();
    for (const secret of [ACCESS_TOKEN, STATIC_HEADER_VALUE, ...((await app.services.registry.resolve(EXT))?.liveSecrets() ?? [])]) expect(html).not.toContain(secret);
    await shots('15-console-result');
  });

  test('the console records a three-turn conversation for a test user (launch, intent with a slot, end), downloaded as a scenario the CLI runs as it is', async () => {
    const TEST_USER = 'e2e-tester';
    const TEST_TOKEN = 'e2e-test-token-0123456789';
    // The target answers only the tokens it knows.
    target.on('/points', (call, res, req) => {
      const auth = call.headers['authorization'];
      if (auth !== `Bearer ${TEST_TOKEN}` && auth !== `Bearer ${ACCESS_TOKEN}`) return reply.status(401)(call, res, req);
      const period = (JSON.parse(call.body.toString('utf8')) as { request: { intent: { slots: Record<string, { value: string }> } } }).request.intent.slots['period']?.value ?? 'now';
      return reply.json({ speech: `You have 1200 points ${period}.`, endSession: false })(call, res, req);
    });

    // The test user, through the users page's form.
    await page.goto(url(`/admin/extensions/${EXT}/users`));
    await page.fill('#f-userId', TEST_USER);
    await page.fill('#f-accessToken', TEST_TOKEN);
    await submit('#add-test-user');
    await containsText(page.locator('#flash'), `Test user ${TEST_USER} added`);
    await containsText(page.locator(`tr[data-user="${TEST_USER}"]`), 'test user');
    expect(await page.content()).not.toContain(TEST_TOKEN);

    await page.goto(url(`/admin/extensions/${EXT}/console`));
    await submit('#new-conversation');
    expect(await page.locator('#transcript').count()).toBe(0);
    await page.fill('#f-userId', TEST_USER);
    await page.selectOption('#f-locale', 'ja-JP');
    await page.selectOption('#f-type', 'LaunchRequest');
    await submit('#send');
    await hasText(page.locator('#result-status'), 'HTTP 200');
    await page.selectOption('#f-type', 'IntentRequest');
    await page.fill('#f-intent', 'CheckPoints');
    await page.fill('#f-slots', 'period=this month');
    await submit('#send');
    await containsText(page.locator('#result-speech'), 'You have 1200 points this month.');
    await shots('15b-console-conversation');
    await submit('#end-session');

    const turns = page.locator('#transcript li');
    expect(await turns.count()).toBe(3);
    await containsText(turns.nth(0), 'Opens the extension');
    await containsText(turns.nth(1), 'CheckPoints (period = this month)');
    await containsText(turns.nth(1), 'target called with a bearer token');
    await containsText(turns.nth(2), 'Ends the session');
    await containsText(page.locator('#session-ended'), 'The session has ended');
    await containsText(page.locator('#conversation-meta'), 'test user');
    const sessionId = (await page.textContent('#session-id'))?.trim();
    const forwarded = JSON.parse(target.callsTo('/points').at(-1)?.body.toString('utf8') ?? '{}') as { session: { sessionId: string; new: boolean }; request: { locale: string } };
    expect(forwarded.session).toMatchObject({ sessionId, new: false });
    expect(forwarded.request.locale).toBe('ja-JP');
    expect(target.callsTo('/points').at(-1)?.headers['authorization']).toBe(`Bearer ${TEST_TOKEN}`);
    await shots('15c-console-ended');

    // Reloaded, the transcript is still there.
    await page.reload();
    expect(await page.locator('#transcript li').count()).toBe(3);

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-scenario')]);
    expect(download.suggestedFilename()).toBe(`${EXT}.console.yaml`);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cek-e2e-scenario-'));
    try {
      const file = path.join(dir, download.suggestedFilename());
      await download.saveAs(file);
      expect(readFileSync(file, 'utf8')).toContain(`user: ${TEST_USER}`);
      const run = await runCli(['test', dir, '--junit', path.join(dir, 'report.xml')], { CEK_GATEWAY_URL: app.url, CEK_GATEWAY_TOKEN: ADMIN_TOKEN });
      expect(run.stdout).toContain('1 scenario (3 turns): 1 passed, 0 failed');
      expect(run.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    // Removed in one click: the users list holds the real user only again.
    await page.goto(url(`/admin/extensions/${EXT}/users`));
    await submit(`tr[data-user="${TEST_USER}"] button[type=submit]`);
    await containsText(page.locator('#flash'), `Test user ${TEST_USER} removed`);
    expect(await page.locator(`tr[data-user="${TEST_USER}"]`).count()).toBe(0);
  }, 120_000);

  test('linked users: listed without tokens, and unlinked', async () => {
    await page.goto(url(`/admin/extensions/${EXT}/users`));
    await containsText(page.locator(`tr[data-user="${USER}"]`), 'linked');
    await containsText(page.locator(`tr[data-user="${USER}"]`), 'points.read');
    expect(await page.content()).not.toContain(ACCESS_TOKEN);
    await shots('16-users');
    await submit(`tr[data-user="${USER}"] button[type=submit]`);
    await containsText(page.locator('#flash'), `${USER} is unlinked`);
    await containsText(page.locator('#no-users'), 'No one has linked an account yet');
    expect(await app.services.linking?.accessToken((await app.services.registry.resolve(EXT))!, USER)).toEqual({ status: 'unlinked' });
    await shots('17-users-empty');
  });

  test('the Gateway tab: an API key shown once, key enforcement, a usage plan, and signed voice calls in the usage chart', async () => {
    browserErrors.length = 0;
    /** A LaunchRequest signed as CLOVA signs it, sent over HTTP like a caller would, with or without an API key. */
    const voice = async (key?: string): Promise<number> => {
      const raw = JSON.stringify(launchRequest({ extensionId: EXT, userId: USER }));
      const r = request(app.url).post(`/cek/${EXT}`).set('SignatureCEK', app.signer.sign(raw)).set('content-type', 'application/json');
      if (key !== undefined) void r.set('x-ncp-apigw-api-key', key);
      return (await r.send(raw)).status;
    };

    await page.goto(url(`/admin/extensions/${EXT}`));
    await page.click('nav.tabs >> text=Gateway');
    await page.waitForURL(url(`/admin/extensions/${EXT}/gateway`));
    await containsText(page.locator('#no-keys'), 'No API keys yet');
    await hasText(page.locator('#enforcement-state'), 'not required');
    await shots('18-gateway-empty');

    // A key: a name is required; then both values are shown once, with copy buttons.
    await submit('#create-key');
    await containsText(page.locator('#e-name'), 'Give the key a name');
    await page.fill('#f-name', 'Mobile app');
    await submit('#create-key');
    await containsText(page.locator('#flash'), 'API key Mobile app created');
    const primary = (await page.textContent('#new-key-primary'))?.trim() ?? '';
    const secondary = (await page.textContent('#new-key-secondary'))?.trim() ?? '';
    expect(primary).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(secondary).toMatch(/^[A-Za-z0-9_-]{40}$/);
    await page.click('[data-copy="#new-key-primary"]');
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(primary);
    await shots('19-gateway-key-shown-once');
    await page.reload();
    expect(await page.locator('#new-key-box').count()).toBe(0);
    const html = await page.content();
    expect(html).not.toContain(primary);
    expect(html).not.toContain(secondary);
    await containsText(page.locator('#key-list .key-item').first(), `********${primary.slice(-4)}`);

    // Keys required; a plan with a mistake first, then 3 calls a day.
    await page.check('#f-requireApiKey');
    await submit('#save-enforcement');
    await containsText(page.locator('#flash'), 'API keys are now required');
    await hasText(page.locator('#enforcement-state'), 'required');
    await page.fill('#f-rateRps', 'fast');
    await page.fill('#f-dayQuota', '3');
    await submit('#save-plan');
    await containsText(page.locator('#e-rateRps'), 'Must be a whole number');
    expect(await page.inputValue('#f-dayQuota')).toBe('3');
    await shots('20-gateway-plan-error');
    await page.fill('#f-rateRps', '20');
    await submit('#save-plan');
    await containsText(page.locator('#flash'), 'Usage plan saved');
    await hasText(page.locator('#plan-text'), '20 requests a second · 3 calls a day');
    const saved = await request(app.url).get(`/api/v1/extensions/${EXT}/gateway`).set(app.adminHeaders).expect(200);
    expect(saved.body).toMatchObject({ requireApiKey: true, usagePlan: { rateRps: 20, dayQuota: 3 }, keyCount: 1 });

    // Callers: no key, a wrong key, the key (three times, the day's quota), once more over the quota.
    // The console's requests above count as well: the page must show these calls on top of them.
    const before = (await request(app.url).get(`/api/v1/extensions/${EXT}/usage`).set(app.adminHeaders).expect(200)).body as { days: Array<{ calls: number; refused: Record<string, number> }> };
    const callsBefore = before.days.at(-1)?.calls ?? 0;
    expect([await voice(), await voice('wrong-key-0123456789'), await voice(primary), await voice(secondary), await voice(primary), await voice(primary)]).toEqual([401, 403, 200, 200, 200, 429]);

    await page.reload();
    const today = new Date().toISOString().slice(0, 10);
    const bar = page.locator(`#chart-days g.col[data-key="${today}"]`);
    expect(await bar.getAttribute('data-calls')).toBe(String(callsBefore + 3));
    expect(await bar.getAttribute('data-refused')).toBe('3');
    expect(await bar.locator('rect.calls').count()).toBe(1);
    expect(await bar.locator('rect.refused').count()).toBe(1);
    expect(await page.locator('#chart-days .chart-empty').count()).toBe(0);
    expect(await page.locator(`#chart-months g.col.current`).getAttribute('data-calls')).toBe(String(callsBefore + 3));
    await hasText(page.locator('#usage-today'), String(callsBefore + 3));
    await containsText(page.locator('#allowance-used'), `${callsBefore + 3} of 1,000,000 used`);
    await hasText(page.locator('#refused tr[data-code="missing_api_key"] td.num').first(), '1');
    await hasText(page.locator('#refused tr[data-code="invalid_api_key"] td.num').first(), '1');
    await hasText(page.locator('#refused tr[data-code="quota_exceeded"] td.num').first(), '1');
    await hasText(page.locator('#by-key tr[data-key-id^="k_"] td.num').first(), '3');
    await containsText(page.locator('#plan-counted'), 'today 3 of 3');
    await shots('21-gateway-usage');

    // A new secondary value, shown once; the primary keeps working.
    await page.click('#key-list .key-item >> button.regenerate[data-which="secondary"]');
    await page.waitForSelector('#new-key-secondary');
    const rotated = (await page.textContent('#new-key-secondary'))?.trim() ?? '';
    expect(rotated).not.toBe(secondary);
    expect(await page.locator('#new-key-primary').count()).toBe(0);
    await page.click('#key-list .key-item >> text=Edit');
    await page.waitForURL((u) => u.pathname.startsWith(`/admin/extensions/${EXT}/gateway/keys/k_`));
    expect(await page.inputValue('#f-name')).toBe('Mobile app');
    await shots('22-gateway-key-edit');
    await page.goBack();

    // The messenger verify token: write-only.
    await page.fill('#f-messengerVerifyToken', 'verify-me-0123');
    await submit('#save-verify-token');
    await containsText(page.locator('#flash'), 'Verify token saved');
    await hasText(page.locator('#verify-token-state'), 'set');
    expect(await page.content()).not.toContain('verify-me-0123');
    await page.goto(url(`/admin/extensions/${EXT}/gateway#usage`));
    await shots('23-gateway');
    // No CSP violation and no script error (the 400 answers of the refused forms above are expected).
    expect(browserErrors.filter((e) => !/status of 400/.test(e))).toEqual([]);
  });

  test('a form posted without the CSRF token is refused', async () => {
    const status = await page.evaluate(async () => {
      const res = await fetch('/admin/extensions', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'extensionId=com.example.csrf', redirect: 'manual' });
      return res.status; // the session cookie goes along: same origin, SameSite=Strict
    });
    expect(status).toBe(403);
    // The same as a real form without the field: the browser lands on the refusal page.
    const navigated = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame() });
    // (The page has no DOM types here: the script is a string.)
    await page.evaluate(`(() => {
      const form = document.createElement('form');
      form.method = 'post';
      form.action = '/admin/extensions/${EXT}/delete';
      const input = document.createElement('input');
      input.name = 'confirmId';
      input.value = '${EXT}';
      form.append(input);
      document.body.append(form);
      form.submit();
    })()`);
    await navigated;
    await hasText(page.locator('#message-title'), 'This form was refused');
    expect(await app.services.registry.resolve('com.example.csrf')).toBeUndefined();
    expect(await app.services.registry.resolve(EXT)).toBeDefined();
    await shots('24-csrf-refused');
  });

  test('delete an extension after typing its ID', async () => {
    await page.goto(url('/admin/extensions'));
    await page.click(`tr[data-extension-id="${EVIL_EXT}"] >> text=Delete`);
    await page.waitForURL(url(`/admin/extensions/${EVIL_EXT}/delete`));
    await hasText(page.locator('#delete-name'), EVIL_NAME);
    expect(await page.isDisabled('#confirm-delete')).toBe(true);
    await page.fill('#f-confirmId', EVIL_EXT);
    expect(await page.isDisabled('#confirm-delete')).toBe(false);
    await shots('25-delete-confirm');
    await submit('#confirm-delete');
    await containsText(page.locator('#flash'), `Extension ${EVIL_EXT} deleted`);
    expect(await page.locator(`tr[data-extension-id="${EVIL_EXT}"]`).count()).toBe(0);

    await page.goto(url('/admin/extensions/com.example.gone'));
    await hasText(page.locator('#message-title'), 'Not found');
    await shots('26-not-found');
  });

  test('sign out: the pages are unreachable again', async () => {
    await page.goto(url(`/admin/extensions/${EXT}`));
    await submit('#sign-out');
    await containsText(page.locator('#notice'), 'You are signed out');
    await shots('27-signed-out');
    await page.goto(url(`/admin/extensions/${EXT}`));
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    expect(new URL(page.url()).searchParams.get('next')).toBe(`/admin/extensions/${EXT}`);
  });
});

/** playwright-core comes without its test runner's web-first assertions: wait for the text, then compare. */
async function waitForText(locator: Locator, text: string, exact: boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  let last = '';
  while (Date.now() < deadline) {
    last =
      (
        await locator
          .first()
          .textContent({ timeout: 1000 })
          .catch(() => '')
      )
        ?.trim()
        .replace(/\s+/g, ' ') ?? '';
    if (exact ? last === text : last.includes(text)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`expected ${exact ? '' : 'to contain '}"${text}" but found "${last}"`);
}
const hasText = (l: Locator, text: string) => waitForText(l, text, true);
const containsText = (l: Locator, text: string) => waitForText(l, text, false);
