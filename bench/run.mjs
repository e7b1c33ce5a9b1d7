// `npm run bench`: Action Method v1.0 benchmarks (DESIGN.md section 11, PERFORMANCE.md section 4).
//
//   forward        a signed CEK IntentRequest for a linked user, forwarded with the user's token to a
//                  loopback target: our service against `direct`, `bare`, `floor` and `typical`, on
//                  SQLite and on Redis, configurations interleaved over the reps
//   memory         RSS after 100k forwarded requests against RSS after 10k
//   refresh-storm  200 concurrent requests for a user whose token just expired, over two instances
//                  sharing Redis: one token-endpoint call, no failed request
//   scale          1k, 10k, 100k linked users: token lookup and voice-request latency, store size per user
//   profile        a --cpu-prof run of the service, grouped by package
//
// Every server is its own process, pinned to CPU 0 (taskset); this process (autocannon), the
// target and Redis run on CPU 1.
//
//   BENCH_QUICK=1                   a short run (about 4 minutes)
//   BENCH_ONLY=forward,memory,...   only these scenarios
//   BENCH_STORES=sqlite             only this store (quick iterations; a full run measures both)
//   BENCH_OUT=file                  also write the printed report to a file
//   BENCH_PROFILE_DIR=dir           keep the .cpuprofile files there
//   REDIS_URL                       use this Redis; otherwise a redis-server is started on a free
//                                   port. Only keys under this run's own prefix are written and deleted.
import { spawn, spawnSync } from 'node:child_process';
import { createCipheriv, createHmac, createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request, WebSocket } from 'undici';
import { analyseProfile } from './profile.mjs';
import { cpuMicros, cpuMicrosOrZero, fmt, machineBusyMicros, own, ownedPids, fmtStat, freePort, hasTaskset, load, percentile, rssBytes, sleep, startNode, stat, waitForHttp } from './lib.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const benchDir = path.join(root, 'bench');
const QUICK = process.env.BENCH_QUICK === '1';
const ONLY = new Set((process.env.BENCH_ONLY ?? 'forward,memory,refresh-storm,scale,profile').split(',').map((s) => s.trim()));
const P = QUICK
  ? { reps: 3, warmupS: 0.5, throughputS: 2, latencyS: 1.5, memFirst: 5_000, memTotal: 30_000, profileS: 3 }
  : { reps: 3, warmupS: 1.5, throughputS: 6, latencyS: 4, memFirst: 10_000, memTotal: Number(process.env.BENCH_MEMORY_TOTAL ?? 100_000), profileS: 8 };
const SERVICE_CPU = 0;
const LOAD_CPU = 1;

const EXT_ID = 'com.example.bench';
const USER_ID = 'bench-user-7f3a9c';
const TOKEN = `bench-access-${randomBytes(16).toString('hex')}`;
const SPEECH = 'You have 120 points.';
const ENCRYPTION_KEY = randomBytes(32).toString('base64');
const ADMIN_TOKEN = randomBytes(24).toString('hex');
const SEAL_KEY = randomBytes(32);

const log = (msg) => process.stderr.write(`bench: ${msg}\n`);
const out = [];
const print = (line = '') => {
  out.push(line);
  process.stdout.write(`${line}\n`);
};

const cleanups = [];
async function cleanup() {
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch (err) {
      log(`cleanup: ${err.message}`);
    }
  }
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
// A failure half-way still stops the servers, deletes this run's Redis keys and the temp dir.
process.on('uncaughtException', (err) => {
  process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
  void cleanup().then(() => process.exit(1));
});

// ---------------------------------------------------------------------------------------------
// Setup

if (hasTaskset) spawnSync('taskset', ['-pc', String(LOAD_CPU), String(process.pid)], { stdio: 'ignore' });
const tmp = mkdtempSync(path.join(os.tmpdir(), 'cekgw-bench-'));
cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicKeyFile = path.join(tmp, 'cek-public.pem');
writeFileSync(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }));

/** A CEK IntentRequest of about 1.5 KB, like a linked user's request from a display speaker. */
function cekBody() {
  const user = { userId: USER_ID, accessToken: undefined };
  const body = {
    version: '1.0',
    session: { new: false, sessionAttributes: { lastIntent: 'Greeting', visits: 3, cart: ['coffee', 'bagel'] }, sessionId: 'a29cfead-c5ba-474d-8745-6c1a6625f0c5', user: { userId: USER_ID } },
    context: {
      System: {
        application: { applicationId: EXT_ID },
        device: {
          deviceId: '096e6b27-1717-33e9-b0a7-510a48658a9b',
          display: { size: 'l100', orientation: 'landscape', dpi: 96, contentLayer: { width: 640, height: 360 } },
        },
        user,
      },
      AudioPlayer: { offsetInMilliseconds: 0, playerActivity: 'IDLE', stream: null, totalInMilliseconds: 0 },
    },
    request: {
      type: 'IntentRequest',
      requestId: 'f3b1a76c-2b1d-4f6a-9c3e-2f1d9a7b6c5e',
      timestamp: '2026-11-23T19:40:00Z',
      locale: 'ko-KR',
      extensionId: EXT_ID,
      intent: {
        intent: 'CheckPoints',
        name: 'CheckPoints',
        slots: {
          store: { name: 'store', value: '강남점', valueType: 'TEXT' },
          period: { name: 'period', value: '2026-11', valueType: 'DATE' },
          category: { name: 'category', value: 'coffee', valueType: 'TEXT' },
        },
      },
      event: { namespace: '', name: '', payload: null },
    },
  };
  let text = JSON.stringify(body);
  // Pad with a realistic field to ~1.5 KB (PERFORMANCE.md's request size).
  body.context.System.device.display.padding = 'x'.repeat(Math.max(0, 1500 - Buffer.byteLength(text) - 14));
  text = JSON.stringify(body);
  return Buffer.from(text);
}
const BODY = cekBody();
const bodyFile = path.join(tmp, 'body.json');
writeFileSync(bodyFile, BODY);
const SIGNATURE_CEK = createSign('RSA-SHA256').update(BODY).sign(privateKey, 'base64');
const chatbotSignatureOf = (secret, body) => createHmac('sha256', secret).update(body).digest('base64');
const chatbotSignature = (secret) => chatbotSignatureOf(secret, BODY);

