import type { Request, RequestHandler, Response } from 'express';
import type { Gateway } from '../../gateway/gateway.js';
import { readCookie } from '../../http/cookies.js';
import { type LinkingService } from '../../linking/service.js';
import type { Services } from '../../services.js';
import type { LoginLimiter } from '../adminAuth.js';
import type { CekTap } from '../../cek/tap.js';
import type { AdminViews } from './render.js';
import { csrfMatches } from './security.js';
import type { AdminSession, AdminSessions, Flash } from './sessions.js';

export const SESSION_COOKIE = 'cekgw_admin';
/** The cookie is sent to the admin pages only: not to /api, /cek, /link or /static. */
export const COOKIE_PATH = '/admin';

/** What every admin page handler works with. */
export interface PagesContext {
  readonly s: Services;
  readonly views: AdminViews;
  readonly sessions: AdminSessions;
  readonly limiter: LoginLimiter;
  readonly tap: CekTap;
  /** Keyed hash of ADMIN_TOKEN stored in each session: a new token ends the old sessions. */
  readonly tokenTag: string;
  /** `secure` cookies when PUBLIC_URL is https. */
  readonly secureCookies: boolean;
}

const sessions = new WeakMap<Request, AdminSession>();

/** The signed-in session of a request (set by `requireSession`). */
export function sessionOf(req: Request): AdminSession {
  const session = sessions.get(req);
  if (session === undefined) throw new Error('admin page handler reached without a session');
  return session;
}

/** Account linking as the pages need it (settings, links, unlink). */
export function linkingOf(s: Services): LinkingService {
  return s.features.linking.service;
}

/** Only relative /admin paths, so `?next=` cannot send a signed-in admin to another site. */
export function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/admin(?:[/?][^\s\\]*)?$/.test(value) && !value.startsWith('//') ? value : '/admin/extensions';
}

/**
 * Every page but sign-in: a valid session or a redirect to the sign-in page (pages are unreachable
 * signed out), then, for every state-changing request, the CSRF field (403 page otherwise).
 */
export function requireSession(ctx: PagesContext): RequestHandler {
  return async (req, res, next) => {
    const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
    const session = await ctx.sessions.load(cookie, ctx.tokenTag);
    if (session === undefined) {
      if (cookie !== undefined) res.clearCookie(SESSION_COOKIE, { path: COOKIE_PATH });
      const params = new URLSearchParams();
      // After a POST, come back to the page the form was on, not to the POST URL.
      if (req.method === 'GET') params.set('next', req.originalUrl);
      if (cookie !== undefined) params.set('expired', '1');
      // A form posted after the session ended was not saved: the sign-in page says so, and admin.js
      // (which kept the posted fields in the tab) takes the admin back to the form, filled in again.
      if (req.method !== 'GET' && req.method !== 'HEAD') params.set('unsaved', '1');
      const query = params.toString();
      res.redirect(303, `/admin/login${query === '' ? '' : `?${query}`}`);
      return;
    }
    sessions.set(req, session);
    if (req.method !== 'GET' && req.method !== 'HEAD' && !csrfMatches(req.body, session.record.csrf)) {
      req.failure = { code: 'csrf_failed' };
      await page(ctx, req, res, 403, 'message.njk', {
        title: 'This form was refused',
        kind: 'error',
        body: 'It did not carry the security token of your session: it may come from an old tab, from before you signed in again, or from another site.',
        hint: 'Nothing was changed. Go back, reload the page and try again.',
      });
      return;
    }
    next();
  };
}

/** The sealing context of a Chatbot Secret carried to the next page: bound to the session and the extension. */
const flashSecretContext = (session: AdminSession, extensionId: string): string => `admin-flash-secret:${session.keyHash}:${extensionId}`;
/** The same for the values of an API key, bound to the key as well. */
const flashApiKeyContext = (session: AdminSession, extensionId: string, keyId: string): string => `admin-flash-apikey:${session.keyHash}:${extensionId}:${keyId}`;

/** The same for a webhook endpoint's signing secret, bound to the endpoint as well. */
const flashWebhookSecretContext = (session: AdminSession, extensionId: string, webhookId: string): string => `admin-flash-whsec:${session.keyHash}:${extensionId}:${webhookId}`;

/** The values of an API key shown once on the Gateway tab (one side only after a regeneration). */
export interface NewApiKey {
  keyId: string;
  name: string;
  primary?: string;
  secondary?: string;
}

