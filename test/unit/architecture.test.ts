import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The dependency rules of DESIGN.md section 2, checked on the source itself: no import cycle in
 * src/ (type-only imports included), `admin/` imported only by app.ts, and the shared folders
 * importing no feature folder.
 */
const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
const FEATURE_FOLDERS = ['extensions', 'linking', 'actions', 'gateway', 'admin'];
const SHARED_FOLDERS = ['http', 'config', 'security', 'store'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

/** file (relative to src, without .ts) → the src files it imports (relative specifiers only). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const specifier = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'(\.{1,2}\/[^']+)'/g;
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const from = path.relative(SRC, file).replace(/\.ts$/, '');
    const targets: string[] = [];
    for (const m of text.matchAll(specifier)) {
      const spec = m[1] ?? '';
      targets.push(path.relative(SRC, path.resolve(path.dirname(file), spec)).replace(/\.js$/, ''));
    }
    graph.set(from, targets);
  }
  return graph;
}

function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') return [...stack.slice(stack.indexOf(next)), next];
      if (state.get(next) === undefined && graph.has(next)) {
        const found = visit(next);
        if (found !== undefined) return found;
      }
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    if (state.get(node) !== undefined) continue;
    const found = visit(node);
    if (found !== undefined) return found;
  }
  return undefined;
}

const folderOf = (file: string): string => file.split(path.sep)[0] ?? '';

describe('architecture', () => {
  const graph = importGraph();

  test('the graph was read (every import resolves to a file of src/)', () => {
    expect(graph.size).toBeGreaterThan(50);
    const missing = [...graph.entries()].flatMap(([from, tos]) => tos.filter((to) => !graph.has(to)).map((to) => `${from} → ${to}`));
    expect(missing).toEqual([]);
  });

  test('no import cycle in src/, type-only imports included', () => {
    expect(findCycle(graph)).toBeUndefined();
  });

  test('the cycle finder finds a cycle', () => {
    expect(
      findCycle(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
        ]),
      ),
    ).toEqual(['a', 'b', 'c', 'a']);
  });

  test('admin/ is imported only by app.ts, admin/ itself and the CLI (a client of the admin API, sharing its wire types)', () => {
    const offenders = [...graph.entries()].filter(([from, tos]) => from !== 'app' && !['admin', 'cli'].includes(folderOf(from)) && tos.some((to) => folderOf(to) === 'admin')).map(([from]) => from);
    expect(offenders).toEqual([]);
  });

  test('http/, config/, security/ and store/ import no feature folder', () => {
    const offenders = [...graph.entries()].flatMap(([from, tos]) =>
      SHARED_FOLDERS.includes(folderOf(from)) ? tos.filter((to) => FEATURE_FOLDERS.includes(folderOf(to))).map((to) => `${from} → ${to}`) : [],
    );
    expect(offenders).toEqual([]);
  });
});