// Redis: REDIS_URL, or our own redis-server on CPU 1.
let redisUrl = process.env.REDIS_URL;
let redisNote = 'REDIS_URL';
const needsRedis = ONLY.has('forward') || ONLY.has('memory') || ONLY.has('refresh-storm') || ONLY.has('scale') || ONLY.has('profile');
if (needsRedis && (redisUrl === undefined || redisUrl === '')) {
  const port = await freePort();
  const server = own(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmp], { stdio: 'ignore' }));
  await new Promise((resolve, reject) => {
    server.once('spawn', resolve);
    server.once('error', reject);
  }).catch((err) => {
    throw new Error(`REDIS_URL is not set and redis-server could not be started (${err.message}); install redis-server or set REDIS_URL`);
  });
  cleanups.push(async () => {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  });
  redisUrl = `redis://127.0.0.1:${port}`;
  redisNote = `redis-server ${spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.split(' ')[2] ?? ''} started by the bench on CPU ${LOAD_CPU}`;
}
const { Redis } = await import('ioredis');
const PREFIX = `cekbench:${process.pid}:${randomBytes(4).toString('hex')}:`;
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true });
await redis.connect();
await redis.ping();
cleanups.push(async () => {
  // Only this run's keys: SCAN + DEL under our prefix, never FLUSH.
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
});

// The target (and `direct`).
const targetPort = await freePort();
const target = startNode([path.join(benchDir, 'target.mjs')], { name: 'target', cpu: LOAD_CPU, env: { PORT: String(targetPort), EXPECT_BODY_FILE: bodyFile } });
cleanups.push(() => target.stop());
const TARGET = `http://127.0.0.1:${targetPort}`;
await waitForHttp(`${TARGET}/__stats`, 20_000, target);
const targetStats = async () => (await fetch(`${TARGET}/__stats`)).json();
const resetTarget = async () => (await fetch(`${TARGET}/__reset`)).json();

// ---------------------------------------------------------------------------------------------
// Servers

async function api(base, method, pathname, body) {
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
const storeEnv = (store) => (store.kind === 'redis' ? { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: store.servicePrefix } : { DATA_DIR: store.dataDir, REDIS_URL: '' });

function serviceEnv(store, port, extra = {}) {
  return {
    NODE_ENV: 'development',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    ENCRYPTION_KEY,
    ADMIN_TOKEN,
    CEK_PUBLIC_KEY: publicKeyFile,
    LOG_LEVEL: 'info',
    ...storeEnv(store),
    ...extra,
  };
}

/** Every server on CPU 0: while one is measured, the others must be idle (checked per window). */
const servicePids = new Set();

/** Our service (dist/main.js), pinned to CPU 0; its one JSON log line per request goes to /dev/null. */
async function startService(store, name, { nodeArgs = [], extraEnv = {} } = {}) {
  const port = await freePort();
  const proc = startNode([...nodeArgs, path.join(root, 'dist', 'main.js')], { name, cpu: SERVICE_CPU, env: serviceEnv(store, port, extraEnv) });
  servicePids.add(proc.pid);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, 20_000, proc);
  return { ...proc, url };
}

function seedVault(store, { expiresAt, refreshToken = 'bench-refresh-token', accessToken = TOKEN }) {
  runSeeder('seed-vault.mjs', store, { USER_ID, ACCESS_TOKEN: accessToken, REFRESH_TOKEN: refreshToken, EXPIRES_AT: String(expiresAt) });
}

