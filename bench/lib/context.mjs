// What every scenario shares, set up once per run: the load CPU pinning of this process, a temp
// dir, the CEK public key and body files, Redis, the action target, and the stores measured.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BODY, PUBLIC_KEY_PEM } from './fixtures.mjs';
import { freePort, hasTaskset, startNode, waitForHttp } from './proc.mjs';
import { setUpRedis } from './redis.mjs';
import { onCleanup } from './report.mjs';

const root = path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.url))));
const benchDir = path.join(root, 'bench');

/**
 * `options` are run.mjs's (P, QUICK, STORES, SERVICE_CPU, LOAD_CPU, needsRedis, ...); the context
 * returned carries them on, with everything set up here.
 */
export async function setUp(options) {
  const { LOAD_CPU, STORES, needsRedis } = options;
  if (hasTaskset) spawnSync('taskset', ['-pc', String(LOAD_CPU), String(process.pid)], { stdio: 'ignore' });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cekgw-bench-'));
  onCleanup(() => rmSync(tmp, { recursive: true, force: true }));

  const publicKeyFile = path.join(tmp, 'cek-public.pem');
  writeFileSync(publicKeyFile, PUBLIC_KEY_PEM);
  const bodyFile = path.join(tmp, 'body.json');
  writeFileSync(bodyFile, BODY);

  // Redis: REDIS_URL, or our own redis-server on CPU 1.
  const { redis, redisUrl, redisNote, PREFIX } = await setUpRedis({ needed: needsRedis, dir: tmp, loadCpu: LOAD_CPU });

  // The target (and `direct`).
  const targetPort = await freePort();
  const target = startNode([path.join(benchDir, 'target.mjs')], { name: 'target', cpu: LOAD_CPU, env: { PORT: String(targetPort), EXPECT_BODY_FILE: bodyFile } });
  onCleanup(() => target.stop());
  const TARGET = `http://127.0.0.1:${targetPort}`;
  await waitForHttp(`${TARGET}/__stats`, 20_000, target);

  const stores = [
    { kind: 'sqlite', dataDir: path.join(tmp, 'data-sqlite'), floorFile: path.join(tmp, 'floor.sqlite') },
    { kind: 'redis', servicePrefix: `${PREFIX}svc:`, floorPrefix: `${PREFIX}floor:` },
  ].filter((s) => STORES.has(s.kind));

  return {
    ...options,
    root,
    benchDir,
    hasTaskset,
    tmp,
    publicKeyFile,
    redis,
    redisUrl,
    redisNote,
    PREFIX,
    target,
    TARGET,
    targetStats: async () => (await fetch(`${TARGET}/__stats`)).json(),
    resetTarget: async () => (await fetch(`${TARGET}/__reset`)).json(),
    stores,
    /** Every server on CPU 0: while one is measured, the others must be idle (checked per window). */
    servicePids: new Set(),
    /** Our service per store kind, set up once for forward, memory and profile: `{ svc, secret, apiKey }`. */
    services: {},
  };
}
