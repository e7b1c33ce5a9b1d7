// The benchmark's report: lines printed to stdout (and kept for BENCH_OUT), progress on stderr, the
// problems found by every scenario's checks, and what runs at the end however the bench ends.
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BODY } from './fixtures.mjs';

export const log = (msg) => process.stderr.write(`bench: ${msg}\n`);

const out = [];
export const print = (line = '') => {
  out.push(line);
  process.stdout.write(`${line}\n`);
};

/** What the checks found: printed at the end, and the exit code is 1 when there is any. */
export const problems = [];

const cleanups = [];
/** Runs `fn` when the bench ends (in reverse order of registration). */
export const onCleanup = (...fns) => cleanups.push(...fns);

export async function cleanup() {
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

/** The report's head: machine, versions, pinning, Redis, method. */
export function printHeader(ctx) {
  const { P, QUICK, root, hasTaskset, SERVICE_CPU, LOAD_CPU, redisNote, stores, storesNote, pgNote } = ctx;
  const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} vCPU, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
  const deps = Object.fromEntries(
    ['undici', 'express', 'axios', 'better-sqlite3', 'ioredis', 'autocannon', 'pino', 'prom-client'].map((d) => [
      d,
      JSON.parse(readFileSync(path.join(root, 'node_modules', d, 'package.json'), 'utf8')).version,
    ]),
  );
  print(`# cek-gateway benchmark — ${new Date().toISOString()}`);
  print();
  print(
    `- machine: ${machine}; load average at start ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  print(
    `- versions: ${Object.entries(deps)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  print(`- pinning: ${hasTaskset ? `servers on CPU ${SERVICE_CPU}; autocannon, target and Redis on CPU ${LOAD_CPU} (taskset)` : 'taskset not found: NOT pinned'}; Redis: ${redisNote}`);
  print(`- stores: ${stores.map((s) => s.kind).join(', ')} (${storesNote})${pgNote === undefined ? '' : `; PostgreSQL: ${pgNote}`}`);
  print(
    `- method: ${P.reps} interleaved reps; per configuration and rep ${P.warmupS} s warm-up, ${P.throughputS} s at 32 connections (req/s, service CPU from /proc), ${P.latencyS} s at 1 connection (p50/p99 of every response); body ${BODY.length} B${QUICK ? '; BENCH_QUICK=1 (short run)' : ''}`,
  );
  print();
}

/** The report's last line; writes BENCH_OUT, cleans up and exits (1 when a check failed). */
export async function finish(started) {
  print(`Total bench time: ${((Date.now() - started) / 1000).toFixed(0)} s.${problems.length > 0 ? ` PROBLEMS: ${problems.join('; ')}` : ''}`);
  if (process.env.BENCH_OUT) writeFileSync(process.env.BENCH_OUT, `${out.join('\n')}\n`);
  await cleanup();
  process.exit(problems.length > 0 ? 1 : 0);
}