/** Runs a seeding script of bench/ against our service's store, with its key; returns its stdout. */
function runSeeder(script, store, env) {
  const r = spawnSync(process.execPath, [path.join(benchDir, script)], {
    env: { ...process.env, ...storeEnv(store), ENCRYPTION_KEY, EXTENSION_ID: EXT_ID, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
  return r.stdout;
}

/** The token record of floor/typical: AES-256-GCM sealed, bound to the user (AAD), JSON like ours. */
function floorRecord() {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', SEAL_KEY, iv);
  cipher.setAAD(Buffer.from(`token:${USER_ID}`));
  const ct = Buffer.concat([cipher.update(JSON.stringify({ accessToken: TOKEN, refreshToken: 'bench-refresh-token' })), cipher.final()]);
  const sealed = Buffer.concat([iv, ct, cipher.getAuthTag()]).toString('base64url');
  return JSON.stringify({ v: 1, sealed, expiresAt: Date.now() + 86_400_000, scope: 'points', tokenType: 'Bearer', linkedAt: new Date().toISOString(), status: 'linked' });
}

async function seedFloorStore(store) {
  if (store.kind === 'redis') {
    await redis.set(`${store.floorPrefix}tok:${USER_ID}`, floorRecord());
    return;
  }
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(store.floorFile);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  db.prepare('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)').run(`tok:${USER_ID}`, floorRecord());
  db.close();
}

async function startBaseline(script, name, store, secret) {
  const port = await freePort();
  const proc = startNode([path.join(benchDir, script)], {
    name,
    cpu: SERVICE_CPU,
    env: {
      PORT: String(port),
      TARGET_URL: `${TARGET}/points`,
      TOKEN,
      CEK_PUBLIC_KEY_FILE: publicKeyFile,
      CHATBOT_SECRET: secret ?? '',
      SEAL_KEY: SEAL_KEY.toString('base64'),
      STORE: store?.kind ?? '',
      SQLITE_FILE: store?.floorFile ?? '',
      REDIS_URL: redisUrl ?? '',
      KEY_PREFIX: store?.floorPrefix ?? '',
    },
  });
  servicePids.add(proc.pid);
  const url = `http://127.0.0.1:${port}`;
  // Any answer (these servers have no health route) means it listens.
  await waitForHttp(url, 20_000, proc);
  return { ...proc, url };
}

const STORES = new Set((process.env.BENCH_STORES ?? 'sqlite,redis').split(',').map((s) => s.trim()));
const stores = [
  { kind: 'sqlite', dataDir: path.join(tmp, 'data-sqlite'), floorFile: path.join(tmp, 'floor.sqlite') },
  { kind: 'redis', servicePrefix: `${PREFIX}svc:`, floorPrefix: `${PREFIX}floor:` },
].filter((s) => STORES.has(s.kind));

/**
 * The gateway row (issue 6): every limit of a usage plan on, none of them reached during the run, so
 * each call pays the key check and the rate, day and month counting and is still admitted.
 */
const GATEWAY_PLAN = { rateRps: 1_000_000, dayQuota: 2_000_000_000, monthQuota: 2_147_483_647 };

/**
 * Starts our service on a store, registers the extension, the action, the linked user and an API
 * key (used only while the gateway row turns key checking on).
 */
async function setUpService(store) {
  const svc = await startService(store, `ours-${store.kind}`);
  cleanups.push(() => svc.stop());
  const created = await api(svc.url, 'POST', '/api/v1/extensions', { extensionId: EXT_ID, name: 'Bench', language: 'en' });
  const apiKey = (await api(svc.url, 'POST', `/api/v1/extensions/${EXT_ID}/keys`, { name: 'bench' })).primary.value;
  await api(svc.url, 'PUT', `/api/v1/extensions/${EXT_ID}/actions/points`, {
    trigger: { type: 'IntentRequest', intent: 'CheckPoints' },
    url: `${TARGET}/points`,
    useOAuthToken: true,
    tokenSource: 'linked',
    timeoutMs: 3000,
  });
  seedVault(store, { expiresAt: Date.now() + 86_400_000 });
  return { svc, secret: created.chatbotSecret, apiKey };
}

/** Turns the gateway's key check and usage plan on or off (the same process serves both rows). */
const setGateway = (svc, on) => api(svc.url, 'PUT', `/api/v1/extensions/${EXT_ID}/gateway`, on ? { requireApiKey: true, usagePlan: GATEWAY_PLAN } : { requireApiKey: false, usagePlan: null });

const expectedReply = JSON.stringify({
  version: '1.0',
  sessionAttributes: {},
  response: { outputSpeech: { type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'en', value: SPEECH } }, card: {}, directives: [], shouldEndSession: true },
});

async function checkOnce(config) {
  const res = await fetch(config.url, { method: 'POST', headers: config.headers, body: BODY });
  const text = await res.text();
  if (res.status !== 200 || !text.includes(SPEECH)) throw new Error(`${config.name}: sanity request → ${res.status} ${text.slice(0, 300)}`);
  if (config.exact && text !== expectedReply) throw new Error(`${config.name}: reply differs from the expected CEK response: ${text}`);
}

// ---------------------------------------------------------------------------------------------
// Measurement

const verifyBody = (body) => body.includes(SPEECH);
const problems = [];

/**
 * CPU used during a window by processes this bench did not start (other users of the machine):
 * it slows every figure of that window. A window where they took more than 5 % of the machine is
 * measured again (up to 3 tries; the least disturbed one is kept), and the report states what was left.
 */
const DISTURBED = 0.05;
const TRIES = 3;
const windows = { total: 0, retried: 0, shares: [] };
/** CPU the other (idle) servers on CPU 0 used during each throughput window, as a share of one CPU. */
const neighbourShares = [];
function foreignMeter() {
  const ours = () => [process.pid, ...ownedPids()].reduce((sum, pid) => sum + cpuMicrosOrZero(pid), 0);
  const m0 = machineBusyMicros();
  const o0 = ours();
  const t0 = performance.now();
  return () => Math.max(0, (machineBusyMicros() - m0 - (ours() - o0)) / ((performance.now() - t0) * 1e3 * os.cpus().length));
}

async function quietWindow(label, run) {
  let best;
  for (let attempt = 1; attempt <= TRIES; attempt++) {
    const meter = foreignMeter();
    const result = await run();
    const foreign = meter();
    if (best === undefined || foreign < best.foreign) best = { result, foreign };
    if (foreign <= DISTURBED) break;
    if (attempt < TRIES) {
      windows.retried++;
      log(`${label}: other processes used ${(foreign * 100).toFixed(0)} % of the machine; measuring again`);
      await sleep(2_000);
    }
  }
  windows.total++;
  windows.shares.push(best.foreign);
  return best.result;
}

async function measure(config) {
  await config.before?.();
  await load({ url: config.url, connections: 32, duration: P.warmupS, headers: config.headers, body: BODY });
  const { thr, cpu, seen } = await quietWindow(`${config.name} @32`, async () => {
    await resetTarget();
    const neighbours = [...servicePids].filter((pid) => pid !== config.pid);
    const others = () => neighbours.reduce((sum, pid) => sum + cpuMicrosOrZero(pid), 0);
    const cpu0 = cpuMicros(config.pid);
    const others0 = others();
    const t0 = performance.now();
    const thr = await load({ url: config.url, connections: 32, duration: P.throughputS, headers: config.headers, body: BODY, verify: verifyBody });
    const cpu = cpuMicros(config.pid) - cpu0;
    neighbourShares.push({ label: config.name, share: (others() - others0) / ((performance.now() - t0) * 1e3) });
    return { thr, cpu, seen: await targetStats() };
  });
  const r = thr.result;
  const ok = r['2xx'];
  const bad = [];
  if (r.non2xx > 0) bad.push(`${r.non2xx} non-2xx`);
  if (r.errors > 0) bad.push(`${r.errors} errors`);
  if (r.mismatches > 0) bad.push(`${r.mismatches} replies without the target's speech`);
  if (seen.badBody > 0) bad.push(`target saw ${seen.badBody} bodies that differ from the signed bytes`);
  const tokens = Object.keys(seen.tokens);
  if (tokens.length !== 1 || tokens[0] !== `Bearer ${TOKEN}`) bad.push(`target saw tokens ${JSON.stringify(tokens.map((t) => t.slice(0, 24)))}`);
  if (seen.calls < ok) bad.push(`target saw ${seen.calls} calls for ${ok} answers`);
  if (bad.length > 0) problems.push(`${config.name}: ${bad.join(', ')}`);

  const lat = await quietWindow(`${config.name} @1`, () => load({ url: config.url, connections: 1, duration: P.latencyS, headers: config.headers, body: BODY, latencies: true }));
  if (lat.result.non2xx > 0 || lat.result.errors > 0) problems.push(`${config.name} (latency run): ${lat.result.non2xx} non-2xx, ${lat.result.errors} errors`);
  const times = lat.times.sort((a, b) => a - b);
  return {
    rps: ok / thr.seconds,
    cpu: cpu / ok,
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    requests: ok,
  };
}

const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} vCPU, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
const deps = Object.fromEntries(['undici', 'express', 'axios', 'better-sqlite3', 'ioredis', 'autocannon', 'pino', 'prom-client'].map((d) => [d, JSON.parse(readFileSync(path.join(root, 'node_modules', d, 'package.json'), 'utf8')).version]));
print(`# cek-gateway benchmark — ${new Date().toISOString()}`);
print();
print(`- machine: ${machine}; load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
print(`- versions: ${Object.entries(deps).map(([k, v]) => `${k} ${v}`).join(', ')}`);
print(`- pinning: ${hasTaskset ? `servers on CPU ${SERVICE_CPU}; autocannon, target and Redis on CPU ${LOAD_CPU} (taskset)` : 'taskset not found: NOT pinned'}; Redis: ${redisNote}`);
print(`- method: ${P.reps} interleaved reps; per configuration and rep ${P.warmupS} s warm-up, ${P.throughputS} s at 32 connections (req/s, service CPU from /proc), ${P.latencyS} s at 1 connection (p50/p99 of every response); body ${BODY.length} B${QUICK ? '; BENCH_QUICK=1 (short run)' : ''}`);
print();

const started = Date.now();
const services = {};

if (ONLY.has('forward') || ONLY.has('memory') || ONLY.has('profile')) {
  for (const store of stores) {
    services[store.kind] = await setUpService(store);
  }
}

if (ONLY.has('forward')) {
  log('forward: starting the baselines');
  const bare = await startBaseline('bare.mjs', 'bare');
  cleanups.push(() => bare.stop());
  const configs = [
    { name: 'direct', store: '-', url: `${TARGET}/points`, pid: target.pid, headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } },
    { name: 'bare', store: '-', url: `${bare.url}/cek/${EXT_ID}`, pid: bare.pid, headers: { 'content-type': 'application/json' } },
  ];
  for (const store of stores) {
    await seedFloorStore(store);
    const { svc, secret } = services[store.kind];
    const headers = { 'content-type': 'application/json', signaturecek: SIGNATURE_CEK, 'x-ncp-chatbot_signature': chatbotSignature(secret) };
    const floor = await startBaseline('floor.mjs', `floor-${store.kind}`, store, secret);
    const typical = await startBaseline('typical.mjs', `typical-${store.kind}`, store, secret);
    cleanups.push(() => floor.stop(), () => typical.stop());
    configs.push(
      { name: `floor`, store: store.kind, url: `${floor.url}/cek/${EXT_ID}`, pid: floor.pid, headers, exact: true },
      { name: `typical`, store: store.kind, url: `${typical.url}/cek/${EXT_ID}`, pid: typical.pid, headers, exact: true },
      { name: `ours`, store: store.kind, url: `${svc.url}/cek/${EXT_ID}`, pid: svc.pid, headers, exact: true },
    );
    // Same process, same request, plus the API key check and the usage plan (issue 6). A second
    // process would not do: two processes of the same code differ by more than 10 % on this VM.
    configs[configs.length - 1].before = () => setGateway(svc, false);
    configs.push({
      name: `ours + gateway`,
      store: store.kind,
      url: `${svc.url}/cek/${EXT_ID}`,
      pid: svc.pid,
      headers: { ...headers, 'x-ncp-apigw-api-key': services[store.kind].apiKey },
      exact: true,
      before: () => setGateway(svc, true),
    });
    // With the gateway on, a call without the key is refused: it really checks.
    await setGateway(svc, true);
    const res = await fetch(`${svc.url}/cek/${EXT_ID}`, { method: 'POST', headers, body: BODY });
    await res.text();
    if (res.status !== 401) problems.push(`ours + gateway (${store.kind}): a call without an API key was answered ${res.status}, not 401`);
  }
  for (const c of configs) {
    c.label = c.store === '-' ? c.name : `${c.name} (${c.store})`;
    await c.before?.();
    await checkOnce({ ...c, name: c.label });
  }

  const results = Object.fromEntries(configs.map((c) => [c.label, []]));
  for (let rep = 1; rep <= P.reps; rep++) {
    for (const c of configs) {
      log(`forward: rep ${rep}/${P.reps} ${c.label}`);
      results[c.label].push(await measure({ ...c, name: `${c.label} rep ${rep}` }));
    }
  }

  print('## forward');
  print();
  print('Median of the reps (min–max). req/s at 32 connections; CPU = the server process\'s CPU µs per request (for `direct`, the target\'s); latency at one connection.');
  print();
  print('| store | configuration | req/s @32 | CPU µs/req | p50 ms @1 | p99 ms @1 |');
  print('|---|---|---|---|---|---|');
  for (const c of configs) {
    const r = results[c.label];
    print(`| ${c.store} | ${c.name} | ${fmtStat(stat(r.map((x) => x.rps)))} | ${fmtStat(stat(r.map((x) => x.cpu)))} | ${fmtStat(stat(r.map((x) => x.p50)), 3)} | ${fmtStat(stat(r.map((x) => x.p99)), 3)} |`);
  }
  print();
  print('| store | ours / floor req/s | ours / typical req/s | ours / floor CPU | added p50 over direct (ms) | added p99 over direct (ms) | targets met |');
  print('|---|---|---|---|---|---|---|');
  const direct = results['direct'];
  for (const store of stores) {
    const ours = results[`ours (${store.kind})`];
    const floor = results[`floor (${store.kind})`];
    const typical = results[`typical (${store.kind})`];
    const vsFloor = stat(ours.map((o, i) => o.rps / floor[i].rps));
    const vsTypical = stat(ours.map((o, i) => o.rps / typical[i].rps));
    const cpuVsFloor = stat(ours.map((o, i) => o.cpu / floor[i].cpu));
    const addP50 = stat(ours.map((o, i) => o.p50 - direct[i].p50));
    const addP99 = stat(ours.map((o, i) => o.p99 - direct[i].p99));
    const met = [
      vsFloor.median >= 0.8 ? '≥0.8× floor ✓' : `≥0.8× floor ✗ (${fmt(vsFloor.median, 2)})`,
      vsTypical.median >= 2.5 ? '≥2.5× typical ✓' : `≥2.5× typical ✗ (${fmt(vsTypical.median, 2)})`,
      addP50.median <= 0.5 ? 'p50 +≤0.5 ms ✓' : `p50 +≤0.5 ms ✗`,
      addP99.median <= 2 ? 'p99 +≤2 ms ✓' : `p99 +≤2 ms ✗`,
    ].join(', ');
    print(`| ${store.kind} | ${fmtStat(vsFloor, 2)} | ${fmtStat(vsTypical, 2)} | ${fmtStat(cpuVsFloor, 2)} | ${fmtStat(addP50, 3)} | ${fmtStat(addP99, 3)} | ${met} |`);
  }
  print();
  print('### gateway (issue 6): API key check and usage plan on');
  print();
  print(`\`ours + gateway\` is the same service process as \`ours\`, measured right after it in each rep, with \`requireApiKey: true\` (the key sent in \`x-ncp-apigw-api-key\`) and a usage plan with every limit set (\`${JSON.stringify(GATEWAY_PLAN)}\`, never reached) turned on through the admin API before its windows and off again before \`ours\`: each call checks the key and counts against the rate, day and month limits. (Usage by outcome is counted in both rows.)`);
  print();
  print('| store | ours + gateway / ours req/s | throughput cost | CPU µs/req added | added p50 (ms) | added p99 (ms) | cost < 10 % | counted by the plan this month |');
  print('|---|---|---|---|---|---|---|---|');
  for (const store of stores) {
    const ours = results[`ours (${store.kind})`];
    const gwRuns = results[`ours + gateway (${store.kind})`];
    const ratio = stat(gwRuns.map((g, i) => g.rps / ours[i].rps));
    const cost = stat(gwRuns.map((g, i) => (1 - g.rps / ours[i].rps) * 100));
    const cpu = stat(gwRuns.map((g, i) => g.cpu - ours[i].cpu));
    const p50 = stat(gwRuns.map((g, i) => g.p50 - ours[i].p50));
    const p99 = stat(gwRuns.map((g, i) => g.p99 - ours[i].p99));
    const svc = services[store.kind].svc;
    await setGateway(svc, true); // the report shows the plan's counters while a plan is set
    const usage = await api(svc.url, 'GET', `/api/v1/extensions/${EXT_ID}/usage`);
    await setGateway(svc, false); // memory and profile start fresh processes on this store
    const counted = usage.usagePlan?.counted.month ?? 0;
    const measured = gwRuns.reduce((sum, r) => sum + r.requests, 0);
    // Warm-ups and latency runs count too, so the plan holds at least the measured windows' calls
    // (its counters are per UTC day, kept while the plan is off).
    if (counted < measured) problems.push(`ours + gateway (${store.kind}): the plan counted ${counted} calls for ${measured} measured`);
    print(`| ${store.kind} | ${fmtStat(ratio, 3)} | ${fmtStat(cost, 1)} % | ${fmtStat(cpu, 1)} | ${fmtStat(p50, 3)} | ${fmtStat(p99, 3)} | ${cost.median < 10 ? '✓' : '✗'} | ${fmt(counted)} (all calls: ${fmt(usage.freeAllowance.used + usage.freeAllowance.overage)}) |`);
  }
  print();
  {
    const f = stat(windows.shares.map((x) => x * 100));
    const left = windows.shares.filter((x) => x > DISTURBED).length;
    const n = stat(neighbourShares.map((x) => x.share * 100));
    const worst = neighbourShares.reduce((a, b) => (b.share > a.share ? b : a), { share: 0, label: '-' });
    print(`Idle neighbours: the other servers on CPU ${SERVICE_CPU} used ${fmt(n.median, 1)} % of it in the median throughput window (max ${fmt(n.max, 1)} %, during ${worst.label}).`);
    print();
    print(
      `Quiet machine check: other processes (not started by this bench${redisNote === 'REDIS_URL' ? ', including the Redis of REDIS_URL' : ''}) used ${fmt(f.median, 1)} % of the machine's CPU in the median measured window (max ${fmt(f.max, 1)} %); ${windows.retried} window(s) were measured again; ${left === 0 ? 'no kept window was disturbed (> 5 %).' : `${left} of ${windows.total} kept windows were still disturbed (> 5 %): rerun on a quiet machine.`}`,
    );
    print();
  }
  print(problems.length === 0 ? 'Correctness: every answer 2xx with the target\'s speech; the target saw the signed bytes unchanged and only the linked bearer token, in every run.' : `Correctness problems: ${problems.join('; ')}`);
  print();
}

