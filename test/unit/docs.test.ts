import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : /\.(ts|mjs|js|md|njk)$/.test(e.name) ? [join(dir, e.name)] : []));
}

describe('documentation lives in the repository', () => {
  test('every relative link and every docs/ path the README cites exists', () => {
    const readme = read('README.md');
    const links = [...readme.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((href) => !/^[a-z]+:/.test(href));
    const paths = [...readme.matchAll(/`((?:docs|bench|scripts|test)\/[^`\s*]+)`/g)].map((m) => m[1]!);
    expect(links.length + paths.length).toBeGreaterThan(0);
    for (const file of [...links, ...paths]) expect([file, existsSync(join(ROOT, file))]).toEqual([file, true]);
  });

  test('nothing in the README, the docs or the code points outside the repository (shared/…)', () => {
    const files = ['README.md', 'CHANGELOG.md', ...sources('docs'), ...sources('src'), ...sources('scripts')];
    const outside = files.filter((f) => /(^|[\s(`'"])(\/work\/)?shared\/(DESIGN|PERFORMANCE|STYLE|STACK|cek)/.test(read(f)));
    expect(outside).toEqual([]);
  });

  test('the design and performance documents cited as DESIGN.md and PERFORMANCE.md are in docs/', () => {
    expect(read('docs/DESIGN.md')).toContain('## 11. Benchmarks');
    expect(existsSync(join(ROOT, 'docs/PERFORMANCE.md'))).toBe(true);
  });

  test('the quick start sends people to /admin', () => {
    const quickStart = read('README.md').split('## Quick start')[1]!.split('\n## ')[0]!;
    expect(quickStart).toContain('/admin');
  });

  test('CHANGELOG.md keeps an Unreleased section and an entry for the version in package.json', () => {
    const changelog = read('CHANGELOG.md');
    const { version } = JSON.parse(read('package.json')) as { version: string };
    expect(changelog).toContain('## [Unreleased]');
    expect(changelog).toMatch(new RegExp(`^## \\[${version.replace(/\./g, '\\.')}\\] - \\d{4}-\\d{2}-\\d{2}$`, 'm'));
  });

  test('private keys and .env stay out of git and out of the image', () => {
    for (const file of ['.gitignore', '.dockerignore']) {
      const lines = read(file).split('\n');
      expect([file, lines.includes('*.pem'), lines.includes('.env')]).toEqual([file, true, true]);
    }
  });
});
