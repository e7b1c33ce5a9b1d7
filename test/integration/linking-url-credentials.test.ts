import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OAuthClients } from '../../src/linking/oauthClient.js';
import { settingsOf, type LinkingSettings } from '../../src/linking/settings.js';
import { adminApi } from '../helpers/adminApi.js';
import { send, signIn } from '../helpers/adminSession.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { FetchBrowser } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';

const NEW = 'com.example.url-creds';
const OLD = 'com.example.url-creds-old';
const PASSWORDS = ['LOGINPASS', 'TOKENPASS', 'REVOKEPASS', 'ISSUERPASS'];
const URLS = {
  loginUrl: 'https://lu:LOGINPASS@auth.example.com/a',
  tokenUrl: 'https://tu:TOKENPASS@auth.example.com/t',
  // Backslashes read as slashes: the URL parser finds these credentials too.
  revocationUrl: 'https:\\\\ru:REVOKEPASS@auth.example.com/r',
};
const REFUSED = 'must not contain credentials (the client ID and secret have their own fields)';

const noPassword = (text: string) => {
  for (const p of PASSWORDS) expect(text).not.toContain(p);
};

/**
 * Account-linking URLs with `user:password@` are refused like action and webhook URLs (API, admin
 * page, CLI file); settings an older version stored with them keep working without the credentials,
 * which are shown as `***`.
 */
describe('account-linking URLs with credentials', () => {
  let app: TestApp;
  let dir: string;
  const api = () => adminApi(app);

  beforeAll(async () => {
    app = await startTestApp({ label: 'linking-url-creds' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cek-url-creds-'));
    await api().post('/extensions', { extensionId: NEW, language: 'en' }).expect(201);
    await api().post('/extensions', { extensionId: OLD, language: 'en' }).expect(201);
    // As an older version saved it: credentials in every URL (the API refuses this now).
    await app.services.registry.updateSection(OLD, 'accountLinking', () => ({
      enabled: true,
      ...URLS,
      clientId: 'old-client',
      scope: 'points',
      clientAuth: 'basic',
      updatedAt: new Date().toISOString(),
    }));
  });
  afterAll(async () => {
    await app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the admin API refuses each URL with a user or password, naming the field, never repeating them', async () => {
    const res = await api().put(`/extensions/${NEW}/account-linking`, { enabled: true, ...URLS, issuer: 'https://is:ISSUERPASS@auth.example.com', clientId: 'c' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_body');
    expect(res.body.error.details).toEqual(expect.arrayContaining(['loginUrl', 'tokenUrl', 'revocationUrl', 'issuer'].map((p) => ({ path: p, message: REFUSED }))));
    noPassword(res.text);
    // A user name alone is refused too (it is often a token).
    const userOnly = await api().put(`/extensions/${NEW}/account-linking`, { enabled: false, loginUrl: 'https://LOGINPASS@auth.example.com/a' });
    expect(userOnly.body.error.details).toEqual([{ path: 'loginUrl', message: REFUSED }]);
    expect((await api().get(`/extensions/${NEW}/account-linking`)).body.loginUrl).toBeNull();
  });

  test('the setup page form refuses it on the field and shows the typed URL without its credentials', async () => {
    const session = await signIn(app);
    const page = await send(app, `/admin/extensions/${NEW}/account-linking`, {
      cookie: session.cookie,
      form: { _csrf: session.csrf, loginUrl: URLS.loginUrl, tokenUrl: 'https://auth.example.com/t', clientId: 'c', scope: '', clientAuth: 'basic' },
    });
    expect(page.status).toBe(400);
    expect(page.text).toContain('Must not contain credentials (the client ID and secret have their own fields)</p>');
    expect(page.text).toContain('value="https://***@auth.example.com/a"');
    noPassword(page.text);
    expect((await api().get(`/extensions/${NEW}/account-linking`)).body.tokenUrl).toBeNull();
  });

  test('an older record: shown with *** in the API and the page; a save that leaves the URLs out keeps them', async () => {
    const got = await api().get(`/extensions/${OLD}/account-linking`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      loginUrl: 'https://***@auth.example.com/a',
      tokenUrl: 'https://***@auth.example.com/t',
      revocationUrl: 'https://***@auth.example.com/r',
    });
    noPassword(got.text);

    const session = await signIn(app);
    const page = await send(app, `/admin/extensions/${OLD}`, { cookie: session.cookie });
    expect(page.status).toBe(200);
    expect(page.text).toContain('value="https://***@auth.example.com/a"');
    noPassword(page.text);

    const saved = await api().put(`/extensions/${OLD}/account-linking`, { enabled: true, scope: 'points profile' });
    expect(saved.status).toBe(200);
    expect(saved.body.loginUrl).toBe('https://***@auth.example.com/a');
    noPassword(saved.text);
    expect(settingsOf(await app.services.registry.get(OLD))?.loginUrl).toBe(URLS.loginUrl);
  });

  test('an older record: the login redirect and the provider calls use the URLs without their credentials', async () => {
    const ticket = await api().post(`/extensions/${OLD}/link-tickets`, { userId: 'u-old' });
    expect(ticket.status).toBe(201);
    const u = new URL(ticket.body.url as string);
    const start = await new FetchBrowser().request(`${app.url}${u.pathname}${u.search}`);
    expect(start.status).toBe(303);
    expect(start.location).toMatch(/^https:\/\/auth\.example\.com\/a\?/);
    noPassword(start.location ?? '');

    const clients = new OAuthClients(app.services.keyring, false);
    try {
      const ext = await app.services.registry.get(OLD);
      const server = (await clients.configFor(ext, settingsOf(ext) as LinkingSettings)).serverMetadata();
      expect([server.authorization_endpoint, server.token_endpoint, server.revocation_endpoint]).toEqual(['https://auth.example.com/a', 'https://auth.example.com/t', 'https://auth.example.com/r']);
    } finally {
      await clients.close();
    }
  });

  test('an older record: export writes *** instead of the credentials, and apply of that file asks to remove them', async () => {
    const env = { CEK_GATEWAY_URL: app.url, CEK_GATEWAY_TOKEN: ADMIN_TOKEN };
    const exported = await runCli(['export'], env);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain('loginUrl: https://***@auth.example.com/a');
    noPassword(exported.stdout);

    const file = path.join(dir, 'exported.yaml');
    fs.writeFileSync(file, exported.stdout);
    const applied = await runCli(['apply', file], env);
    expect(applied.code).toBe(1);
    expect(applied.stderr).toContain(`  extensions["${OLD}"].accountLinking.loginUrl: ${REFUSED}`);
  }, 60_000);
});
