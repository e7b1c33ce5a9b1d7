'use strict';
/**
 * Jest globalSetup part: a three-master Redis Cluster for the cluster suites, through
 * REDIS_CLUSTER_NODES (`127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`).
 *
 * 1. REDIS_CLUSTER_NODES already set: use that cluster (tests only touch keys under their own prefix).
 * 2. Else, `redis-server` and `redis-cli` on the PATH: start three cluster-enabled servers on free
 *    loopback ports (client and bus port both chosen free; no persistence; a temporary directory of
 *    their own for nodes.conf), join them with `redis-cli --cluster create … --cluster-replicas 0`,
 *    wait for `cluster_state:ok` on every node. The teardown stops exactly these and removes the directory.
 * 3. Else: with REQUIRE_REDIS=1 fail; otherwise set REDIS_CLUSTER_TESTS=skip (the suites say why).
 */
const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const READY_TIMEOUT_MS = 20_000;
const NODES = 3;

function findOnPath(command) {
  for (const dir of (process.env.PATH || '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Distinct free loopback ports (all held open together, so no two are the same). */
async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const server = net.createServer();
      server.unref();
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      servers.push(server);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

/** One inline command over a fresh socket; resolves with the first reply's text ('' on failure). */
function ask(port, command) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let data = '';
    const done = (text) => {
      socket.destroy();
      resolve(text);
    };
    socket.setTimeout(1000, () => done(''));
    socket.once('error', () => done(''));
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      // +PONG, or a bulk string: $<len>\r\n<text>\r\n
      if (data.startsWith('+') || data.startsWith('-')) {
        if (data.includes('\r\n')) done(data);
      } else if (data.startsWith('$')) {
        const header = data.indexOf('\r\n');
        if (header > 0 && data.length >= header + 2 + Number(data.slice(1, header))) done(data);
      }
    });
  });
}

function run(file, args) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: READY_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(file)} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function waitFor(what, check) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Redis Cluster for the tests: ${what} within ${READY_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startCluster(server, cli) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cek-redis-cluster-'));
  const children = [];
  const state = { dir, children };
  try {
    const ports = await freePorts(NODES * 2);
    for (let i = 0; i < NODES; i++) {
      const port = ports[i];
      const nodeDir = path.join(dir, String(port));
      fs.mkdirSync(nodeDir);
      const args = ['--port', String(port), '--cluster-port', String(ports[NODES + i]), '--bind', '127.0.0.1', '--dir', nodeDir];
      args.push('--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000', '--save', '', '--appendonly', 'no');
      const child = spawn(server, args, { stdio: 'ignore' });
      child.once('error', () => undefined);
      children.push({ child, port });
    }
    for (const { child, port } of children) {
      await waitFor(`redis-server on ${port} answers PING`, async () => {
        if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with code ${child.exitCode}`);
        return (await ask(port, 'PING')).startsWith('+PONG');
      });
    }
    const addresses = children.map(({ port }) => `127.0.0.1:${port}`);
    await run(cli, ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
    for (const { port } of children) {
      await waitFor(`cluster_state:ok on ${port}`, async () => (await ask(port, 'CLUSTER INFO')).includes('cluster_state:ok'));
    }
    return { ...state, nodes: addresses.join(',') };
  } catch (err) {
    stop(state);
    throw err;
  }
}

/** Kills the servers this setup started and removes their directory (nothing else). */
function stop(state) {
  for (const { child } of state.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  fs.rmSync(state.dir, { recursive: true, force: true });
}

async function setup() {
  if (process.env.REDIS_CLUSTER_NODES || process.env.REDIS_CLUSTER_TESTS === 'skip') return;
  const server = findOnPath('redis-server');
  const cli = findOnPath('redis-cli');
  if (server === undefined || cli === undefined) {
    const why = `${server === undefined ? 'redis-server' : 'redis-cli'} is not on the PATH and REDIS_CLUSTER_NODES is not set`;
    if (process.env.REQUIRE_REDIS === '1') throw new Error(`REQUIRE_REDIS=1 but ${why}: a Redis Cluster is required`);
    console.log(`${why}: skipping the Redis Cluster suites`);
    process.env.REDIS_CLUSTER_TESTS = 'skip';
    return;
  }
  const state = await startCluster(server, cli);
  globalThis.__CEK_TEST_REDIS_CLUSTER__ = state;
  // Backstop if jest exits without running the teardown (a crash, --bail, Ctrl-C).
  process.once('exit', () => stop(state));
  process.env.REDIS_CLUSTER_NODES = state.nodes;
}

async function teardown() {
  const state = globalThis.__CEK_TEST_REDIS_CLUSTER__;
  if (!state) return;
  globalThis.__CEK_TEST_REDIS_CLUSTER__ = undefined;
  await Promise.all(
    state.children.map(
      ({ child }) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  fs.rmSync(state.dir, { recursive: true, force: true });
}

module.exports = { setup, teardown };
