import type { TestApp } from './app.js';
import { FetchBrowser } from './browser.js';

/**
 * What a user does with the code CLOVA spoke: opens the link page, enters the code, consents at the
 * provider (oidc-provider, test/helpers/provider.ts) and follows the callback. Returns the final page.
 */
export async function linkWithSpokenCode(app: TestApp, code: string): Promise<string> {
  const browser = new FetchBrowser();
  const form = await browser.request(`${app.url}/link`);
  const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? '';
  const started = await browser.request(`${app.url}/link`, { form: { csrf, code } });
  const callback = await browser.authorize(started.location!, `${app.config.publicUrl}/oauth/callback`);
  return (await browser.request(`${app.url}${callback.pathname}${callback.search}`)).text;
}
