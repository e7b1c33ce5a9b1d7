import type { RequestHandler } from 'express';
import { sessionTokenMatches } from '../../security/csrf.js';

/**
 * Headers of every `/admin` response, on top of helmet's defaults (set globally in app.ts):
 * - `content-security-policy`: replaces helmet's default with a stricter one. Scripts and styles
 *   only from our own origin (`/static/admin.js`, `/static/admin.css`): no inline script or style,
 *   hashed or not, so an injected tag cannot run. Forms post only to us (`form-action`), the pages
 *   cannot be framed (clickjacking on the delete and unlink buttons), `<base>` cannot re-point
 *   relative URLs, no plugins. Images only for a data: favicon. `connect-src 'self'`: nothing fetches
 *   today, but a same-origin enhancement may, and other origins stay closed.
 * - `cache-control: no-store`: pages show secrets once and settings always; neither the browser's
 *   back button nor a shared proxy may keep a copy (oidc-provider's `no_cache`).
 * - `x-robots-tag`: an admin console has nothing to index.
 */
export const ADMIN_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

export const adminHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('content-security-policy', ADMIN_CSP);
  res.setHeader('cache-control', 'no-store');
  res.setHeader('x-robots-tag', 'noindex, nofollow');
  next();
};

/** The CSRF field every state-changing form carries. */
export const CSRF_FIELD = '_csrf';

/** The CSRF field of a posted admin form (`undefined` when there is none). */
export function csrfField(body: unknown): unknown {
  return typeof body === 'object' && body !== null && CSRF_FIELD in body ? body[CSRF_FIELD] : undefined;
}

/** True when the posted form carries the session's CSRF secret (security/csrf.ts). */
export function csrfMatches(body: unknown, expected: string): boolean {
  return sessionTokenMatches(csrfField(body), expected);
}
