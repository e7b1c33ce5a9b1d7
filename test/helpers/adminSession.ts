import { ADMIN_TOKEN, type TestApp } from './app.js';

/** One answer of the admin pages over plain HTTP (no redirect following). */
export interface PageAnswer {
  status: number;
  location: string | undefined;
  headers: Headers;
  text: string;
  setCookies: string[];
}

/** A GET, or a form POST when `form` is given (the same encoding as a browser's). */
export async function send(app: TestApp, path: string, o: { cookie?: string; form?: Record<string, string | string[]>; method?: string } = {}): Promise<PageAnswer> {
  const headers: Record<string, string> = {};
  if (o.cookie !== undefined) headers['cookie'] = o.cookie;
  let body: string | undefined;
  if (o.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(o.form)) for (const one of Array.isArray(v) ? v : [v]) params.append(k, one);
    body = params.toString();
  }
  const res = await fetch(`${app.url}${path}`, { method: o.method ?? (body === undefined ? 'GET' : 'POST'), headers, redirect: 'manual', ...(body === undefined ? {} : { body }) });
  return { status: res.status, location: res.headers.get('location') ?? undefined, headers: res.headers, text: await res.text(), setCookies: res.headers.getSetCookie() };
}

export const cookiePair = (setCookie: string | undefined): string => (setCookie ?? '').split(';')[0] ?? '';
export const csrfOf = (html: string): string => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

/** Signs in through the form; returns the session cookie pair, the session's CSRF token and the raw Set-Cookie. */
export async function signIn(app: TestApp, token = ADMIN_TOKEN): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const form = await send(app, '/admin/login');
  const loginCookie = cookiePair(form.setCookies.find((c) => c.startsWith('cekgw_admin_login=')));
  const posted = await send(app, '/admin/login', { cookie: loginCookie, form: { _csrf: csrfOf(form.text), token, next: '/admin/extensions' } });
  const setCookie = posted.setCookies.find((c) => c.startsWith('cekgw_admin=')) ?? '';
  const cookie = cookiePair(setCookie);
  const page = await send(app, '/admin/extensions', { cookie });
  return { cookie, csrf: csrfOf(page.text), setCookie };
}
