import request from 'supertest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { send, signIn } from '../helpers/adminSession.js';
import { launchRequest } from '../helpers/cek.js';

/**
 * The Gateway tab of the admin pages over HTTP (issues 5 and 6): protection first, then that every
 * form does what the admin API does (the API is the oracle here), with errors next to the fields,
 * key values shown once, and the usage of real voice calls in the chart and the counts. The browser
 * suite (test/e2e/admin.e2e.test.ts) drives the same page in Chromium.
 */
const EXT = 'com.example.gwpages';

describe('admin pages: the Gateway tab', () => {
  let app: TestApp;
  let session: { cookie: string; csrf: string };
  const path = (p = '') => `/admin/extensions/${EXT}/gateway${p}`;
  const get = (p = '') => send(app, path(p), { cookie: session.cookie });
  const post = (p: string, form: Record<string, string | string[]>) => send(app, path(p), { cookie: session.cookie, form: { _csrf: session.csrf, ...form } });
  const api = (p: string) => request(app.url).get(`/api/v1/extensions/${EXT}${p}`).set(app.adminHeaders);
  /** A LaunchRequest signed as CLOVA signs it, with or without an API key. */
  const voice = async (key?: string): Promise<number> => {
    const raw = JSON.stringify(launchRequest({ extensionId: EXT }));
    const r = request(app.url).post(`/cek/${EXT}`).set('SignatureCEK', app.signer.sign(raw));
    if (key !== undefined) void r.set('x-ncp-apigw-api-key', key);
    return (await r.send(raw)).status;
  };
  /** The shown-once values on the page after a redirect. */
  const shownOnce = (html: string) => ({
    primary: /id="new-key-primary"[^>]*>([^<]+)</.exec(html)?.[1],
    secondary: /id="new-key-secondary"[^>]*>([^<]+)</.exec(html)?.[1],
  });
  const keyIdOf = (html: string, name: string): string => {
    const id = new RegExp(`data-key-id="(k_[A-Za-z0-9_-]+)"[^>]*>\\s*<div class="key-head">\\s*<div class="key-title">\\s*<strong class="key-name[^"]*">${name}<`).exec(html)?.[1];
    if (id === undefined) throw new Error(`no key named ${name} on the page`);
    return id;
  };

  beforeAll(async () => {
    app = await startTestApp({ label: 'admin-gateway-pages' });
    await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: EXT, name: 'Gateway pages', language: 'en' }).expect(201);
    session = await signIn(app);
  });
  afterAll(async () => {
    await app.close();
  });

  test('signed out, the tab and its forms lead to the sign-in page; without the CSRF token a form changes nothing', async () => {
    const page = await send(app, path());
    expect(page.status).toBe(303);
    expect(page.location).toBe(`/admin/login?next=${encodeURIComponent(path())}`);
    const signedOut = await send(app, path('/keys'), { form: { name: 'sneaky' } });
    expect(signedOut.status).toBe(303);
    for (const [p, form] of [
      ['/keys', { name: 'csrf' }],
      ['/enforcement', { requireApiKey: '1' }],
      ['/plan', { dayQuota: '5' }],
    ] as const) {
      const refused = await send(app, path(p), { cookie: session.cookie, form });
      expect(refused.status).toBe(403);
      expect(refused.text).toContain('This form was refused');
    }
    const settings = (await api('/gateway').expect(200)).body as { keyCount: number; requireApiKey: boolean; usagePlan: unknown };
    expect(settings).toMatchObject({ keyCount: 0, requireApiKey: false, usagePlan: null });
  });

  test('the tab is among the extension tabs; the page has no inline script or style', async () => {
    const res = await get();
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.text).toMatch(/<a href="\/admin\/extensions\/com\.example\.gwpages\/gateway" class="active" aria-current="page">/);
    expect(res.text).toContain('id="no-keys"');
    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(res.text).not.toMatch(/\sstyle=/i);
    expect(res.text).not.toMatch(/\son[a-z]+=/i);
    expect(res.text).toMatch(/<svg class="chart-svg"[^>]*role="img"/);
  });

  test('a new key: both values shown once, sealed in the session meanwhile, then listed masked only', async () => {
    const created = await post('/keys', { name: 'Mobile app' });
    expect(created.status).toBe(303);
    expect(created.location).toBe(path('#keys'));
    const sessionRows = (await app.store.list('adminsess:')).map((r) => r.value).join('\n');
    const first = await get();
    const { primary, secondary } = shownOnce(first.text);
    expect(primary).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(secondary).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(sessionRows).not.toContain(primary);
    expect(sessionRows).not.toContain(secondary);
    expect(first.text).toContain('API key Mobile app created. Copy its values now');
    const listed = ((await api('/keys').expect(200)).body as { keys: Array<{ name: string; primary: { masked: string } }> }).keys;
    expect(listed).toEqual([expect.objectContaining({ name: 'Mobile app', primary: expect.objectContaining({ masked: `********${primary?.slice(-4)}` }) })]);

    const again = await get();
    expect(again.text).not.toContain(primary);
    expect(again.text).not.toContain(secondary);
    expect(again.text).not.toContain('id="new-key-box"');
    expect(again.text).toContain(`********${primary?.slice(-4)}`);
    expect(again.text).toContain(`********${secondary?.slice(-4)}`);
  });

  test('HTML in a key name is shown as text', async () => {
    expect((await post('/keys', { name: '<img src=x onerror=alert(1)>Partner' })).status).toBe(303);
    const res = await get();
    expect(res.text).not.toContain('<img src=x');
    expect(res.text).toContain('&lt;img src=x onerror=alert(1)&gt;Partner');
    await request(app.url)
      .delete(`/api/v1/extensions/${EXT}/keys/${keyIdOf(res.text, '&lt;img src=x onerror=alert\\(1\\)&gt;Partner')}`)
      .set(app.adminHeaders)
      .expect(204);
  });

  test('mistakes are shown next to their fields, and nothing is saved', async () => {
    const noName = await post('/keys', { name: '  ' });
    expect(noName.status).toBe(400);
    expect(noName.text).toMatch(/id="e-name">Give the key a name/);

    const plan = await post('/plan', { rateRps: 'ten', dayQuota: '0', monthQuota: '1.5', quotaCondition: ['2xx'] });
    expect(plan.status).toBe(400);
    expect(plan.text).toMatch(/id="e-rateRps">Must be a whole number\./);
    expect(plan.text).toMatch(/id="e-monthQuota">Must be a whole number\./);
    expect(plan.text).toContain('value="ten"');
    const zero = await post('/plan', { dayQuota: '0', quotaCondition: ['2xx', '4xx'] });
    expect(zero.status).toBe(400);
    expect(zero.text).toMatch(/id="e-dayQuota">Must be at least 1\./);
    const noClass = await post('/plan', { dayQuota: '10' });
    expect(noClass.status).toBe(400);
    expect(noClass.text).toMatch(/id="e-quotaCondition">Tick at least one class/);

    const shortToken = await post('/verify-token', { messengerVerifyToken: 'short' });
    expect(shortToken.status).toBe(400);
    expect(shortToken.text).toMatch(/id="e-messengerVerifyToken">Must be at least 8 characters\./);
    expect(shortToken.text).not.toContain('value="short"');

    const allowance = await post('/allowance', { freeMonthlyCalls: '-3' });
    expect(allowance.status).toBe(400);
    expect(allowance.text).toMatch(/id="e-freeMonthlyCalls">Must be a whole number\./);

    expect((await api('/gateway').expect(200)).body).toMatchObject({ usagePlan: null, messengerVerifyTokenSet: false, freeMonthlyCallsOverridden: false });
    for (const res of [noName, plan, zero, noClass, shortToken, allowance]) expect(res.text).not.toContain('{"error"');
  });

  test('the plan, the verify token and the free allowance are saved as the API shows them', async () => {
    expect((await post('/plan', { rateRps: '50', dayQuota: '1,000', monthQuota: '', quotaCondition: ['2xx', '4xx'] })).status).toBe(303);
    expect((await api('/gateway').expect(200)).body.usagePlan).toEqual({ rateRps: 50, dayQuota: 1000, quotaCondition: ['2xx', '4xx'] });
    const page = await get();
    expect(page.text).toContain('50 requests a second · 1,000 calls a day · quotas count 2xx, 4xx only');
    expect(page.text).toMatch(/id="f-qc-2xx" name="quotaCondition" value="2xx" checked/);
    expect(page.text).toMatch(/id="f-qc-3xx" name="quotaCondition" value="3xx">/);

    // Every class ticked is the default: no quotaCondition.
    expect((await post('/plan', { dayQuota: '1000', quotaCondition: ['2xx', '3xx', '4xx', '5xx'] })).status).toBe(303);
    expect((await api('/gateway').expect(200)).body.usagePlan).toEqual({ dayQuota: 1000 });
    expect((await post('/plan/delete', {})).status).toBe(303);
    expect((await api('/gateway').expect(200)).body.usagePlan).toBeNull();

    expect((await post('/verify-token', { messengerVerifyToken: 'my-verify-token-1' })).status).toBe(303);
    expect((await api('/gateway').expect(200)).body.messengerVerifyTokenSet).toBe(true);
    const challenge = await request(app.url).get(`/chatbot/${EXT}`).query({ 'hub.mode': 'subscribe', 'hub.verify_token': 'my-verify-token-1', 'hub.challenge': 'c-42' });
    expect(challenge.status).toBe(200);
    expect(challenge.text).toBe('c-42');
    expect((await get()).text).not.toContain('my-verify-token-1');
    expect((await post('/verify-token', { removeVerifyToken: '1' })).status).toBe(303);
    expect((await api('/gateway').expect(200)).body.messengerVerifyTokenSet).toBe(false);

    expect((await post('/allowance', { freeMonthlyCalls: '5,000' })).status).toBe(303);
    expect((await api('/gateway').expect(200)).body).toMatchObject({ freeMonthlyCalls: 5000, freeMonthlyCallsOverridden: true });
    expect((await post('/allowance', { freeMonthlyCalls: '' })).status).toBe(303);
    expect((await api('/gateway').expect(200)).body).toMatchObject({ freeMonthlyCalls: 1_000_000, freeMonthlyCallsOverridden: false });
  });

  test('a key: its own plan and name, disable and enable, a new secondary value shown once, delete', async () => {
    const keyId = keyIdOf((await get()).text, 'Mobile app');
    const edit = await get(`/keys/${keyId}`);
    expect(edit.status).toBe(200);
    expect(edit.text).toContain('value="Mobile app"');
    const bad = await post(`/keys/${keyId}`, { name: '', dayQuota: 'x', quotaCondition: ['2xx'] });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/id="e-name">Give the key a name\./);
    expect(bad.text).toMatch(/id="e-dayQuota">Must be a whole number\./);
    expect((await post(`/keys/${keyId}`, { name: 'Mobile app v2', dayQuota: '7', quotaCondition: ['2xx', '3xx', '4xx', '5xx'] })).status).toBe(303);
    let key = ((await api('/keys').expect(200)).body as { keys: Array<Record<string, unknown>> }).keys.find((k) => k['id'] === keyId);
    expect(key).toMatchObject({ name: 'Mobile app v2', usagePlan: { dayQuota: 7 } });
    expect((await post(`/keys/${keyId}`, { name: 'Mobile app', quotaCondition: ['2xx', '3xx', '4xx', '5xx'] })).status).toBe(303);
    key = ((await api('/keys').expect(200)).body as { keys: Array<Record<string, unknown>> }).keys.find((k) => k['id'] === keyId);
    expect(key).toMatchObject({ name: 'Mobile app', usagePlan: null });
    expect((await get('/keys/k_missing')).status).toBe(404);

    expect((await post(`/keys/${keyId}/enabled`, { enabled: '0' })).status).toBe(303);
    expect((await get()).text).toContain('API key Mobile app is disabled');
    expect((await api('/keys').expect(200)).body.keys[0].enabled).toBe(false);
    expect((await post(`/keys/${keyId}/enabled`, { enabled: '1' })).status).toBe(303);
    expect((await api('/keys').expect(200)).body.keys[0].enabled).toBe(true);

    const before = (await api('/keys').expect(200)).body.keys[0] as { primary: { masked: string }; secondary: { masked: string } };
    expect((await post(`/keys/${keyId}/regenerate`, { which: 'secondary' })).status).toBe(303);
    const shown = shownOnce((await get()).text);
    expect(shown.primary).toBeUndefined();
    expect(shown.secondary).toMatch(/^[A-Za-z0-9_-]{40}$/);
    const after = (await api('/keys').expect(200)).body.keys[0] as { primary: { masked: string }; secondary: { masked: string } };
    expect(after.primary.masked).toBe(before.primary.masked);
    expect(after.secondary.masked).toBe(`********${shown.secondary?.slice(-4)}`);

    // Delete a second key; the first one stays for the usage test.
    expect((await post('/keys', { name: 'Spare' })).status).toBe(303);
    const spare = keyIdOf((await get()).text, 'Spare');
    expect((await post(`/keys/${spare}/delete`, {})).status).toBe(303);
    expect((await get()).text).toContain('API key Spare deleted');
    expect(((await api('/keys').expect(200)).body.keys as unknown[]).length).toBe(1);
    expect((await post(`/keys/${spare}/delete`, {})).status).toBe(404);
  });

  test('usage: voice calls with and without a key, admitted and refused, in the chart and the counts', async () => {
    const page = await get();
    const keyId = keyIdOf(page.text, 'Mobile app');
    expect((await post(`/keys/${keyId}/regenerate`, { which: 'primary' })).status).toBe(303);
    const primary = shownOnce((await get()).text).primary ?? '';
    expect((await post('/enforcement', { requireApiKey: '1' })).status).toBe(303);
    expect((await api('/gateway').expect(200)).body.requireApiKey).toBe(true);
    expect((await post('/plan', { dayQuota: '3', quotaCondition: ['2xx', '3xx', '4xx', '5xx'] })).status).toBe(303);

    const statuses = [await voice(), await voice('not-a-key'), await voice(primary), await voice(primary), await voice(primary), await voice(primary)];
    expect(statuses).toEqual([401, 403, 200, 200, 200, 429]);

    const res = await get();
    const today = new Date().toISOString().slice(0, 10);
    expect(res.text).toMatch(new RegExp(`<g class="col current" data-key="${today}" data-calls="3" data-refused="3">`));
    expect(res.text).toMatch(new RegExp(`<g class="col current" data-key="${today.slice(0, 7)}" data-calls="3" data-refused="3">`));
    expect(res.text).toMatch(/id="usage-today">3</);
    expect(res.text).toMatch(/<tr data-code="missing_api_key">.*?<td class="num">1<\/td><td class="num">1<\/td><\/tr>/s);
    expect(res.text).toMatch(/<tr data-code="invalid_api_key">.*?<td class="num">1<\/td>/s);
    expect(res.text).toMatch(/<tr data-code="quota_exceeded">.*?<td class="num">1<\/td>/s);
    expect(res.text).toMatch(new RegExp(`<tr data-key-id="${keyId}"><td class="wrap-anywhere">Mobile app</td><td class="num">3</td><td class="num">3</td></tr>`));
    expect(res.text).toContain('3 of 1,000,000 used');
    expect(res.text).toMatch(/id="plan-counted">Counted against the quotas: today 3 of 3, this month 3\./);
    // The same numbers as the API's report.
    const report = (await api('/usage').expect(200)).body as { days: Array<{ calls: number }> };
    expect(report.days.at(-1)?.calls).toBe(3);
  });
});
