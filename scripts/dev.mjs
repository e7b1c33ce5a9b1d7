#!/usr/bin/env node
/**
 * `npm run dev`: `tsc --watch` re-emits what changed into dist/, and `node --watch-path` restarts
 * the service whenever dist/ or a template in views/ changes. Two child processes, no extra dependency; Ctrl-C
 * stops both, and if either one exits the other is stopped too.
 */
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

// A first build up front, so `node --watch` starts on a complete dist/ instead of a half-written one.
const first = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--if-stale'], { stdio: 'inherit' });
if (first.status !== 0) process.exit(first.status ?? 1);

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const children = [
  spawn(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--watch', '--preserveWatchOutput', '--incremental', '--tsBuildInfoFile', join(dist, '.tsbuildinfo')], { stdio: 'inherit' }),
  // dist/ for code, views/ for templates (read once and cached by the running service).
  spawn(process.execPath, ['--watch-path', dist, '--watch-path', join(root, 'views'), join(dist, 'main.js')], { stdio: 'inherit', cwd: root }),
];

let exiting = false;
function stopAll(code) {
  if (exiting) return;
  exiting = true;
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  process.exitCode = code;
}
for (const child of children) child.on('exit', (code) => stopAll(code ?? 0));
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
