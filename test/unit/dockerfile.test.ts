import { readFileSync } from 'node:fs';

/**
 * No Docker engine runs in CI, so the image is checked in two halves: the file set and the start are
 * run for real by test/integration/package.test.ts (the same `npm pack` output the image unpacks), and
 * here the Dockerfile is read for how it assembles and runs that set.
 */
const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));
const stages: string[][] = [];
for (const line of instructions) {
  if (/^FROM /i.test(line)) stages.push([line]);
  else stages[stages.length - 1]?.push(line);
}
const runtime = stages[stages.length - 1] ?? [];

describe('Dockerfile', () => {
  test('packs the package in a build stage and installs production dependencies only', () => {
    const build = stages.find((s) => s.some((l) => /npm pack/.test(l)));
    expect(build).toBeDefined();
    expect(stages.some((s) => s.some((l) => /^RUN npm ci --omit=dev\b/.test(l)))).toBe(true);
  });

  test('the runtime stage takes the unpacked package and the production node_modules, nothing from the context', () => {
    const copies = runtime.filter((l) => /^COPY /i.test(l));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) expect(copy).toMatch(/^COPY --from=/);
  });

  test('runs as a non-root user with a health check, without compiling at start', () => {
    const user = runtime.find((l) => /^USER /i.test(l));
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER (root|0)\b/);
    expect(runtime.some((l) => /^HEALTHCHECK .*\/(readyz|healthz)/.test(l))).toBe(true);
    expect(runtime.find((l) => /^CMD /.test(l))).toBe('CMD ["node", "dist/main.js"]');
    expect(runtime.join('\n')).not.toMatch(/\btsc\b|npm run build|npm start/);
    expect(runtime.some((l) => /NODE_ENV=production/.test(l) && /HOST=0\.0\.0\.0/.test(l))).toBe(true);
  });
});
