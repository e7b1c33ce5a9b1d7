// Module hooks that let Node run the TypeScript sources as they are (no build): `.js` imports that
// name a `.ts` file resolve to it, and `.ts` files are transpiled on load (types erased only, no type
// check: `npm run typecheck` does that). Used by tests that start the CLI as a child process.
// Transpiled files are cached in node_modules/.cache by path, size and mtime, so only the first run
// after a change loads the TypeScript compiler (most of a cold start).
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { URL, fileURLToPath } from 'node:url';

const CACHE = fileURLToPath(new URL('../../node_modules/.cache/cek-ts-run/', import.meta.url));

export async function resolve(specifier, context, next) {
  if (context.parentURL?.startsWith('file:') && /^\.{1,2}\//.test(specifier) && specifier.endsWith('.js')) {
    const url = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
    if (existsSync(fileURLToPath(url))) return { url: url.href, shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const file = fileURLToPath(url);
  const st = statSync(file);
  const cached = `${CACHE}${createHash('sha256').update(`${file}\0${st.size}\0${st.mtimeMs}`).digest('hex')}.js`;
  if (existsSync(cached)) return { format: 'module', source: await readFile(cached, 'utf8'), shortCircuit: true };
  const { default: ts } = await import('typescript');
  const { outputText } = ts.transpileModule(await readFile(file, 'utf8'), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023, verbatimModuleSyntax: true, inlineSourceMap: true },
  });
  mkdirSync(CACHE, { recursive: true });
  // Written aside and renamed: two processes starting at once never read half a file.
  const partial = `${cached}.${randomUUID()}.tmp`;
  await writeFile(partial, outputText);
  await rename(partial, cached);
  return { format: 'module', source: outputText, shortCircuit: true };
}