/**
 * Forces a full garbage collection in a service started with --inspect (Chrome DevTools protocol,
 * HeapProfiler.collectGarbage), so what is measured after it is what the process retains.
 */
async function collectGarbage(proc) {
  const m = /ws:\/\/[^\s]+/.exec(proc.stderr());
  if (m === null) throw new Error(`${proc.name}: no inspector URL in its output`);
  const ws = new WebSocket(m[0]);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error('inspector connection failed'));
  });
  await new Promise((resolve) => {
    ws.onmessage = (e) => {
      if (JSON.parse(String(e.data)).id === 1) resolve();
    };
    ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
  });
  ws.close();
}

if (ONLY.has('memory')) {
  // V8 lets garbage (and the Buffers it holds) pile up until a major collection, so RSS "as it is"
  // rises and falls with GC timing; a full collection forced before each reading shows what the
  // process keeps, which is what a leak changes. Both are reported; the 10 % check uses the second.
  const steps = Math.round(P.memTotal / P.memFirst);
  print('## memory');
  print();
  print(`A fresh service process per store (CPU ${SERVICE_CPU}), ${fmt(P.memTotal)} forwarded requests at 32 connections in steps of ${fmt(P.memFirst)}. RSS from /proc after each step, as it is and after a full GC forced through the inspector (\`HeapProfiler.collectGarbage\`).`);
  print();
  print(`| store | RSS after ${fmt(P.memFirst)} (after GC) | RSS after ${fmt(P.memTotal)} (after GC) | growth | within 10 % | RSS as it is, after each step (MiB) | RSS after GC, after each step (MiB) |`);
  print('|---|---|---|---|---|---|---|');
  for (const store of stores) {
    const secret = services[store.kind].secret;
    const headers = { 'content-type': 'application/json', signaturecek: SIGNATURE_CEK, 'x-ncp-chatbot_signature': chatbotSignature(secret) };
    const svc = await startService(store, `ours-memory-${store.kind}`, { nodeArgs: ['--inspect=127.0.0.1:0'] });
    const url = `${svc.url}/cek/${EXT_ID}`;
    log(`memory: ${store.kind}`);
    const raw = [];
    const settled = [];
    let failed = 0;
    for (let step = 1; step <= steps; step++) {
      const r = (await load({ url, connections: 32, amount: P.memFirst, headers, body: BODY, verify: verifyBody })).result;
      failed += r.non2xx + r.errors + r.mismatches;
      await sleep(500);
      raw.push(rssBytes(svc.pid));
      await collectGarbage(svc);
      await sleep(500);
      settled.push(rssBytes(svc.pid));
    }
    await svc.stop();
    if (failed > 0) problems.push(`memory ${store.kind}: ${failed} failed requests`);
    const first = settled[0];
    const last = settled[settled.length - 1];
    const growth = last / first - 1;
    if (growth > 0.1) problems.push(`memory ${store.kind}: RSS grew ${(growth * 100).toFixed(1)} %`);
    const mib = (list) => list.map((b) => fmt(b / 2 ** 20, 0)).join(' ');
    print(
      `| ${store.kind} | ${fmt(first / 2 ** 20, 1)} MiB | ${fmt(last / 2 ** 20, 1)} MiB | ${growth >= 0 ? '+' : ''}${fmt(growth * 100, 1)} % | ${growth <= 0.1 ? '✓' : '✗'}${failed > 0 ? ` (${failed} failed requests)` : ''} | ${mib(raw)} | ${mib(settled)} |`,
    );
  }
  print();
}