/**
 * Renders an admin page with the session's CSRF secret and its one-shot flash message. A new Chatbot
 * Secret in the flash is opened only on the page of its extension (`secretFor`) and given to the
 * view as `newSecret`; new API key values only on the Gateway tab of theirs (`apiKeyFor`), as
 * `newApiKey`; a webhook secret only on the page of its endpoint (`webhookSecretFor`), as
 * `newWebhookSecret`. Each is gone from the session from then on.
 */
export async function page(
  ctx: PagesContext,
  req: Request,
  res: Response,
  status: number,
  view: string,
  data: Record<string, unknown>,
  o: { secretFor?: string; apiKeyFor?: string; webhookSecretFor?: { extensionId: string; webhookId: string } } = {},
): Promise<void> {
  const session = sessions.get(req);
  const flash = session === undefined || status >= 400 ? undefined : await ctx.sessions.takeFlash(session);
  let newSecret: string | undefined;
  if (session !== undefined && flash?.secret !== undefined && flash.secret.extensionId === o.secretFor) {
    newSecret = ctx.s.keyring.open(flash.secret.sealed, flashSecretContext(session, flash.secret.extensionId));
  }
  let newApiKey: NewApiKey | undefined;
  const key = flash?.apiKey;
  if (session !== undefined && key !== undefined && key.extensionId === o.apiKeyFor) {
    const values = JSON.parse(ctx.s.keyring.open(key.sealed, flashApiKeyContext(session, key.extensionId, key.keyId))) as { primary?: unknown; secondary?: unknown };
    newApiKey = { keyId: key.keyId, name: key.name };
    if (typeof values.primary === 'string') newApiKey.primary = values.primary;
    if (typeof values.secondary === 'string') newApiKey.secondary = values.secondary;
  }
  let newWebhookSecret: string | undefined;
  const wh = flash?.webhookSecret;
  if (session !== undefined && wh !== undefined && wh.extensionId === o.webhookSecretFor?.extensionId && wh.webhookId === o.webhookSecretFor.webhookId) {
    newWebhookSecret = ctx.s.keyring.open(wh.sealed, flashWebhookSecretContext(session, wh.extensionId, wh.webhookId));
  }
  ctx.views.render(res, status, view, {
    ...data,
    ...(session === undefined ? {} : { csrf: session.record.csrf, signedIn: true }),
    ...(flash === undefined ? {} : { flash: { kind: flash.kind, text: flash.text } }),
    ...(newSecret === undefined ? {} : { newSecret }),
    ...(newApiKey === undefined ? {} : { newApiKey }),
    ...(newWebhookSecret === undefined ? {} : { newWebhookSecret }),
  });
}

/** A flash that carries a new Chatbot Secret to the extension's page, sealed while it waits in the store. */
export function secretFlash(ctx: PagesContext, req: Request, extensionId: string, secret: string, text: string): Flash {
  const session = sessionOf(req);
  return { kind: 'ok', text, secret: { extensionId, sealed: ctx.s.keyring.seal(secret, flashSecretContext(session, extensionId)) } };
}

/** A flash that carries the values of an API key to its Gateway tab, sealed while they wait in the store. */
export function apiKeyFlash(ctx: PagesContext, req: Request, extensionId: string, key: { id: string; name: string }, values: { primary?: string; secondary?: string }, text: string): Flash {
  const sealed = ctx.s.keyring.seal(JSON.stringify(values), flashApiKeyContext(sessionOf(req), extensionId, key.id));
  return { kind: 'ok', text, apiKey: { extensionId, keyId: key.id, name: key.name, sealed } };
}

/** A flash that carries a new webhook signing secret to its endpoint's page, sealed while it waits in the store. */
export function webhookSecretFlash(ctx: PagesContext, req: Request, extensionId: string, webhookId: string, secret: string, text: string): Flash {
  const sealed = ctx.s.keyring.seal(secret, flashWebhookSecretContext(sessionOf(req), extensionId, webhookId));
  return { kind: 'ok', text, webhookSecret: { extensionId, webhookId, sealed } };
}

/** The gateway as the pages need it (settings, keys, usage), when the feature is installed. */
export function gatewayOf(s: Services): Gateway {
  return s.features.gateway.service;
}

/** Stores a message for the next page and redirects there (post/redirect/get). */
export async function redirectWith(ctx: PagesContext, req: Request, res: Response, to: string, flash: Flash): Promise<void> {
  await ctx.sessions.setFlash(sessionOf(req), flash);
  res.redirect(303, to);
}
