import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redisServerBinary, startPrivateRedis } from '../helpers/redisServer.js';

/**
 * The shipped file set, run as a user of the package would: `npm pack` of a clean copy of the
 * checkout (its `prepack` builds dist/ from scratch), the tarball unpacked into an empty folder with production dependencies only, and
 * `node dist/main.js` started there with NODE_ENV=production. The Dockerfile's runtime stage is made
 * the same way, so what passes here is what the image runs.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// npm pack builds dist/ and compresses; the copy of the production packages is ~50 MB.
const SETUP_TIMEOUT_MS = 240_000;
const START_TIMEOUT_MS = 30_000;

const ADMIN_TOKEN = randomBytes(24).toString('hex');
const ENCRYPTION_KEY = randomBytes(32).toString('base64');

let work: string;
let app: string;
let packedFiles: string[];
let child: ChildProcess | undefined;
let output = '';
let base: string;

function run(command: string, args: string[], cwd: string): string {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/**
 * The production dependency tree as npm resolves it from the lockfile (`npm ls --omit=dev`), copied
 * from this checkout's node_modules. Copying instead of `npm ci --omit=dev` keeps the test offline and
 * fast: better-sqlite3's native binary would otherwise be downloaded or compiled again.
 */
function copyProductionDependencies(target: string): number {
  const r = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  const dirs = r.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith(join(ROOT, 'node_modules') + sep))
    .map((line) => relative(ROOT, line))
    .sort();
  if (dirs.length === 0) throw new Error(`npm ls listed no production dependency:\n${r.stderr}`);
  const copied: string[] = [];
  for (const dir of dirs) {
    // A nested package came along with the package it is nested in.
    if (copied.some((done) => dir.startsWith(done + sep))) continue;
    cpSync(join(ROOT, dir), join(target, dir), { recursive: true, verbatimSymlinks: true });
    copied.push(dir);
  }
  return dirs.length;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilHealthy(url: string, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`the packed service exited with ${proc.exitCode}:\n${output}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the packed service did not answer /healthz within ${START_TIMEOUT_MS} ms:\n${output}`);
}

/** Only what a deployment sets: no REDIS_URL or other variable of this test run leaks in. */
function productionEnv(extra: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    ENCRYPTION_KEY,
    ADMIN_TOKEN,
    DATA_DIR: join(work, 'data'),
    LOG_LEVEL: 'info',
    ...extra,
  };
}

/** Runs the packed service to its exit (for starts that must be refused). */
function runToExit(cwd: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [join(app, 'dist', 'main.js')], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    proc.stdout.on('data', (c: Buffer) => (text += c.toString('utf8')));
    proc.stderr.on('data', (c: Buffer) => (text += c.toString('utf8')));
    const timer = setTimeout(() => proc.kill('SIGKILL'), START_TIMEOUT_MS);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output: text });
    });
  });
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cek-pack-'));
  // Packed from a copy of the checkout as git sees it (a clean clone plus uncommitted work), so the
  // result does not depend on this checkout's dist/, and the prepack's clean build does not remove
  // the dist/ another test or a running `npm start` is using.
  const checkout = join(work, 'checkout');
  const tracked = run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], ROOT)
    .split('\0')
    .filter((f) => f !== '' && existsSync(join(ROOT, f)));
  for (const file of tracked) cpSync(join(ROOT, file), join(checkout, file));
  symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'), 'dir');
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], checkout)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const tarball = packed[0];
  if (tarball === undefined) throw new Error('npm pack produced nothing');
  packedFiles = tarball.files.map((f) => f.path).sort();

  app = join(work, 'app');
  mkdirSync(app);
  run('tar', ['-xzf', join(work, tarball.filename), '-C', app, '--strip-components=1'], work);
  copyProductionDependencies(app);

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  // Part of the configuration comes from a .env in the working directory; its PORT loses to the
  // real environment's (port 1 could not be bound).
  writeFileSync(join(app, '.env'), '# deployment settings\nPUBLIC_URL=https://cek.example.test\nTRUST_PROXY=1\nPORT=1\n');
  child = spawn(process.execPath, ['dist/main.js'], { cwd: app, env: productionEnv({ PORT: String(port) }), stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString('utf8')));
  await waitUntilHealthy(base, child);
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  const proc = child;
  if (proc !== undefined && proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
}, 30_000);