if (ONLY.has('refresh-storm')) {
  print('## refresh-storm');
  print();
  await refreshStorm();
  print();
}

/**
 * 200 concurrent requests for one user whose token has just expired, split over two instances
 * sharing Redis. Account linking refreshes it: one call to the token endpoint, every request
 * answered with the target's speech, every forward carrying the refreshed token.
 */
async function refreshStorm() {
  const store = { kind: 'redis', servicePrefix: `${PREFIX}storm:` };
  const a = await startService(store, 'storm-a');
  const b = await startService(store, 'storm-b');
  cleanups.push(() => a.stop(), () => b.stop());
  try {
    const created = await api(a.url, 'POST', '/api/v1/extensions', { extensionId: EXT_ID, language: 'en' });
    await api(a.url, 'PUT', `/api/v1/extensions/${EXT_ID}/account-linking`, {
      enabled: true,
      loginUrl: `${TARGET}/authorize`,
      tokenUrl: `${TARGET}/token`,
      clientId: 'bench-client',
      clientSecret: 'bench-client-secret',
      clientAuth: 'body',
    });
    await api(a.url, 'PUT', `/api/v1/extensions/${EXT_ID}/actions/points`, {
      trigger: { type: 'IntentRequest', intent: 'CheckPoints' },
      url: `${TARGET}/points`,
      useOAuthToken: true,
      tokenSource: 'linked',
    });
    seedVault(store, { expiresAt: Date.now() - 1_000, accessToken: 'expired-access-token' });
    await sleep(200); // the change notice reaches instance b through Redis pub/sub
    await resetTarget();
    const headers = { 'content-type': 'application/json', signaturecek: SIGNATURE_CEK, 'x-ncp-chatbot_signature': chatbotSignature(created.chatbotSecret) };
    const dispatcher = new Agent({ connections: 200 });
    const t0 = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const base = i % 2 === 0 ? a.url : b.url;
        const res = await request(`${base}/cek/${EXT_ID}`, { dispatcher, method: 'POST', headers, body: BODY });
        return { status: res.statusCode, text: await res.body.text() };
      }),
    );
    const ms = performance.now() - t0;
    await dispatcher.close();
    const seen = await targetStats();
    const good = answers.filter((x) => x.status === 200 && x.text.includes(SPEECH)).length;
    const tokens = Object.entries(seen.tokens).map(([t, n]) => `${t.replace(/^Bearer /, '')} ×${n}`);
    const ok = seen.refreshes === 1 && good === 200 && seen.calls === 200 && Object.keys(seen.tokens).length === 1 && seen.badBody === 0;
    if (!ok) problems.push('refresh-storm');
    print(`200 concurrent requests (100 per instance, two instances on one Redis) for a user whose access token expired 1 s before: ${ms.toFixed(0)} ms in all.`);
    print();
    print(`| token-endpoint calls | answered with the target's speech | target calls | tokens the target saw | result |`);
    print('|---|---|---|---|---|');
    print(`| ${seen.refreshes} | ${good} / 200 | ${seen.calls} | ${tokens.join(', ')} | ${ok ? '✓' : '✗'} |`);
  } finally {
    await a.stop();
    await b.stop();
  }
}

