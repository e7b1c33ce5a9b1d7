/**
 * A small "browser" over fetch for driving OAuth flows over HTTP: a cookie jar per origin, manual
 * redirects, and a form submitter for the provider's login and consent pages (oidc-provider's
 * devInteractions). The Chromium test drives the same flow in a real browser.
 */
export class FetchBrowser {
  readonly #jar = new Map<string, Map<string, string>>();

  #cookieHeader(url: URL): string {
    return [...(this.#jar.get(url.host)?.entries() ?? [])].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  #store(url: URL, res: Response): void {
    const jar = this.#jar.get(url.host) ?? new Map<string, string>();
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const eq = (pair ?? '').indexOf('=');
      const name = (pair ?? '').slice(0, eq).trim();
      const value = (pair ?? '').slice(eq + 1).trim();
      const expired = attrs.some((a) => /expires=.*1970/i.test(a) || /max-age=0\b/i.test(a.trim()));
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    this.#jar.set(url.host, jar);
  }

  /** One request, no redirect following. */
  async request(url: string | URL, init: { method?: string; form?: Record<string, string> } = {}): Promise<{ url: URL; status: number; location?: string; text: string }> {
    const u = new URL(url);
    const headers: Record<string, string> = { cookie: this.#cookieHeader(u) };
    let body: string | undefined;
    if (init.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(u, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, redirect: 'manual', ...(body === undefined ? {} : { body }) });
    this.#store(u, res);
    const location = res.headers.get('location');
    return { url: u, status: res.status, ...(location === null ? {} : { location: new URL(location, u).href }), text: await res.text() };
  }

  /**
   * Follows redirects and submits the provider's forms (login with any user name, then consent)
   * until a response redirects to `stopAt`; returns that redirect's URL.
   */
  async authorize(start: string, stopAt: string, opts: { login?: string; deny?: boolean } = {}): Promise<URL> {
    let next: { url: string; form?: Record<string, string> } = { url: start };
    for (let i = 0; i < 20; i++) {
      const res = await this.request(next.url, next.form === undefined ? {} : { form: next.form });
      if (res.location !== undefined) {
        if (res.location.startsWith(stopAt)) return new URL(res.location);
        next = { url: res.location };
        continue;
      }
      if (res.status !== 200) throw new Error(`unexpected ${res.status} at ${res.url.href}: ${res.text.slice(0, 200)}`);
      const abort = /href="([^"]*\/abort)"/.exec(res.text)?.[1];
      if (opts.deny === true && abort !== undefined) {
        next = { url: new URL(abort.replace(/&amp;/g, '&'), res.url).href };
        continue;
      }
      const form = parseForm(res.text, res.url);
      if (form === undefined) throw new Error(`no form at ${res.url.href}`);
      if ('login' in form.fields || /name="login"/.test(res.text)) {
        form.fields['login'] = opts.login ?? 'alice';
        form.fields['password'] = 'any';
      }
      next = { url: form.action, form: form.fields };
    }
    throw new Error('too many steps');
  }
}

function parseForm(html: string, base: URL): { action: string; fields: Record<string, string> } | undefined {
  const forms = [...html.matchAll(/<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)];
  const chosen = forms.find((f) => !/abort/.test(f[1] ?? ''));
  if (chosen === undefined) return undefined;
  const fields: Record<string, string> = {};
  for (const input of (chosen[2] ?? '').matchAll(/<input[^>]*>/g)) {
    const name = /name="([^"]+)"/.exec(input[0])?.[1];
    const value = /value="([^"]*)"/.exec(input[0])?.[1] ?? '';
    if (name !== undefined) fields[name] = value.replace(/&amp;/g, '&');
  }
  return { action: new URL((chosen[1] ?? '').replace(/&amp;/g, '&'), base).href, fields };
}
