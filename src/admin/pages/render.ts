import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Response } from 'express';
import type nunjucks from 'nunjucks';
import { sha256Hex } from '../../security/hash.js';
import { createViews, PUBLIC_DIR } from '../../http/views.js';
import { CSRF_FIELD } from './security.js';

/** `/static/<file>?v=<content hash>`: /static is cached for an hour, a new deploy must not get stale CSS or JS. */
function assetUrl(file: string): string {
  let version = 'dev';
  try {
    version = sha256Hex(readFileSync(join(PUBLIC_DIR, file))).slice(0, 12);
  } catch {
    // Missing file: the page still renders, unstyled; the URL says so in the network tab.
  }
  return `/static/${file}?v=${version}`;
}

/** "2026-11-23 19:40 UTC" */
export function formatDate(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** "in 52 min", "3 days ago" */
export function formatRelative(value: string | number | null | undefined, now = Date.now()): string {
  if (value === null || value === undefined || value === '') return '';
  const t = new Date(value).getTime();
  if (Number.isNaN(t)) return '';
  const diff = t - now;
  const abs = Math.abs(diff);
  const units: Array<[number, string]> = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'min'],
  ];
  let text = 'less than a minute';
  for (const [ms, unit] of units) {
    if (abs >= ms) {
      const n = Math.floor(abs / ms);
      text = unit === 'min' ? `${n} min` : `${n} ${unit}${n === 1 ? '' : 's'}`;
      break;
    }
  }
  return diff >= 0 ? `in ${text}` : `${text} ago`;
}

/** "1,234,567" (counts on the usage pages; anything that is not a number is shown as it is). */
export function formatCount(value: unknown): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toLocaleString('en-US') : String(value ?? '');
}

/** The view data every admin page gets. */
export interface PageBase {
  /** The session's CSRF secret, for the hidden field of every form (and the sign-out button). */
  csrf?: string;
  flash?: { kind: string; text: string };
}

export interface AdminViews {
  render(res: Response, status: number, view: string, data: PageBase & Record<string, unknown>): void;
}

/** The template engine of the admin pages (views/admin/), autoescaping on; `| safe` is never used on data. */
export function createAdminViews(o: { publicUrl: string }): AdminViews {
  const env: nunjucks.Environment = createViews();
  env.addFilter('date', formatDate);
  env.addFilter('relative', (v: string | number | null | undefined) => formatRelative(v));
  env.addFilter('num', formatCount);
  env.addGlobal('assets', { css: assetUrl('admin.css'), js: assetUrl('admin.js') });
  env.addGlobal('csrfField', CSRF_FIELD);
  env.addGlobal('publicUrl', o.publicUrl);
  return {
    render(res, status, view, data) {
      res
        .status(status)
        .type('html')
        .send(env.render(`admin/${view}`, data));
    },
  };
}
