'use strict';
/**
 * Jest globalSetup: makes a Redis available to the Redis-backed suites through REDIS_URL.
 *
 * 1. REDIS_URL already set: use that server (tests only touch keys under their own prefix).
 * 2. Else, `redis-server` on the PATH: start a private one on a free loopback port (not daemonized,
 *    no persistence), wait for PONG, set REDIS_URL. The teardown stops it.
 * 3. Else: with REQUIRE_REDIS=1 fail; otherwise set REDIS_TESTS=skip and the suites run on SQLite only.
 *
 * Environment variables set here reach the test workers.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const READY_TIMEOUT_MS = 10_000;

function findOnPath(command) {
  const dirs = (process.env.PATH || '').split(path.delimiter).filter(Boolean);
  for (const dir of dirs) {
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

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** One PING over a fresh socket; resolves true on +PONG. */
function pingOnce(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let data = '';
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
  });
}

async function startRedis(binary) {
  const port = await freePort();
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  let spawnError = null;
  child.once('exit', (code, signal) => {
    exited = { code, signal };
  });
  child.once('error', (err) => {
    spawnError = err;
  });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (spawnError) throw new Error(`could not start ${binary}: ${spawnError.message}`);
    if (exited) {
      throw new Error(`${binary} exited (code ${exited.code}, signal ${exited.signal}) before answering PING:\n${output}`);
    }
    if (await pingOnce(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${binary} on port ${port} did not answer PING within ${READY_TIMEOUT_MS} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, port };
}

module.exports = async function redisGlobalSetup() {
  if (process.env.REDIS_URL) return;

  const binary = findOnPath('redis-server');
  if (binary) {
    const { child, port } = await startRedis(binary);
    globalThis.__CEK_TEST_REDIS__ = child;
    // Backstop if jest exits without running the teardown (a crash, --bail, Ctrl-C).
    process.once('exit', () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    process.env.REDIS_URL = `redis://127.0.0.1:${port}`;
    return;
  }

  if (process.env.REQUIRE_REDIS === '1') {
    throw new Error('REQUIRE_REDIS=1 but redis-server is not on the PATH and REDIS_URL is not set: redis-server is required');
  }
  console.log('Redis not available: skipping Redis-backed suites (set REDIS_URL or install redis-server)');
  process.env.REDIS_TESTS = 'skip';
};
