import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { closeGracefully } from '../../src/http/shutdown.js';
import { ADMIN_TOKEN, startTestApp } from '../helpers/app.js';
import { launchRequest } from '../helpers/cek.js';
import { clusterAvailable, deleteClusterKeys, uniquePrefix } from '../helpers/stores.js';
import { closedPort } from '../helpers/targets.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** The service as `npm start` runs it (src/main.ts, transpiled on load), with only `env` set, and what it writes. */
function startMain(cwd: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', path.join(ROOT, 'test/helpers/tsRun.mjs'), path.join(ROOT, 'src/main.ts')], {
    cwd,
    env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (c: Buffer) => (out.stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (out.stderr += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  /** The JSON start line, once written. */
  const startLine = (): { msg: string; port: number; publicUrl: string } | undefined =>
    out.stdout
      .split('\n')
      .slice(0, -1) // whole lines only
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; port: number; publicUrl: string })
      .find((l) => l.msg.startsWith('cek-gateway listening'));
  const started = async () => {
    await waitFor(async () => startLine() !== undefined || child.exitCode !== null, 60_000);
    const line = startLine();
    if (line === undefined) throw new Error(`exited with ${child.exitCode}: ${out.stderr}`);
    return line;
  };
  return { child, out, exited, started };
}

/** `exited`, or undefined when the process is still running after `ms`. */
const exitWithin = (exited: Promise<number | null>, ms: number) => Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);

