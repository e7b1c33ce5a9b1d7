import { Router, type Request, type Response } from 'express';
import { readCookie } from '../../http/cookies.js';
import { constantTimeEqual } from '../../security/constantTime.js';
import { PreSessionCsrf } from '../../security/csrf.js';
import { COOKIE_PATH, page, requireSession, safeNext, sessionOf, SESSION_COOKIE, type PagesContext } from './context.js';
import { field } from './forms.js';
import { csrfField } from './security.js';

/** Before there is a session, the sign-in form's CSRF token is a signed double-submit token (security/csrf.ts). */
const LOGIN_CSRF_COOKIE = 'cekgw_admin_login';
const LOGIN_PATH = '/admin/login';
const LOGIN_FORM_MS = 30 * 60_000;

/** `/admin/login` and `/admin/logout`. */
export function authRoutes(ctx: PagesContext): Router {
  const router = Router();
  // Development keeps a generated token in DATA_DIR; a production page must not point at files it lacks.
  const devSecretsHint = !ctx.s.config.production;
  const wrongToken = devSecretsHint ? 'That is not the admin token. Check ADMIN_TOKEN (in development: data/dev-secrets.json).' : 'That is not the admin token. Check ADMIN_TOKEN.';
  const csrf = new PreSessionCsrf(ctx.s.keyring.deriveKey('csrf pre-session forms'), { form: 'admin sign-in', maxAgeMs: LOGIN_FORM_MS });

  const loginForm = async (req: Request, res: Response, status: number, data: Record<string, unknown>): Promise<void> => {
    const { nonce, token } = csrf.issue(readCookie(req.headers.cookie, LOGIN_CSRF_COOKIE));
    res.cookie(LOGIN_CSRF_COOKIE, nonce, { httpOnly: true, sameSite: 'strict', secure: ctx.secureCookies, path: LOGIN_PATH, maxAge: LOGIN_FORM_MS });
    await page(ctx, req, res, status, 'login.njk', { ...data, devSecretsHint, csrf: token, next: safeNext(req.query['next'] ?? field(req, 'next')) });
  };

  router.get('/login', async (req, res) => {
    const signedIn = await ctx.sessions.load(readCookie(req.headers.cookie, SESSION_COOKIE), ctx.tokenTag);
    if (signedIn !== undefined) {
      res.redirect(303, safeNext(req.query['next']));
      return;
    }
    const notice = req.query['signedOut'] === '1' ? 'You are signed out.' : req.query['expired'] === '1' ? 'Your session has ended. Sign in again to continue.' : undefined;
    // An error, not a notice: the admin's last change is lost unless they act on it.
    if (req.query['unsaved'] === '1') {
      await loginForm(req, res, 200, { error: 'Not saved — your session had ended. Sign in again: you go back to the form, filled in as you left it, to save it again.', unsaved: true });
      return;
    }
    await loginForm(req, res, 200, notice === undefined ? {} : { notice });
  });

  router.post('/login', async (req, res) => {
    if (!csrf.verify(readCookie(req.headers.cookie, LOGIN_CSRF_COOKIE), csrfField(req.body))) {
      req.failure = { code: 'csrf_failed' };
      await loginForm(req, res, 403, { error: 'This sign-in form expired. Please enter the token again.' });
      return;
    }
    const client = req.ip ?? 'unknown';
    const tried = await ctx.limiter.attempt(client);
    if (!tried.allowed) {
      req.failure = { code: 'rate_limited' };
      res.setHeader('retry-after', String(Math.ceil(tried.retryAfterMs / 1000)));
      await loginForm(req, res, 429, { error: `Too many wrong tokens from your address. Try again in ${Math.ceil(tried.retryAfterMs / 60_000)} minutes.` });
      return;
    }
    const token = field(req, 'token').trim();
    if (token === '' || !constantTimeEqual(token, ctx.s.config.adminToken)) {
      await tried.attempt.failed();
      req.failure = { code: 'unauthorized' };
      await loginForm(req, res, 401, { error: wrongToken });
      return;
    }
    await tried.attempt.succeeded();
    await ctx.limiter.reset(client);
    const session = await ctx.sessions.create(ctx.tokenTag);
    res.clearCookie(LOGIN_CSRF_COOKIE, { path: LOGIN_PATH });
    // httpOnly: scripts never see it. SameSite=Strict: no other site's page or link sends it, a second
    // wall behind the CSRF field. Path /admin: the API, the voice route and /link never receive it.
    res.cookie(SESSION_COOKIE, session.id, { httpOnly: true, sameSite: 'strict', secure: ctx.secureCookies, path: COOKIE_PATH });
    res.redirect(303, safeNext(field(req, 'next')));
  });

  router.post('/logout', requireSession(ctx), async (req, res) => {
    await ctx.sessions.destroy(sessionOf(req));
    res.clearCookie(SESSION_COOKIE, { path: COOKIE_PATH, httpOnly: true, sameSite: 'strict', secure: ctx.secureCookies });
    res.redirect(303, '/admin/login?signedOut=1');
  });

  return router;
}
