import express, { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import { toAppError } from '../../http/errors.js';
import { methodNotAllowed } from '../../http/expressGlue.js';
import { withBodyDeadline } from '../../http/readBody.js';
import { keyedHashHex } from '../../security/hash.js';
import type { Services } from '../../services.js';
import { actionsPages } from './actionsPages.js';
import { authRoutes } from './authRoutes.js';
import { consolePages } from './consolePages.js';
import { page, requireSession, type PagesContext } from './context.js';
import { extensionsPages } from './extensionsPages.js';
import { gatewayPages } from './gatewayPages.js';
import { createAdminViews } from './render.js';
import { LoginLimiter } from '../adminAuth.js';
import { adminHeaders } from './security.js';
import { AdminSessions } from './sessions.js';
import { setupPages } from './setupPages.js';
import { usersPages } from './usersPages.js';
import { webhooksPages } from './webhooksPages.js';

/**
 * The admin pages under `/admin` (DESIGN.md section 7, issue 5): sign-in with ADMIN_TOKEN, then
 * extensions, their setup, action methods, gateway (keys, plan, usage), linked users, webhooks and a test console. Mounted as a public
 * by `app.ts` at the root (the pages do their own sign-in; the bearer-token API stays under /api/v1).
 */
export function adminPages(s: Services): Router {
  const ctx: PagesContext = {
    s,
    views: createAdminViews({ publicUrl: s.config.publicUrl }),
    sessions: new AdminSessions(s.store),
    limiter: new LoginLimiter(s.store),
    tap: s.tap,
    tokenTag: keyedHashHex(s.keyring.deriveKey('admin session tag'), s.config.adminToken).slice(0, 32),
    secureCookies: s.config.publicUrl.startsWith('https:'),
  };

  const admin = Router();
  admin.use(adminHeaders);
  admin.use(withBodyDeadline(express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 50 })));
  admin.use(authRoutes(ctx));
  admin.use(requireSession(ctx));
  admin.get('/', (_req, res) => res.redirect(303, '/admin/extensions'));
  admin.use(extensionsPages(ctx));
  admin.use(setupPages(ctx));
  admin.use(actionsPages(ctx));
  admin.use(gatewayPages(ctx));
  admin.use(usersPages(ctx));
  admin.use(webhooksPages(ctx));
  admin.use(consolePages(ctx));
  admin.use(methodNotAllowed(admin));
  admin.use(async (req: Request, res: Response) => {
    req.failure = { code: 'not_found' };
    await page(ctx, req, res, 404, 'message.njk', { title: 'Page not found', kind: 'error', body: 'There is no admin page at this address.', back: '/admin/extensions' });
  });
  admin.use(errorPage(ctx));

  const router = Router();
  router.use('/admin', admin);
  return router;
}

/** Errors end on a page that says what happened, never as JSON or a stack trace; internal ones only show the request id. */
function errorPage(ctx: PagesContext): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const appErr = toAppError(err);
    req.failure = { code: appErr.code, ...(appErr.code === 'internal_error' ? { err } : {}) };
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // `Allow` of a 405, `Retry-After` of a 429: the page says it, the headers say it to the client.
    for (const [name, value] of Object.entries(appErr.headers ?? {})) res.setHeader(name, value);
    const internal = appErr.code === 'internal_error';
    const notFound = appErr.status === 404;
    void page(ctx, req, res, appErr.status, 'message.njk', {
      title: internal ? 'Something went wrong' : notFound ? 'Not found' : 'That did not work',
      kind: 'error',
      body: appErr.message,
      hint: internal ? `Nothing was shown of the cause. Quote the request id ${req.requestId} when reporting it; the server log has the details.` : undefined,
      back: '/admin/extensions',
    }).catch(() => {
      // The store is down as well: a plain page without the session.
      ctx.views.render(res, appErr.status, 'message.njk', { title: 'Something went wrong', kind: 'error', body: appErr.message, back: '/admin/extensions' });
    });
  };
}
