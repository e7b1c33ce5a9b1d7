// Our service under the bench: starting it (dist/main.js, pinned to the service CPU) on a store,
// calling its admin API, seeding linked users into its store, and the set-up the scenarios share.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ADMIN_TOKEN, ENCRYPTION_KEY, EXT_ID, TOKEN, USER_ID } from './fixtures.mjs';
import { freePort, startNode, waitForHttp } from './proc.mjs';
import { onCleanup } from './report.mjs';

/** One admin API call; fails on a status of 300 or more. */
export async function api(base, method, pathname, body) {
  const res = await fetch(`${base}${pathname}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${pathname} → ${res.status} ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

/** Where our service (and the seeding scripts that write into its store) keep their data. */
export function storeEnv(ctx, store) {
  if (store.kind === 'redis') return { REDIS_URL: ctx.redisUrl, REDIS_KEY_PREFIX: store.servicePrefix, DATABASE_URL: '' };
  // PostgreSQL alone (no REDIS_URL: every key family in the schema's kv table).
  if (store.kind === 'postgres') return { DATABASE_URL: ctx.databaseUrl, DATABASE_SCHEMA: store.schema, REDIS_URL: '' };
  return { DATA_DIR: store.dataDir, REDIS_URL: '', DATABASE_URL: '' };
}

function serviceEnv(ctx, store, port, extra = {}) {
  return {
    NODE_ENV: 'development',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    ENCRYPTION_KEY,
    ADMIN_TOKEN,
    CEK_PUBLIC_KEY: ctx.publicKeyFile,
    LOG_LEVEL: 'info',
    ...storeEnv(ctx, store),
    ...extra,
  };
}

/**
 * Our service (`<root>/dist/main.js`; `root` is this checkout unless another build is measured),
 * pinned to CPU 0; its one JSON log line per request goes to /dev/null.
 */
export async function startService(ctx, store, name, { nodeArgs = [], extraEnv = {}, root = ctx.root } = {}) {
  const port = await freePort();
  const proc = startNode([...nodeArgs, path.join(root, 'dist', 'main.js')], { name, cpu: ctx.SERVICE_CPU, env: serviceEnv(ctx, store, port, extraEnv) });
  ctx.servicePids.add(proc.pid);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, 20_000, proc);
  return { ...proc, url };
}

/** Runs a seeding script of `<root>/bench/` against our service's store, with its key; returns its stdout. */
export function runSeeder(ctx, script, store, env, root = ctx.root) {
  const r = spawnSync(process.execPath, [path.join(root, 'bench', script)], {
    env: { ...process.env, ...storeEnv(ctx, store), ENCRYPTION_KEY, EXTENSION_ID: EXT_ID, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
  return r.stdout;
}

/** Links the bench user in the service's store (TokenVault.link of that build's dist/). */
export function seedVault(ctx, store, { expiresAt, refreshToken = 'bench-refresh-token', accessToken = TOKEN }, root = ctx.root) {
  runSeeder(ctx, 'seed-vault.mjs', store, { USER_ID, ACCESS_TOKEN: accessToken, REFRESH_TOKEN: refreshToken, EXPIRES_AT: String(expiresAt) }, root);
}

/**
 * The gateway row (issue 6): every limit of a usage plan on, none of them reached during the run, so
 * each call pays the key check and the rate, day and month counting and is still admitted.
 */
export const GATEWAY_PLAN = { rateRps: 1_000_000, dayQuota: 2_000_000_000, monthQuota: 2_147_483_647 };

/**
 * Starts our service on a store, registers the extension, the action, the linked user and an API
 * key (used only while the gateway row turns key checking on). `root`: the build to run (this
 * checkout unless BENCH_BASE_REF's); `seedRoot`: whose bench/seed-vault.mjs links the user;
 * `nodeArgs`: node's own options (--inspect for a forced GC).
 */
export async function setUpService(ctx, store, { name = `ours-${store.kind}`, root = ctx.root, seedRoot = root, nodeArgs = [] } = {}) {
  const svc = await startService(ctx, store, name, { root, nodeArgs });
  onCleanup(() => svc.stop());
  const created = await api(svc.url, 'POST', '/api/v1/extensions', { extensionId: EXT_ID, name: 'Bench', language: 'en' });
  const apiKey = (await api(svc.url, 'POST', `/api/v1/extensions/${EXT_ID}/keys`, { name: 'bench' })).primary.value;
  await api(svc.url, 'PUT', `/api/v1/extensions/${EXT_ID}/actions/points`, {
    trigger: { type: 'IntentRequest', intent: 'CheckPoints' },
    url: `${ctx.TARGET}/points`,
    useOAuthToken: true,
    tokenSource: 'linked',
    timeoutMs: 3000,
  });
  seedVault(ctx, store, { expiresAt: Date.now() + 86_400_000 }, seedRoot);
  return { svc, secret: created.chatbotSecret, apiKey };
}

/** Turns the gateway's key check and usage plan on or off (the same process serves both rows). */
export const setGateway = (svc, on) => api(svc.url, 'PUT', `/api/v1/extensions/${EXT_ID}/gateway`, on ? { requireApiKey: true, usagePlan: GATEWAY_PLAN } : { requireApiKey: false, usagePlan: null });
