// Processes of the benchmark (bench/run.mjs): start, pin, own and stop them; CPU and memory from
// /proc; load generation with autocannon. Plain ESM JavaScript: nothing is compiled at bench time.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import autocannon from 'autocannon';

export const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

export const hasTaskset = spawnSync('taskset', ['--version'], { encoding: 'utf8' }).status === 0;

export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// Every process the bench starts, so none outlives it even when it fails half-way.
const children = new Set();
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** The pids of every process the bench started and that still runs. */
export function ownedPids() {
  return [...children].filter((c) => c.exitCode === null && c.signalCode === null).map((c) => c.pid);
}

/** Kills `child` when the bench exits, however it exits. */
export function own(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/**
 * Starts `node <args>` pinned to `cpu` (when taskset exists). taskset execs node, so the pid is
 * node's own and /proc/<pid>/stat is the server's CPU.
 */
export function startNode(args, { env = {}, cpu, stdout = 'ignore', name }) {
  const cmd = hasTaskset && cpu !== undefined ? 'taskset' : process.execPath;
  const argv = hasTaskset && cpu !== undefined ? ['-c', String(cpu), process.execPath, ...args] : args;
  const child = own(spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', stdout, 'pipe'] }));
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.length > 20_000) stderr = stderr.slice(-10_000);
  });
  child.on('exit', (code, signal) => {
    if (!child.expectedExit) process.stderr.write(`bench: ${name} exited (${code ?? signal})\n${stderr.slice(-2000)}\n`);
  });
  return {
    name,
    child,
    pid: child.pid,
    stderr: () => stderr,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.expectedExit = true;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits until `url` answers; fails early, with the server's stderr, when `proc` exits first. */
export async function waitForHttp(url, timeoutMs = 20_000, proc = undefined) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (proc !== undefined && (proc.child.exitCode !== null || proc.child.signalCode !== null)) {
      throw new Error(`${proc.name} exited before answering at ${url}:\n${proc.stderr().slice(-2000)}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`${proc?.name ?? url} did not answer at ${url} within ${timeoutMs} ms${proc ? `:\n${proc.stderr().slice(-2000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** utime + stime of a process, in µs. */
export function cpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at index 2 ("state").
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1e6) / CLK_TCK;
}

/** CPU µs used by the whole machine (all CPUs, all processes) since boot, from /proc/stat. */
export function machineBusyMicros() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait.
  const busy = line.reduce((a, b) => a + b, 0) - (line[3] ?? 0) - (line[4] ?? 0);
  return (busy * 1e6) / CLK_TCK;
}

/** CPU µs of a process and all its threads; 0 when it is gone. */
export function cpuMicrosOrZero(pid) {
  try {
    return cpuMicros(pid);
  } catch {
    return 0;
  }
}

/** Resident set size in bytes. */
/**
 * The anonymous part of RSS (heap, stacks, native allocations): what the process itself holds. The
 * file-backed part is the page cache of files it maps (the SQLite store maps its file), which the
 * kernel reclaims at will and which grows with the file, not with a leak.
 */
export function rssAnonBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /RssAnon:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

export function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

/**
 * One autocannon run. With `latencies`, every 2xx response time (ms, float) is kept: autocannon's
 * own histogram rounds to whole milliseconds, too coarse for sub-millisecond latencies.
 */
export function load({ url, connections, duration, amount, headers, body, verify, latencies = false }) {
  return new Promise((resolve, reject) => {
    const times = [];
    const opts = {
      url,
      method: 'POST',
      connections,
      headers,
      body,
      ...(amount !== undefined ? { amount } : { duration }),
      ...(verify === undefined ? {} : { verifyBody: verify }),
    };
    const started = process.hrtime.bigint();
    // With `amount`, autocannon ends on its once-a-second tick: the run's time is until the last answer.
    let last = started;
    const instance = autocannon(opts, (err, result) => {
      if (err) reject(err);
      else resolve({ result, seconds: Number((amount !== undefined ? last : process.hrtime.bigint()) - started) / 1e9, times });
    });
    if (amount !== undefined) {
      instance.on('response', () => {
        last = process.hrtime.bigint();
      });
    }
    if (latencies) {
      instance.on('response', (_client, statusCode, _bytes, responseTime) => {
        if (statusCode >= 200 && statusCode < 300) times.push(responseTime);
      });
    }
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
