#!/usr/bin/env node
/**
 * Builds src/ into dist/ with tsc.
 *
 *   node scripts/build.mjs             incremental build (tsc only re-emits what changed)
 *   node scripts/build.mjs --if-stale  nothing at all when no source changed since the last build
 *   node scripts/build.mjs --clean     dist/ removed first: what `npm pack` ships holds no stale file
 *
 * `--if-stale` is what `npm start` runs: comparing modification times costs a few milliseconds, where
 * even a no-op `tsc` costs seconds (it still loads the compiler and every source).
 * Directories are compared too, so a deleted or renamed source also counts as a change.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
// Inside dist/, so removing dist/ also forgets the incremental state (tsc would otherwise emit nothing).
const stamp = join(dist, '.build-stamp');
const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'].map((p) => join(root, p));

function newestMtime(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function isFresh() {
  if (!existsSync(stamp) || !existsSync(join(dist, 'main.js'))) return false;
  const built = statSync(stamp).mtimeMs;
  return inputs.every((p) => !existsSync(p) || newestMtime(p) <= built);
}

const args = new Set(process.argv.slice(2));
// An installed package (npm pack output) ships dist/ built and no src/: there is nothing to build.
const packaged = !existsSync(join(root, 'src')) && existsSync(join(dist, 'main.js'));
if (args.has('--if-stale') && (packaged || isFresh())) process.exit(0);
if (args.has('--clean')) rmSync(dist, { recursive: true, force: true });

const startedAt = Date.now();
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc)) {
  process.stderr.write('cek-gateway: TypeScript is not installed here; run `npm ci` first (a packed install ships dist/ already built).\n');
  process.exit(1);
}
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--incremental', '--tsBuildInfoFile', join(dist, '.tsbuildinfo')], {
  stdio: 'inherit',
});
if (result.status !== 0) process.exit(result.status ?? 1);
mkdirSync(dist, { recursive: true });
// Dated when the build began, so a source saved during it is newer than the stamp and rebuilds next time.
writeFileSync(stamp, `${new Date(startedAt).toISOString()}\n`);
utimesSync(stamp, new Date(startedAt), new Date(startedAt));
