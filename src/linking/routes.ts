import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import type nunjucks from 'nunjucks';
import { toAppError } from '../http/errors.js';
import type { Logger } from '../http/logger.js';
import { readCookie } from '../http/cookies.js';
import { withBodyDeadline } from '../http/readBody.js';
import { PreSessionCsrf } from '../security/csrf.js';
import { failurePage, LinkFailure, linkFailureOf, type FailureReason } from './failures.js';
import type { LinkingService } from './service.js';
import { describeError } from '../http/errorInfo.js';
import { isStoreUnavailable } from '../store/unavailable.js';

const CSRF_COOKIE = 'cekgw_link_csrf';
const CSRF_FORM_MS = 30 * 60_000;
/** Failures of `POST /link` told on the code form itself rather than on a page of their own. */
const FORM_REASONS: ReadonlySet<FailureReason> = new Set(['invalid_code', 'malformed_code', 'locked', 'store_unavailable']);

/**
 * The end user's pages: enter the pairing code (`/link`), ticket links (`/link/start`), the OAuth
 * callback, and unlink. Every failure ends on a page that says what happened and how to retry.
 */
export function linkingRoutes(linking: LinkingService, views: nunjucks.Environment, log: Logger, secureCookies: boolean, csrfKey: Buffer): Router {
  const router = Router();
  const csrf = new PreSessionCsrf(csrfKey, { form: 'account linking', maxAgeMs: CSRF_FORM_MS });

  // The code form's POST answers with a redirect to the provider's login page, and browsers apply
  // `form-action` to that redirect: the pages allow any https origin there (http only outside
  // production, for local providers). Nothing else is loaded but our stylesheet.
  const csp = `default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self' https:${secureCookies ? '' : ' http:'}; frame-ancestors 'none'; base-uri 'none'`;
  const render = (res: Response, status: number, view: string, data: Record<string, unknown>): void => {
    res.status(status).set({ 'cache-control': 'no-store', 'content-security-policy': csp }).type('html').send(views.render(view, data));
  };
  const fail = (req: Request, res: Response, err: unknown): void => {
    const failure = linkFailureOf(err);
    const reason: FailureReason = failure?.reason ?? 'provider_error';
    if (failure === undefined) log.error({ reqId: req.requestId, err }, 'account linking failed unexpectedly');
    else log.info({ reqId: req.requestId, reason, detail: failure.message, cause: failure.cause === undefined ? undefined : describeError(failure.cause) }, 'account linking step failed');
    req.failure = { code: `link_${reason}` };
    const f = failurePage(reason);
    render(res, f.status, 'link-message.njk', { title: f.title, body: f.body, retry: f.retry, kind: 'error', startOver: true });
  };
  // A form that could not be read (stalled, cut off, too large, not decompressing) ends on a page
  // too, with its code's status, not on the app's JSON.
  const parseForm = withBodyDeadline(express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 }));
  const form: RequestHandler = (req, res, next) => {
    parseForm(req, res, (err?: unknown) => {
      if (err === undefined) {
        next();
        return;
      }
      const appErr = toAppError(err);
      const internal = appErr.code === 'internal_error';
      req.failure = { code: appErr.code, ...(internal ? { err } : {}) };
      res.set(appErr.headers ?? {});
      render(res, appErr.status, 'link-message.njk', {
        title: internal ? 'Something went wrong' : 'The form did not arrive',
        body: internal ? `Something went wrong on our side. Quote the request id ${req.requestId} when reporting it.` : appErr.message,
        retry: 'Go back and send it again.',
        kind: 'error',
        startOver: true,
      });
    });
  };
  // The code and unlink forms come before any session: signed double-submit tokens (security/csrf.ts).
  const csrfToken = (req: Request, res: Response): string => {
    const { nonce, token } = csrf.issue(readCookie(req.headers.cookie, CSRF_COOKIE));
    res.cookie(CSRF_COOKIE, nonce, { httpOnly: true, sameSite: 'lax', secure: secureCookies, path: '/link', maxAge: CSRF_FORM_MS });
    return token;
  };
  const csrfOk = (req: Request): boolean => {
    const body: unknown = req.body;
    const field = typeof body === 'object' && body !== null && 'csrf' in body ? body.csrf : undefined;
    return csrf.verify(readCookie(req.headers.cookie, CSRF_COOKIE), field);
  };

  router.get('/link', (req, res) => {
    linking.linkPageOpened();
    render(res, 200, 'link.njk', { csrf: csrfToken(req, res), code: '' });
  });

  router.post('/link', form, async (req, res) => {
    if (!csrfOk(req)) {
      render(res, 403, 'link.njk', { csrf: csrfToken(req, res), code: '', error: 'This form expired. Please enter the code again.' });
      return;
    }
    const code = String((req.body as Record<string, unknown>)['code'] ?? '').slice(0, 32);
    try {
      res.redirect(303, (await linking.beginFromCode(code, req.ip ?? 'unknown')).href);
    } catch (err) {
      const failure = linkFailureOf(err);
      // What the user can act on from the form itself: it stays, with the code typed (a store
      // outage too: "try again shortly" is pressing Continue again).
      if (failure !== undefined && FORM_REASONS.has(failure.reason)) {
        const f = failurePage(failure.reason);
        req.failure = { code: `link_${failure.reason}` };
        render(res, f.status, 'link.njk', { csrf: csrfToken(req, res), code, error: `${f.title}. ${f.body} ${f.retry}`, locked: failure.reason === 'locked' });
        return;
      }
      fail(req, res, err);
    }
  });

  router.get('/link/start', async (req, res) => {
    const ticket = req.query['ticket'];
    try {
      if (typeof ticket !== 'string' || ticket === '') throw new LinkFailure('invalid_ticket');
      res.redirect(303, (await linking.beginFromTicket(ticket)).href);
    } catch (err) {
      fail(req, res, err);
    }
  });

  router.get('/oauth/callback', async (req, res) => {
    try {
      const url = new URL(req.originalUrl, linking.linkUrl);
      const done = await linking.complete(url);
      render(res, 200, 'link-success.njk', { message: done.message, extensionName: done.extension.name, unlinkUrl: done.unlinkUrl });
    } catch (err) {
      fail(req, res, err);
    }
  });

  router.get('/link/unlink', async (req, res) => {
    const ticket = typeof req.query['ticket'] === 'string' ? req.query['ticket'] : '';
    let extensionName: string | undefined;
    try {
      extensionName = ticket === '' ? undefined : await linking.unlinkTicketExtensionName(ticket);
    } catch (err) {
      fail(req, res, err);
      return;
    }
    if (extensionName === undefined) {
      fail(req, res, new LinkFailure('invalid_ticket'));
      return;
    }
    render(res, 200, 'link-unlink.njk', { csrf: csrfToken(req, res), ticket, extensionName });
  });

  // "Keep it linked" on the unlink page: nothing to change, but the user gets an answer that says so
  // (the ticket stays valid, so they can still change their mind within the hour).
  router.get('/link/kept', async (req, res) => {
    const ticket = typeof req.query['ticket'] === 'string' ? req.query['ticket'] : '';
    // Without the store the extension's name is unknown, but "nothing was changed" stays true.
    const name =
      ticket === ''
        ? undefined
        : await linking.unlinkTicketExtensionName(ticket).catch((err: unknown) => {
            if (isStoreUnavailable(err)) return undefined;
            throw err;
          });
    render(res, 200, 'link-message.njk', {
      title: 'Still linked',
      body: name === undefined ? 'Nothing was changed: your account is still linked.' : `Nothing was changed: your account is still linked to ${name}.`,
      retry: 'You can close this page.',
      kind: 'ok',
    });
  });

  router.post('/link/unlink', form, async (req, res) => {
    if (!csrfOk(req)) {
      fail(req, res, new LinkFailure('invalid_request', 'csrf'));
      return;
    }
    let unlinked: boolean;
    try {
      unlinked = await linking.unlinkWithTicket(String((req.body as Record<string, unknown>)['ticket'] ?? ''));
    } catch (err) {
      fail(req, res, err);
      return;
    }
    if (!unlinked) {
      fail(req, res, new LinkFailure('invalid_ticket'));
      return;
    }
    render(res, 200, 'link-message.njk', {
      title: 'Account unlinked',
      body: 'Your account is no longer linked. The extension cannot use it any more.',
      retry: 'To link it again, ask CLOVA for a new code.',
      kind: 'ok',
    });
  });

  return router;
}
