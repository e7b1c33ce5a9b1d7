import request from 'supertest';
import type { Browser, Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { startTestApp, ADMIN_TOKEN, type TestApp } from '../helpers/app.js';
import { describeWithBrowser, DESKTOP, launchChromium, saveScreenshots, watchPage } from '../helpers/chromium.js';
import { reply, startTarget, type TargetCall, type TestTarget } from '../helpers/targets.js';

/**
 * The Webhooks tab in a real headless Chromium (issue 16): add an endpoint that points at a
 * receiver on loopback (allowed: the test app is not in production mode, the target policy only
 * refuses private addresses there), copy its secret from the page, send a test ping, watch the
 * delivery succeed in the deliveries view, redeliver it, edit, rotate and delete it (the confirm
 * dialog accepted). The receiver verifies every message with the secret the page showed.
 * Screens: test-artifacts/screenshots/webhooks-*.png.
 */
const EXT = 'com.example.hooksui';

describeWithBrowser('the webhook pages (e2e)')('the Webhooks tab in Chromium', () => {
  let app: TestApp;
  let receiver: TestTarget;
  let browser: Browser;
  let page: Page;
  const browserErrors: string[] = [];
  const url = (path: string) => `${app.config.publicUrl}${path}`;
  const shots = (name: string) => saveScreenshots(page, `webhooks-${name}`);
  const verify = (secret: string, call: TargetCall) =>
    new Webhook(secret).verify(call.body.toString('utf8'), {
      'webhook-id': String(call.headers['webhook-id']),
      'webhook-timestamp': String(call.headers['webhook-timestamp']),
      'webhook-signature': String(call.headers['webhook-signature']),
    });

  async function submit(selector: string): Promise<void> {
    const navigated = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame() });
    await page.click(selector);
    await navigated;
    await page.waitForLoadState('load');
  }

  /** The flash message once admin.js has moved it to the saved section and filled it in (after 150 ms, for screen readers). */
  async function flash(): Promise<string> {
    await page.locator('#flash').waitFor();
    let text = '';
    for (let i = 0; i < 50 && text === ''; i++) {
      text = ((await page.textContent('#flash')) ?? '').trim();
      if (text === '') await new Promise((r) => setTimeout(r, 50));
    }
    return text;
  }

  /** Reloads the endpoint page until the deliveries view shows `count` rows and none pending (the worker sends on its own). */
  async function deliveriesSettled(count: number): Promise<string[]> {
    for (let i = 0; i < 150; i++) {
      const statuses = await Promise.all((await page.locator('#delivery-list [data-status]').all()).map(async (l) => (await l.getAttribute('data-status')) ?? ''));
      if (statuses.length === count && !statuses.includes('pending')) return statuses;
      await new Promise((r) => setTimeout(r, 100));
      await page.reload();
    }
    throw new Error('the deliveries view did not settle');
  }

  beforeAll(async () => {
    app = await startTestApp({ label: 'webhooks-e2e', realPublicUrl: true });
    receiver = await startTarget({ '/hooks': reply.status(204) });
    await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: EXT, name: 'Hooks UI', language: 'en' }).expect(201);
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: DESKTOP })).newPage();
    watchPage(page, browserErrors);
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await app?.close();
  });

  test('add an endpoint, ping it, see the delivery succeed, redeliver, edit, rotate, delete', async () => {
    await page.goto(url(`/admin/extensions/${EXT}/webhooks`));
    await page.fill('#token', ADMIN_TOKEN);
    await submit('button[type=submit]');
    expect(new URL(page.url()).pathname).toBe(`/admin/extensions/${EXT}/webhooks`);
    expect(await page.getAttribute('nav.tabs a[aria-current="page"]', 'href')).toBe(`/admin/extensions/${EXT}/webhooks`);
    await page.locator('#no-webhooks').waitFor();
    await shots('01-empty');

    // No event ticked: the form comes back with the message at the group and the URL kept.
    await page.fill('#f-url', `${receiver.url}/hooks`);
    await submit('#add-webhook-submit');
    expect(await page.textContent('#e-events')).toContain('at least one event type');
    expect(await page.inputValue('#f-url')).toBe(`${receiver.url}/hooks`);
    await shots('02-add-error');
    // That page came with its 400 on purpose, which Chromium reports as an error: from here on, none.
    browserErrors.length = 0;

    await page.check('#f-ev-link\\.created');
    await page.check('#f-ev-link\\.unlinked');
    await submit('#add-webhook-submit');
    expect(new URL(page.url()).pathname).toMatch(new RegExp(`^/admin/extensions/${EXT.replace(/\./g, '\\.')}/webhooks/wh_[A-Za-z0-9_-]{16}$`));
    const secret = ((await page.textContent('#new-webhook-secret')) ?? '').trim();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    await shots('03-created');
    const endpointPath = new URL(page.url()).pathname;

    await submit('#send-ping');
    expect(await flash()).toContain('Test ping queued');
    expect(await page.locator('#new-webhook-secret').count()).toBe(0); // shown once
    expect(await deliveriesSettled(1)).toEqual(['delivered']);
    const row = page.locator('#delivery-list tbody tr').first();
    expect(await row.textContent()).toContain('ping');
    expect(await row.textContent()).toContain('HTTP 204');
    expect(receiver.calls).toHaveLength(1);
    expect(verify(secret, receiver.calls[0]!)).toMatchObject({ type: 'ping', data: { extensionId: EXT } });
    await shots('04-delivered');

    await submit('#delivery-list tbody tr:first-child button[type=submit]');
    expect(await flash()).toContain('Sent again as a new delivery');
    expect(await deliveriesSettled(2)).toEqual(['delivered', 'delivered']);
    expect(await page.locator('#delivery-list tbody tr').first().textContent()).toContain('redelivery');
    expect(receiver.calls).toHaveLength(2);
    expect(receiver.calls[1]!.body.toString('utf8')).toBe(receiver.calls[0]!.body.toString('utf8'));
    expect(receiver.calls[1]!.headers['webhook-id']).not.toBe(receiver.calls[0]!.headers['webhook-id']);
    expect(verify(secret, receiver.calls[1]!)).toMatchObject({ type: 'ping' });
    await shots('05-redelivered');

    // Edit: disable it and subscribe to another event; the list shows it.
    await page.uncheck('#f-enabled');
    await page.check('#f-ev-link\\.broken');
    await submit('#save-webhook');
    expect(await flash()).toContain('It is disabled');
    expect((await page.textContent('#endpoint-status'))?.trim()).toBe('disabled');

    // Rotate with the default grace period: the new secret once, the old one still signs.
    await submit('#rotate-webhook-secret');
    expect(await flash()).toContain('the old one stays valid next to it for 1 day');
    const fresh = ((await page.textContent('#new-webhook-secret')) ?? '').trim();
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(secret);
    await shots('06-rotated');
    await submit('#send-ping');
    await deliveriesSettled(3);
    expect(verify(fresh, receiver.calls[2]!)).toMatchObject({ type: 'ping' });
    expect(verify(secret, receiver.calls[2]!)).toMatchObject({ type: 'ping' });

    await page.goto(url(`/admin/extensions/${EXT}/webhooks`));
    const listed = page.locator(`tr[data-webhook="${endpointPath.split('/').at(-1)}"]`);
    expect(await listed.textContent()).toContain('disabled');
    expect(await listed.textContent()).toContain('link.broken');
    await shots('07-list');

    await page.goto(url(endpointPath));
    await submit('#delete-webhook');
    expect(new URL(page.url()).pathname).toBe(`/admin/extensions/${EXT}/webhooks`);
    expect(await flash()).toContain('deleted');
    await page.locator('#no-webhooks').waitFor();
    expect(browserErrors).toEqual([]);
  }, 120_000);
});