describe('operations', () => {
  test('/healthz and /readyz answer; /readyz is 503 once the store is down', async () => {
    const app = await startTestApp({ label: 'ops' });
    try {
      expect((await request(app.url).get('/healthz')).body).toEqual({ status: 'ok' });
      expect((await request(app.url).get('/readyz')).body).toEqual({ status: 'ready', store: 'sqlite' });
      await app.store.close();
      const down = await request(app.url).get('/readyz');
      expect(down.status).toBe(503);
      expect(down.body.error.code).toBe('store_unavailable');
      expect((await request(app.url).get('/healthz')).status).toBe(200);
      // The admin API says the same, not 500.
      const api = await request(app.url).get('/api/v1/extensions').set(app.adminHeaders);
      expect(api.status).toBe(503);
      expect(api.body.error.code).toBe('store_unavailable');
    } finally {
      await app.close().catch(() => undefined);
    }
  });

  test('/metrics is Prometheus text with the request counters', async () => {
    const app = await startTestApp({ label: 'metrics' });
    try {
      await request(app.url).get('/api/v1/extensions').set(app.adminHeaders);
      const res = await request(app.url).get('/metrics');
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.text).toMatch(/cekgw_http_requests_total\{route="\/api\/v1\/extensions",method="GET",status="200",outcome="ok"\} 1/);
      expect(res.text).toContain('cekgw_http_request_duration_seconds_bucket');
    } finally {
      await app.close();
    }
  });

  test('graceful shutdown lets an in-flight CEK request finish and refuses new connections', async () => {
    const app = await startTestApp({
      label: 'shutdown',
      responders: () => [
        async () => {
          await new Promise((r) => setTimeout(r, 400));
          return undefined;
        },
      ],
    });
    const created = await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: 'com.example.slow' });
    expect(created.status).toBe(201);
    const raw = JSON.stringify(launchRequest({ extensionId: 'com.example.slow' }));
    const inFlight = fetch(`${app.url}/cek/com.example.slow`, { method: 'POST', body: raw, headers: { SignatureCEK: app.signer.sign(raw) } });
    await new Promise((r) => setTimeout(r, 100));
    const closed = closeGracefully(app.server, 5000);
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { response: { shouldEndSession: boolean } }).response.shouldEndSession).toBe(false);
    await closed;
    await expect(fetch(`${app.url}/healthz`)).rejects.toThrow();
    await app.close().catch(() => undefined);
  });

  test('PORT=0 with ADMIN_TOKEN set and no ENCRYPTION_KEY: the bound port is named and used, no generated admin token is printed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cek-ops-port0-'));
    const main = startMain(dir, { HOST: '127.0.0.1', PORT: '0', DATA_DIR: dir, ADMIN_TOKEN });
    try {
      const line = await main.started();
      expect(line.port).toBeGreaterThan(0);
      expect(line.publicUrl).toBe(`http://localhost:${line.port}`);
      expect(line.msg).toBe(`cek-gateway listening on http://127.0.0.1:${line.port}, reached as http://localhost:${line.port} (admin pages: http://localhost:${line.port}/admin)`);
      const base = `http://127.0.0.1:${line.port}`;
      const created = await fetch(`${base}/api/v1/extensions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ extensionId: 'com.example.port' }),
      });
      expect(created.status).toBe(201);
      expect(((await created.json()) as { invokeUrl: string }).invokeUrl).toBe(`http://localhost:${line.port}/cek/com.example.port`);

      // The development secrets file was made for the encryption key; its admin token opens nothing, and is not shown.
      const generated = (JSON.parse(fs.readFileSync(path.join(dir, 'dev-secrets.json'), 'utf8')) as { adminToken: string }).adminToken;
      expect((await fetch(`${base}/api/v1/extensions`, { headers: { authorization: `Bearer ${generated}` } })).status).toBe(401);
      expect(main.out.stderr + main.out.stdout).not.toContain(generated);
      expect(main.out.stderr).not.toContain('Development admin token');
      expect(main.out.stdout).toContain('ENCRYPTION_KEY is not set');
    } finally {
      main.child.kill('SIGTERM');
      expect(await main.exited).toBe(0);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  test('SIGTERM ends the process when the reader of its output has gone (EPIPE), without an error', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cek-ops-epipe-'));
    // As `npm start 2>&1 | head -c 300`: head reads the first lines and exits.
    const main = startMain(dir, { HOST: '127.0.0.1', PORT: '0', DATA_DIR: dir, ADMIN_TOKEN, ENCRYPTION_KEY: randomBytes(32).toString('base64') });
    try {
      const line = await main.started();
      main.child.stdout.destroy();
      main.child.stderr.destroy();
      main.child.kill('SIGTERM');
      // Well within the grace period: nothing is in flight.
      expect(await exitWithin(main.exited, 20_000)).toBe(0);
      await expect(fetch(`http://127.0.0.1:${line.port}/healthz`)).rejects.toThrow();
    } finally {
      if (main.child.exitCode === null) main.child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  test('an unreachable Redis at start: one line, with the connection error as the reason', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cek-ops-redis-down-'));
    const port = await closedPort();
    const main = startMain(dir, { DATA_DIR: dir, ADMIN_TOKEN, ENCRYPTION_KEY: randomBytes(32).toString('base64'), REDIS_URL: `redis://:hunter2secret@127.0.0.1:${port}` });
    try {
      expect(await main.exited).toBe(1);
      expect(main.out.stderr).toBe(`cek-gateway failed to start: Cannot reach Redis at redis://:***@127.0.0.1:${port}: Redis ping failed: connect ECONNREFUSED 127.0.0.1:${port}\n`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  (clusterAvailable ? test : test.skip)(
    'on a Redis Cluster the start log line and /readyz both say redis-cluster',
    async () => {
      const prefix = uniquePrefix('ops-start');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cek-ops-start-'));
      const port = await closedPort();
      // The service as `npm start` runs it (src/main.ts, transpiled on load), configured like an operator would.
      const child = spawn(process.execPath, ['--import', path.join(ROOT, 'test/helpers/tsRun.mjs'), path.join(ROOT, 'src/main.ts')], {
        cwd: dir,
        env: {
          PATH: process.env['PATH'] ?? '',
          NODE_ENV: 'test',
          HOST: '127.0.0.1',
          PORT: String(port),
          DATA_DIR: dir,
          ENCRYPTION_KEY: randomBytes(32).toString('base64'),
          ADMIN_TOKEN,
          REDIS_CLUSTER_NODES: process.env['REDIS_CLUSTER_NODES'] ?? '',
          REDIS_KEY_PREFIX: prefix,
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        const startLine = (): { msg?: string; store?: string } | undefined =>
          stdout
            .split('\n')
            .slice(0, -1) // whole lines only
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as { msg?: string; store?: string })
            .find((l) => l.msg?.startsWith('cek-gateway listening') === true);
        await waitFor(async () => startLine() !== undefined || child.exitCode !== null, 60_000);
        expect(startLine()?.store).toBe('redis-cluster');
        expect(await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()).toEqual({ status: 'ready', store: 'redis-cluster' });
      } finally {
        child.kill('SIGTERM');
        await exited;
        await deleteClusterKeys(prefix);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    90_000,
  );
});
