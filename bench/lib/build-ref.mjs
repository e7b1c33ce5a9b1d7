// BENCH_BASE_REF: another build of our service to measure next to this one, from a git ref of this
// repository. The ref's files are exported with `git archive` (no worktree is registered) into the
// run's temp dir, this checkout's node_modules is linked into it (the ref is assumed to have the same
// dependencies), and it is built with its own `npm run build`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { log } from './report.mjs';

/** Returns `{ ref, sha, root, seedRoot }`: `root` holds the ref's dist/; `seedRoot` the bench/ whose seeders write its store. */
export function buildRef(ctx, ref) {
  const sha = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: ctx.root, encoding: 'utf8' }).trim();
  const root = path.join(ctx.tmp, `base-${sha.slice(0, 12)}`);
  mkdirSync(root);
  log(`base: exporting ${ref} (${sha.slice(0, 12)}) to ${root}`);
  const archive = spawnSync('git', ['archive', '--format=tar', sha], { cwd: ctx.root, maxBuffer: 1 << 30 });
  if (archive.status !== 0) throw new Error(`git archive ${ref} failed: ${archive.stderr}`);
  const untar = spawnSync('tar', ['-x', '-C', root], { input: archive.stdout });
  if (untar.status !== 0) throw new Error(`tar of ${ref} failed: ${untar.stderr}`);
  symlinkSync(path.join(ctx.root, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  log(`base: building ${ref} (npm run build)`);
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build of ${ref} failed:\n${build.stdout}${build.stderr}`);
  // The ref's own seeders import its own dist/ (same store format as its service); ours if it has none.
  const seedRoot = existsSync(path.join(root, 'bench', 'seed-vault.mjs')) ? root : ctx.root;
  return { ref, sha, root, seedRoot };
}
