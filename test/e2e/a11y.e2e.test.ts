import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import request from 'supertest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { TokenVault } from '../../src/linking/vault.js';
import { startTestApp, ADMIN_TOKEN, type TestApp } from '../helpers/app.js';
import { intentRequest } from '../helpers/cek.js';
import { DESKTOP, PHONE, describeWithBrowser, launchChromium, saveScreenshot } from '../helpers/chromium.js';
import { startProvider, type TestProvider } from '../helpers/provider.js';
import { reply, startTarget, type TestTarget } from '../helpers/targets.js';
import { speechOf, spokenCode, tokenProbe } from '../helpers/tokenProbe.js';

/**
 * Every admin page and every account-linking page checked by axe-core (issue 14, item 4) in a real
 * headless Chromium, at desktop (1280 px) and phone (390 px) width, in the light and the dark color
 * scheme: WCAG 2.0 A/AA, WCAG 2.1 AA and axe's best practices. Any violation fails the suite.
 * Each checked state is saved as test-artifacts/screenshots/a11y-<page>-<width>-<scheme>.png.
 *
 * axe is injected from the installed package's source (no network), after the page's own script
 * ran, so the checked DOM is the one a user gets (live notes, switched fields).
 */
const EXT = 'com.example.a11y';
const USER = 'a11y-user';
/** A target path long enough to wrap at phone width: it must wrap after a "/". */
const LONG_PATH = '/points/a/rather/long/path/that/must/wrap/on/a/phone';
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice'];
const WIDTHS: ReadonlyArray<[string, { width: number; height: number }]> = [
  ['desktop', DESKTOP],
  ['phone', PHONE],
];
const SCHEMES: ReadonlyArray<'light' | 'dark'> = ['light', 'dark'];
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface Violation {
  page: string;
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/** The part of axe's result the test reads (axe runs in the page; only JSON comes back). */
interface AxeResult {
  violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }>;
}

const isAxeResult = (v: unknown): v is AxeResult => typeof v === 'object' && v !== null && 'violations' in v && Array.isArray(v.violations);

