import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A private redis-server for tests that stall, kill, restart or configure Redis differently (the
 * shared one must never be stopped or reconfigured): its own free loopback port and its own
 * directory. By default it keeps an append-only file synced on every write, so a killed server
 * restarts with its data; `args` replace that configuration (e.g. persistence off). `stop()` ends it
 * and removes the directory.
 */
export interface PrivateRedis {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** SIGSTOP: the server keeps its connections but answers nothing (a stalled server). */
  pause(): void;
  /** SIGCONT after `pause()`. */
  resume(): void;
  /** SIGKILL, and waits for the process to be gone. */
  kill(): Promise<void>;
  /** Starts the server again on the same port (after `kill()`), with the data it had. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const DURABLE_ARGS = ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always'];

export async function startPrivateRedis(args: readonly string[] = DURABLE_ARGS): Promise<PrivateRedis> {
  const binary = redisServerBinary();
  if (binary === undefined) throw new Error('redis-server is not on the PATH (apt-get install redis-server)');
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cek-redis-'));
  const launchHere = (): Promise<ChildProcess> =>
    launch(binary, port, dir, args).catch((err: unknown) => {
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    });
  let child: ChildProcess = await launchHere();
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const killNow = async (signal: NodeJS.Signals): Promise<void> => {
    if (!running()) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT');
    child.kill(signal);
    await exited;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    kill: () => killNow('SIGKILL'),
    async restart() {
      await killNow('SIGKILL');
      child = await launchHere();
    },
    async stop() {
      await killNow('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The redis-server on the PATH, or undefined (the tests that need one say so). */
export function redisServerBinary(): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'redis-server');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function launch(binary: string, port: number, dir: string, args: readonly string[]): Promise<ChildProcess> {
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...args], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!(await pong(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server ${args.join(' ')} did not start on port ${port}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

/** One PING over a fresh socket. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let data = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('utf8');
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