describe('the npm package (npm pack output, production dependencies only)', () => {
  test('ships the built service, its views and static files, and no sources, tests or secrets', () => {
    expect(packedFiles).toEqual(expect.arrayContaining(['package.json', 'dist/main.js', 'views/admin/login.njk', 'public/admin.css', 'public/admin.js', 'public/app.css']));
    const allowed = /^(package\.json|README\.md|CHANGELOG\.md|LICENSE|\.env\.example|scripts\/build\.mjs|dist\/.+\.js|views\/.+|public\/.+|docs\/.+)$/;
    expect(packedFiles.filter((f) => !allowed.test(f))).toEqual([]);
    // Every view and static file of the checkout is in the package.
    for (const dir of ['views', 'public']) {
      for (const f of listFiles(join(ROOT, dir))) expect(packedFiles).toContain(`${dir}/${f}`);
    }
    expect(existsSync(join(app, 'src'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'typescript'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'jest'))).toBe(false);
  });

  test('answers /healthz and /readyz', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  test('GET / sends the visitor to the admin pages', async () => {
    const res = await fetch(`${base}/`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/admin');
  });

  test('serves the sign-in page with its stylesheet and script, and no hint at development files', async () => {
    const res = await fetch(`${base}/admin/login`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('Admin token');
    expect(html).not.toMatch(/dev-secrets|data\//);

    const css = /<link rel="stylesheet" href="([^"]+)"/.exec(html)?.[1];
    const js = /<script[^>]* src="([^"]+)"/.exec(html)?.[1];
    expect(css).toBeDefined();
    expect(js).toBeDefined();
    const style = await fetch(`${base}${css}`);
    expect(style.status).toBe(200);
    expect(style.headers.get('content-type')).toMatch(/^text\/css/);
    const styleText = await style.text();
    expect(styleText.length).toBeGreaterThan(0);
    expect(styleText).toBe(readFileSync(join(ROOT, 'public', new URL(css!, base).pathname.replace('/static/', '')), 'utf8'));
    const script = await fetch(`${base}${js}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^(application|text)\/javascript/);
    expect((await script.text()).length).toBeGreaterThan(0);
  });

  test('a wrong token on the production sign-in page names ADMIN_TOKEN only', async () => {
    const form = await fetch(`${base}/admin/login`);
    const cookie = (form.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const html = await form.text();
    const fields = new URLSearchParams();
    for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields.set(m[1]!, m[2]!);
    fields.set('token', 'not-the-admin-token-at-all');
    // The session cookies are Secure (https PUBLIC_URL): the proxy in front says the request was https.
    const res = await fetch(`${base}/admin/login`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' },
      body: fields.toString(),
    });
    expect(res.status).toBe(401);
    const page = await res.text();
    expect(page).toContain('That is not the admin token. Check ADMIN_TOKEN.');
    expect(page).not.toContain('dev-secrets');
  });

  test('serves the link page with its stylesheet', async () => {
    const res = await fetch(`${base}/link`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    const css = /<link rel="stylesheet" href="([^"]+)"/.exec(html)?.[1];
    expect(css).toBeDefined();
    const style = await fetch(`${base}${css}`);
    expect(style.status).toBe(200);
    expect(style.headers.get('content-type')).toMatch(/^text\/css/);
    expect((await style.text()).length).toBeGreaterThan(0);
  });

  test('read .env from its working directory, the real environment winning', () => {
    expect(output).toContain('read .env');
    expect(output).toContain('reached as https://cek.example.test');
  });

  test('a malformed .env stops the start with the line number and no stack trace', async () => {
    const cwd = join(work, 'bad-dotenv');
    mkdirSync(cwd);
    writeFileSync(join(cwd, '.env'), 'PUBLIC_URL=https://cek.example.test\nADMIN_TOKEN the-secret-typed-wrong\n');
    const result = await runToExit(cwd, productionEnv({ PORT: '0' }));
    expect(result.code).toBe(1);
    expect(result.output).toContain('cek-gateway cannot start.');
    expect(result.output).toContain('.env: line 2 is not NAME=value');
    expect(result.output).not.toContain('the-secret-typed-wrong');
    expect(result.output).not.toMatch(/\n\s+at /);
  });

  (redisServerBinary() === undefined ? test.skip : test)('refuses a Redis that persists nothing, unless REDIS_ALLOW_VOLATILE=1', async () => {
    const redis = await startPrivateRedis(['--save', '', '--appendonly', 'no']);
    try {
      const env = productionEnv({ PORT: '0', PUBLIC_URL: 'https://cek.example.test', REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'packtest:' });
      const refused = await runToExit(work, env);
      expect(refused.code).toBe(1);
      expect(refused.output).toContain('persists nothing');
      expect(refused.output).toContain('REDIS_ALLOW_VOLATILE=1');

      const allowed = spawn(process.execPath, [join(app, 'dist', 'main.js')], { cwd: work, env: { ...env, REDIS_ALLOW_VOLATILE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      allowed.stdout.on('data', (c: Buffer) => (text += c.toString('utf8')));
      const listening = new Promise<void>((resolve, reject) => {
        allowed.stdout.on('data', () => text.includes('cek-gateway listening') && resolve());
        allowed.once('exit', (code) => reject(new Error(`exited with ${code}: ${text}`)));
      });
      await listening;
      expect(text).toContain('persists nothing');
      const exited = new Promise((r) => allowed.once('exit', r));
      allowed.kill('SIGTERM');
      await exited;
    } finally {
      await redis.stop();
    }
  });

  test('never writes a secret to its output', () => {
    expect(output).toContain('cek-gateway listening');
    expect(output).not.toContain(ADMIN_TOKEN);
    expect(output).not.toContain(ENCRYPTION_KEY);
  });
});