/**
 * `scale` (DESIGN.md section 11): linked users in steps up to 100k on one extension; at each step the
 * token lookup (store read + AES-GCM open, timed in a separate process against the service's store)
 * and a voice request for a random linked user through the service, one at a time; and the store's
 * size per user.
 */
async function scale() {
  const levels = QUICK ? [1_000, 10_000, 30_000] : [1_000, 10_000, 100_000];
  print(`Linked users on one extension in steps (${levels.map((n) => fmt(n)).join(', ')}), seeded the way account linking stores them (\`TokenVault.link\` from \`dist/\`, sealed with the service's key). At each step: 5,000 token lookups for random linked users (store read + AES-GCM open, one at a time, in a separate process: the work a voice request does for its token), and 1,000 voice requests for random linked users through the service at one connection (Chatbot Secret signed, forwarded to the target with that user's token).`);
  print();
  print('| store | linked users | token lookup p50 µs | p99 µs | voice request p50 ms | p99 ms | store size per user |');
  print('|---|---|---|---|---|---|---|');
  for (const base of stores) {
    const store = base.kind === 'redis' ? { kind: 'redis', servicePrefix: `${PREFIX}scale:` } : { kind: 'sqlite', dataDir: path.join(tmp, 'data-scale') };
    const { svc, secret } = await setUpService(store);
    const dispatcher = new Agent({ connections: 1 });
    const rows = [];
    let from = 0;
    let previousFile = 0;
    try {
      for (const level of levels) {
        log(`scale: ${store.kind}: seeding users ${from}..${level - 1}`);
        const stdout = runSeeder('seed-users.mjs', store, { FROM: String(from), TO: String(level), LOOKUPS: '5000' });
        const seeded = JSON.parse(stdout.trim().split('\n').pop());
        const times = [];
        let failed = 0;
        // 300 untimed requests first (the service's JIT and pools warm up), then 1,000 timed ones.
        for (let i = -300; i < 1_000; i++) {
          const user = `scale-user-${Math.floor(Math.random() * level)}`;
          const body = Buffer.from(BODY.toString().replaceAll(USER_ID, user));
          const headers = { 'content-type': 'application/json', 'x-ncp-chatbot_signature': chatbotSignatureOf(secret, body) };
          const t0 = process.hrtime.bigint();
          const res = await request(`${svc.url}/cek/${EXT_ID}`, { dispatcher, method: 'POST', headers, body });
          const text = await res.body.text();
          if (res.statusCode !== 200 || !text.includes(SPEECH)) failed++;
          else if (i >= 0) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        if (failed > 0) problems.push(`scale ${store.kind} at ${level} users: ${failed} of 1,000 requests failed`);
        times.sort((a, b) => a - b);
        const perUser =
          seeded.bytes.perUser !== undefined
            ? `${fmt(seeded.bytes.perUser)} B (Redis MEMORY USAGE)`
            : `${fmt(seeded.bytes.file / level)} B (file ${fmt(seeded.bytes.file / 2 ** 20, 1)} MiB${previousFile > 0 ? `; ${fmt((seeded.bytes.file - previousFile) / (level - from))} B per added user` : ''})`;
        if (seeded.bytes.file !== undefined) previousFile = seeded.bytes.file;
        rows.push({ level, lookupP50: seeded.lookup.p50 });
        print(`| ${store.kind} | ${fmt(level)} | ${fmt(seeded.lookup.p50, 1)} | ${fmt(seeded.lookup.p99, 1)} | ${fmt(percentile(times, 50), 3)} | ${fmt(percentile(times, 99), 3)} | ${perUser} |`);
        from = level;
      }
    } finally {
      await dispatcher.close();
      await svc.stop();
    }
    const growth = rows[rows.length - 1].lookupP50 / rows[0].lookupP50;
    if (growth > 2) problems.push(`scale ${store.kind}: token lookup p50 grew ${growth.toFixed(2)}× from ${fmt(levels[0])} to ${fmt(levels[levels.length - 1])} users`);
  }
  print();
}

if (ONLY.has('scale')) {
  print('## scale');
  print();
  await scale();
}

if (ONLY.has('profile')) {
  print('## profile (`node --cpu-prof`)');
  print();
  print(`Our service under ${P.profileS} s at 32 connections (after a warm-up), self time grouped by package; \`(native)\` is C++ and V8 builtins (crypto, syscalls, JSON), attributed where they were called from.`);
  print();
  for (const store of stores) {
    const dir = path.join(tmp, `prof-${store.kind}`);
    const secret = services[store.kind].secret;
    const headers = { 'content-type': 'application/json', signaturecek: SIGNATURE_CEK, 'x-ncp-chatbot_signature': chatbotSignature(secret) };
    const svc = await startService(store, `ours-profile-${store.kind}`, { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir] });
    const url = `${svc.url}/cek/${EXT_ID}`;
    log(`profile: ${store.kind}`);
    const warm = await load({ url, connections: 32, duration: P.warmupS, headers, body: BODY });
    const run = await load({ url, connections: 32, duration: P.profileS, headers, body: BODY });
    await svc.stop();
    const requests = warm.result['2xx'] + run.result['2xx'];
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) {
      print(`${store.kind}: no profile was written.`);
      continue;
    }
    const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    if (process.env.BENCH_PROFILE_DIR) writeFileSync(path.join(process.env.BENCH_PROFILE_DIR, `ours-${store.kind}.cpuprofile`), JSON.stringify(profile));
    print(`### ${store.kind}: ${fmt(requests)} requests profiled (start-up included)`);
    print();
    for (const line of analyseProfile(profile, root, requests)) print(line);
    print();
  }
}

print(`Total bench time: ${((Date.now() - started) / 1000).toFixed(0)} s.${problems.length > 0 ? ` PROBLEMS: ${problems.join('; ')}` : ''}`);
if (process.env.BENCH_OUT) writeFileSync(process.env.BENCH_OUT, `${out.join('\n')}\n`);
await cleanup();
process.exit(problems.length > 0 ? 1 : 0);
