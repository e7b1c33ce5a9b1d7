import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * scripts/build.mjs on a two-file project of its own (the script finds the project from its own
 * location): `--if-stale` builds nothing when no source changed, and rebuilds after an edit or a
 * deletion; `--clean` leaves no stale output.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Each build starts the TypeScript compiler (seconds on a busy two-core machine).
const BUILD_TEST_TIMEOUT_MS = 120_000;
let dir: string;

function build(...args: string[]): void {
  const r = spawnSync(process.execPath, [join(dir, 'scripts', 'build.mjs'), ...args], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build.mjs ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
}
const stampTime = (): number => statSync(join(dir, 'dist', '.build-stamp')).mtimeMs;
/** Saves a file "later": its mtime a second ahead, so the change never shares the stamp's instant. */
function save(file: string, text: string): void {
  writeFileSync(join(dir, file), text);
  const later = new Date(Date.now() + 1000);
  utimesSync(join(dir, file), later, later);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cek-build-'));
  mkdirSync(join(dir, 'scripts'));
  mkdirSync(join(dir, 'src'));
  cpSync(join(ROOT, 'scripts', 'build.mjs'), join(dir, 'scripts', 'build.mjs'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2023', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: [] } }));
  writeFileSync(join(dir, 'tsconfig.build.json'), JSON.stringify({ extends: './tsconfig.json', compilerOptions: { rootDir: 'src', outDir: 'dist' }, include: ['src'] }));
  writeFileSync(join(dir, 'src', 'main.ts'), 'export const answer: number = 1;\n');
  writeFileSync(join(dir, 'src', 'extra.ts'), 'export const extra = 2;\n');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('scripts/build.mjs', () => {
  test(
    '--if-stale builds once, then does nothing until a source changes',
    () => {
      build('--if-stale');
      expect(readFileSync(join(dir, 'dist', 'main.js'), 'utf8')).toContain('answer = 1');
      const first = stampTime();

      build('--if-stale');
      expect(stampTime()).toBe(first);

      save('src/main.ts', 'export const answer: number = 42;\n');
      build('--if-stale');
      expect(readFileSync(join(dir, 'dist', 'main.js'), 'utf8')).toContain('answer = 42');
      expect(stampTime()).not.toBe(first);
    },
    BUILD_TEST_TIMEOUT_MS,
  );

  test(
    '--if-stale rebuilds after a source is deleted (its directory changed)',
    () => {
      build('--if-stale');
      const before = stampTime();
      unlinkSync(join(dir, 'src', 'extra.ts'));
      const later = new Date(Date.now() + 2000);
      utimesSync(join(dir, 'src'), later, later);
      build('--if-stale');
      expect(stampTime()).not.toBe(before);
    },
    BUILD_TEST_TIMEOUT_MS,
  );

  test(
    '--clean removes output whose source is gone',
    () => {
      writeFileSync(join(dir, 'dist', 'stale.js'), 'old\n');
      build('--clean');
      expect(existsSync(join(dir, 'dist', 'stale.js'))).toBe(false);
      expect(existsSync(join(dir, 'dist', 'main.js'))).toBe(true);
    },
    BUILD_TEST_TIMEOUT_MS,
  );
});