describeWithBrowser('the accessibility check (axe-core)')('axe-core on every admin and link page', () => {
  let app: TestApp;
  let provider: TestProvider;
  let target: TestTarget;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const found: Violation[] = [];
  const url = (path: string) => `${app.config.publicUrl}${path}`;

  /** Runs axe on the page as it is, at both widths and in both color schemes; records violations. */
  async function check(name: string): Promise<void> {
    await page.waitForLoadState('load');
    // evaluate, not addScriptTag: the pages' CSP (rightly) refuses inline scripts, and DevTools
    // evaluation is not subject to it, so the real CSP stays on for the check.
    await page.evaluate(`${AXE_SOURCE}\n;0`);
    for (const [width, size] of WIDTHS) {
      await page.setViewportSize(size);
      for (const scheme of SCHEMES) {
        await page.emulateMedia({ colorScheme: scheme });
        // The script is a string: the test's tsconfig has no DOM types, and axe exists only in the page.
        const result: unknown = await page.evaluate(
          `axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(TAGS)} }, resultTypes: ['violations'] }).then((r) => JSON.parse(JSON.stringify({ violations: r.violations })))`,
        );
        if (!isAxeResult(result)) throw new Error(`axe gave no result on ${name}`);
        for (const v of result.violations) {
          found.push({ page: `${name} (${width}, ${scheme})`, id: v.id, impact: v.impact ?? '', help: v.help, targets: v.nodes.map((n) => n.target.map(String).join(' ')) });
        }
        await saveScreenshot(page, `a11y-${name}-${width}-${scheme}`);
      }
    }
    await page.setViewportSize(DESKTOP);
    await page.emulateMedia({ colorScheme: 'light' });
  }

  async function submit(selector: string): Promise<void> {
    const navigated = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame() });
    await page.click(selector);
    await navigated;
    await page.waitForLoadState('load');
  }

  beforeAll(async () => {
    app = await startTestApp({ label: 'a11y-e2e', realPublicUrl: true, responders: tokenProbe });
    provider = await startProvider({ clientAuth: 'basic', redirectUri: `${app.config.publicUrl}/oauth/callback` });
    target = await startTarget({ [LONG_PATH]: reply.json({ speech: 'You have 1200 points.' }) });
    const api = request(app.url);
    await api.post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: EXT, name: 'Points', language: 'en' }).expect(201);
    await api
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
      })
      .expect(200);
    await api
      .put(`/api/v1/extensions/${EXT}/actions/CheckPoints`)
      .set(app.adminHeaders)
      .send({ trigger: { type: 'IntentRequest', intent: 'CheckPoints' }, url: `${target.url}${LONG_PATH}`, headers: { 'x-api-key': 'api-key-s3cr3t' } })
      .expect((r) => expect(r.status).toBeLessThan(300));
    await api.post(`/api/v1/extensions/${EXT}/keys`).set(app.adminHeaders).send({ name: 'Mobile app' }).expect(201);
    await new TokenVault(app.services.store, app.services.keyring).link(
      EXT,
      USER,
      { accessToken: 'at-0123456789', refreshToken: 'rt-0123456789' },
      { expiresAt: Date.now() + 3600_000, scope: 'api', tokenType: 'Bearer' },
    );
    browser = await launchChromium();
    context = await browser.newContext({ viewport: DESKTOP });
    page = await context.newPage();
    // A dialog may already be gone when the answer arrives (the page navigated): nothing to accept then.
    page.on('dialog', (d) => void d.accept().catch(() => undefined));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await target?.close();
    await provider?.close();
    await app?.close();
  });

  test('admin pages', async () => {
    await page.goto(url('/admin/login'));
    await check('sign-in');
    await page.fill('#token', 'wrong-token');
    await submit('button[type=submit]');
    await check('sign-in-wrong');
    await page.fill('#token', ADMIN_TOKEN);
    await submit('button[type=submit]');
    await check('extensions');

    await page.fill('#f-extensionId', 'points');
    await submit('#create-button');
    await check('create-invalid');
    await page.fill('#f-extensionId', 'com.example.second');
    await page.fill('#f-name', 'Second');
    await submit('#create-button');
    await check('created');

    await page.goto(url(`/admin/extensions/${EXT}`));
    await check('setup');
    await page.fill('#f-loginUrl', 'not a url');
    await submit('#save-server');
    await check('setup-error');
    await page.goto(url(`/admin/extensions/${EXT}`));
    await submit('#self-test-form button[type=submit]');
    await check('self-test');

    await page.goto(url(`/admin/extensions/${EXT}/actions`));
    await check('actions');
    await page.goto(url(`/admin/extensions/${EXT}/actions/new`));
    await check('action-new');
    await page.fill('#f-name', 'Bad');
    await page.fill('#f-url', 'ftp://example.com');
    await submit('#save-action');
    await check('action-error');
    await page.goto(url(`/admin/extensions/${EXT}/actions/CheckPoints/edit`));
    await check('action-edit');

    await page.goto(url(`/admin/extensions/${EXT}/gateway`));
    await check('gateway');
    await page.click('#key-list .key-item >> text=Edit');
    await page.waitForURL((u) => u.pathname.startsWith(`/admin/extensions/${EXT}/gateway/keys/k_`));
    await check('gateway-key');

    // A test user in the list (its badge and Remove form), and the form that adds one.
    await request(app.url).post(`/api/v1/extensions/${EXT}/test-users`).set(app.adminHeaders).send({ userId: 'a11y-tester', accessToken: 'a11y-test-token' }).expect(201);
    await page.goto(url(`/admin/extensions/${EXT}/users`));
    await check('users');

    await page.goto(url(`/admin/extensions/${EXT}/webhooks`));
    await check('webhooks-empty');
    await page.fill('#f-url', 'ftp://example.com/hooks');
    await submit('#add-webhook-submit');
    await check('webhook-add-error');
    await page.fill('#f-url', `${target.url}${LONG_PATH}`);
    await page.check('#f-ev-link\\.created');
    await submit('#add-webhook-submit');
    // The endpoint's page, with its secret shown once.
    await page.locator('#new-webhook-secret').waitFor();
    await check('webhook-created');
    await submit('#send-ping');
    for (let i = 0; i < 100 && (await page.locator('#delivery-list [data-status="pending"]').count()) > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      await page.reload();
    }
    await check('webhook-deliveries');
    await page.goto(url(`/admin/extensions/${EXT}/webhooks`));
    await check('webhooks');

    await page.goto(url(`/admin/extensions/${EXT}/console`));
    await page.selectOption('#f-type', 'IntentRequest');
    await page.fill('#f-intent', 'CheckPoints');
    await submit('#send');
    expect(await page.textContent('#result-speech')).toContain('You have 1200 points.');
    await check('console-result');
    // The multi-turn console (issue 17): a transcript of two turns, the session ended, the form gone.
    await submit('#end-session');
    expect(await page.locator('#transcript li').count()).toBe(2);
    await check('console-ended');

    await page.goto(url(`/admin/extensions/com.example.second/delete`));
    await check('delete');
    await page.goto(url('/admin/extensions/com.example.gone'));
    await check('not-found');
  }, 240_000);

  test('account-linking pages', async () => {
    const voice = async () => {
      const raw = JSON.stringify(intentRequest({ extensionId: EXT, intent: 'WhoAmI', userId: 'phone-user' }));
      return speechOf((await request(app.url).post(`/cek/${EXT}`).set('SignatureCEK', app.signer.sign(raw)).send(raw)).body);
    };
    const code = spokenCode(await voice());
    await page.goto(url('/link'));
    await check('link');
    await page.fill('#code', '111111111111');
    await submit('button[type=submit]');
    await check('link-wrong-code');
    await page.fill('#code', code);
    await Promise.all([page.waitForURL((u) => u.href.startsWith(provider.issuer)), page.click('button[type=submit]')]);
    await page.fill('input[name=login]', 'alice');
    await page.fill('input[name=password]', 'secret');
    await Promise.all([page.waitForLoadState(), page.click('button[type=submit]')]);
    await page.waitForSelector('button[type=submit]');
    await Promise.all([page.waitForURL((u) => u.href.startsWith(`${app.config.publicUrl}/oauth/callback`)), page.click('button[type=submit]')]);
    await page.waitForSelector('#unlink');
    await check('link-success');
    await page.click('#unlink');
    await page.waitForURL((u) => u.pathname === '/link/unlink');
    expect((await page.textContent('h1'))?.trim()).toBe('Unlink your account from Points?');
    await check('link-unlink');
    await page.click('#keep-linked');
    await page.waitForURL((u) => u.pathname === '/link/kept');
    expect((await page.textContent('#what'))?.trim()).toBe('Nothing was changed: your account is still linked to Points.');
    await check('link-kept');
    await page.goBack();
    await submit('button.danger');
    await check('link-unlinked');
    await page.goto(url('/link/start'));
    await check('link-message');
  }, 240_000);

  test('after a save the confirmation is in the saved section, in view, and announced', async () => {
    await page.goto(url(`/admin/extensions/${EXT}/gateway`));
    await page.setViewportSize(PHONE);
    await page.fill('#f-dayQuota', '500');
    await submit('#save-plan');
    // (waitForFunction evaluates a string, which the pages' CSP refuses: poll the element instead.)
    await page.locator('#plan #flash').waitFor();
    for (let i = 0; i < 50 && !((await page.textContent('#flash')) ?? '').includes('Usage plan saved'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await page.textContent('#flash')).toContain('Usage plan saved');
    expect(await page.getAttribute('#flash', 'role')).toBe('status');
    const box = await page.locator('#flash').boundingBox();
    expect(box).not.toBeNull();
    expect(box?.y ?? -1).toBeGreaterThanOrEqual(0);
    expect((box?.y ?? 0) + (box?.height ?? 0)).toBeLessThanOrEqual(PHONE.height);
    await saveScreenshot(page, 'a11y-saved-in-place-phone');
    await page.setViewportSize(DESKTOP);
  });

  test('target URLs wrap after "/", never inside a word; static header values are hidden until revealed', async () => {
    await page.goto(url(`/admin/extensions/${EXT}/actions`));
    expect(await page.locator('tr[data-action="CheckPoints"] .url wbr').count()).toBeGreaterThan(5);
    await page.goto(url(`/admin/extensions/${EXT}/actions/CheckPoints/edit`));
    expect(await page.getAttribute('#f-headers', 'class')).toContain('masked');
    expect(await page.getAttribute('#f-headers-reveal', 'aria-pressed')).toBe('false');
    await page.click('#f-headers-reveal');
    expect(await page.getAttribute('#f-headers', 'class')).not.toContain('masked');
    expect(await page.getAttribute('#f-headers-reveal', 'aria-pressed')).toBe('true');
    await hasTextNow(page, '#f-headers-reveal', 'Hide values');
  });

  test('leaving with unsaved edits in another form asks first', async () => {
    await page.goto(url(`/admin/extensions/${EXT}`));
    await page.fill('#f-clientId', 'typed-but-not-saved');
    const asked = page.waitForEvent('dialog');
    // Saving another form of the page would drop the typed client ID: the browser asks first.
    const navigated = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame() });
    void page.click('#save-general');
    const dialog = await asked;
    expect(dialog.type()).toBe('beforeunload');
    await navigated; // accepted (the handler above): the save goes on
    await page.waitForLoadState('load');
  });

  test('a form saved after the session ended: "not saved", and after signing in the form is back as it was', async () => {
    await page.goto(url(`/admin/extensions/${EXT}`));
    await page.fill('#f-name', 'Points, renamed late');
    await context.clearCookies({ name: 'cekgw_admin' }); // the session ends while the admin types
    await submit('#save-general');
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    expect(await page.textContent('#error')).toContain('Not saved — your session had ended');
    await check('sign-in-not-saved');
    expect((await app.services.registry.resolve(EXT))?.record.name).toBe('Points');

    await page.fill('#token', ADMIN_TOKEN);
    await submit('button[type=submit]');
    expect(new URL(page.url()).pathname).toBe(`/admin/extensions/${EXT}`);
    expect(await page.inputValue('#f-name')).toBe('Points, renamed late');
    await page.locator('#general #restored').waitFor();
    await saveScreenshot(page, 'a11y-form-restored-desktop');
    await submit('#save-general');
    expect((await app.services.registry.resolve(EXT))?.record.name).toBe('Points, renamed late');
    expect(await page.locator('#restored').count()).toBe(0);
  });

  test('no violations', () => {
    const report = found.map((v) => `${v.page}: ${v.id} (${v.impact}) ${v.help} — ${v.targets.slice(0, 3).join(', ')}`);
    expect(report).toEqual([]);
  });
});

async function hasTextNow(page: Page, selector: string, text: string): Promise<void> {
  expect((await page.textContent(selector))?.trim()).toBe(text);
}
