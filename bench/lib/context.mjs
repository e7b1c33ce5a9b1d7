// What every scenario shares, set up once per run: the load CPU pinning of this process, a temp
// dir, the CEK public key and body files, Redis, PostgreSQL, the action target, and the stores measured.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BODY, PUBLIC_KEY_PEM } from './fixtures.mjs';
import { DEFAULT_DATABASE_URL, postgresReachable, redactUrl, setUpPostgres } from './postgres.mjs';
import { freePort, hasTaskset, startNode, waitForHttp } from './proc.mjs';
import { setUpRedis } from './redis.mjs';
import { log, onCleanup } from './report.mjs';

const root = path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.url))));
const benchDir = path.join(root, 'bench');

/**
 * The stores measured: BENCH_STORES when set (PostgreSQL must then answer); otherwise SQLite and
 * Redis, and PostgreSQL when it answers at BENCH_DATABASE_URL (the local server by default), so a
 * full run on a machine that has one measures all three.
 */
async function storesToMeasure() {
  const given = process.env.BENCH_STORES;
  if (given !== undefined && given.trim() !== '') return { STORES: new Set(given.split(',').map((s) => s.trim())), storesNote: 'BENCH_STORES' };
  const url = process.env.BENCH_DATABASE_URL || DEFAULT_DATABASE_URL;
  if (await postgresReachable(url)) return { STORES: new Set(['sqlite', 'redis', 'postgres']), storesNote: 'default (PostgreSQL answered)' };
  log(`PostgreSQL does not answer at ${redactUrl(url)}: measuring SQLite and Redis only (set BENCH_DATABASE_URL to include it)`);
  return { STORES: new Set(['sqlite', 'redis']), storesNote: `default (no PostgreSQL at ${redactUrl(url)})` };
}

/**
 * `options` are run.mjs's (P, QUICK, SERVICE_CPU, LOAD_CPU, needsRedis, ...); the context
 * returned carries them on, with everything set up here.
 */
export async function setUp(options) {
  const { LOAD_CPU, needsRedis } = options;
  const { STORES, storesNote } = await storesToMeasure();
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

  // PostgreSQL: only when measured (its schemas are this run's own, dropped at the end).
  const postgres = STORES.has('postgres') ? await setUpPostgres() : undefined;

  /** A fresh, empty store of `kind` for one use (`use`: a short lower-case name), on this run's Redis prefix, PostgreSQL schema or temp dir. */
  const storeFor = (kind, use) => {
    if (kind === 'redis') return { kind, servicePrefix: `${PREFIX}${use}:` };
    if (kind === 'postgres') return { kind, schema: postgres.pgSchema(use) };
    return { kind, dataDir: path.join(tmp, `data-${use}`) };
  };
  const stores = [
    { kind: 'sqlite', dataDir: path.join(tmp, 'data-sqlite'), floorFile: path.join(tmp, 'floor.sqlite') },
    { kind: 'redis', servicePrefix: `${PREFIX}svc:`, floorPrefix: `${PREFIX}floor:` },
    ...(postgres === undefined ? [] : [{ kind: 'postgres', schema: postgres.pgSchema('svc'), floorSchema: postgres.pgSchema('floor') }]),
  ].filter((s) => STORES.has(s.kind));
  const unknown = [...STORES].filter((k) => !['sqlite', 'redis', 'postgres'].includes(k));
  if (unknown.length > 0) throw new Error(`BENCH_STORES: unknown store ${unknown.join(', ')} (sqlite, redis, postgres)`);

  return {
    ...options,
    STORES,
    storesNote,
    storeFor,
    databaseUrl: postgres?.databaseUrl,
    pgNote: postgres?.pgNote,
    pgQuery: postgres?.pgQuery,
    /** Processes that work for this run outside it (PostgreSQL's backends): their CPU is the bench's own. */
    storePids: postgres?.pgBackendPids,
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
