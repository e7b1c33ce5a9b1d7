import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';

/** Where `views/` and `public/` are: two levels up from this file in both `src/http` and `dist/http`. */
export const VIEWS_DIR = fileURLToPath(new URL('../../views', import.meta.url));
export const PUBLIC_DIR = fileURLToPath(new URL('../../public', import.meta.url));

/**
 * The template engine of every server-rendered page. Autoescaping is on, so anything from users,
 * developers or providers is shown as text; `| safe` is never used on such values.
 */
export function createViews(): nunjucks.Environment {
  return new nunjucks.Environment(new nunjucks.FileSystemLoader(VIEWS_DIR, { noCache: false }), {
    autoescape: true,
    throwOnUndefined: false,
    trimBlocks: true,
    lstripBlocks: true,
  });
}
