import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, withBoundPort } from './config/env.js';
import { loadConfig } from './config/load.js';
import { createLogger, drainLog } from './http/logger.js';
import { closeGracefully } from './http/shutdown.js';
import { createServer } from './server.js';
import { createServices } from './services.js';
import { createStore } from './store/createStore.js';
import { redisDurability } from './store/redisDurability.js';

const SHUTDOWN_GRACE_MS = 10_000;
/** After the grace period: the longest wait for the services to stop and the store to close. */
const STOP_BOUND_MS = 5_000;
/** The longest wait for the last log lines to reach stdout before exiting (a reader that stopped reading must not hold the process). */
const LOG_DRAIN_MS = 1_000;

async function main(): Promise<void> {
  // A reader of our output that has gone (`npm start | head`) must neither crash the service nor
  // keep it from stopping: what cannot be written to the terminal is dropped.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  let loaded;
  try {
    loaded = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`cek-gateway cannot start.\n${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const { warnings, adminTokenToPrint, dotEnvFile } = loaded;
  let { config } = loaded;
  const log = createLogger(config.logLevel);
  const exit = (code: number): void => {
    void drainLog(log, LOG_DRAIN_MS).then(() => process.exit(code));
  };
  if (dotEnvFile !== undefined) log.info({ file: dotEnvFile }, 'read .env (variables set in the environment take precedence)');
  for (const w of warnings) log.warn(`!!! ${w}`);
  if (adminTokenToPrint !== undefined) {
    // Printed once, to the terminal only (not the JSON log): it is kept in DATA_DIR/dev-secrets.json.
    process.stderr.write(
      `\n  ============================================================\n  Development admin token (shown once, kept in ${config.dataDir}/dev-secrets.json):\n\n    ${adminTokenToPrint}\n\n  Use it as "Authorization: Bearer <token>" on /api/v1.\n  ============================================================\n\n`,
    );
  }

  const store = await createStore({ ...config, warn: (message) => log.warn(message) });
  // Asked once the store answered, so an unreachable Redis is reported once, by createStore. Only
  // when Redis holds the durable records: beside PostgreSQL it keeps nothing a restart should keep.
  if (config.redisUrl !== undefined && config.databaseUrl === undefined) {
    const verdict = await redisDurability(config.redisUrl, { env: config.env, allowVolatile: config.redisAllowVolatile });
    if (verdict.refusal !== undefined) {
      await store.close();
      process.stderr.write(`cek-gateway cannot start.\n${verdict.refusal}\n`);
      exit(1);
      return;
    }
    if (verdict.warning !== undefined) {
      log.warn(`!!! ${verdict.warning}`);
      if (config.env === 'development') process.stderr.write(`\n  !!! ${verdict.warning}\n\n`);
    }
  }
  const server = createHttpServer();
  server.on('error', (err: NodeJS.ErrnoException) => {
    const hint =
      err.code === 'EADDRINUSE'
        ? ` (port ${config.port} is in use: set PORT to another one)`
        : err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND'
          ? ` (HOST ${config.host} is not an address of this machine)`
          : '';
    process.stderr.write(`cek-gateway cannot listen: ${err.message}${hint}\n`);
    exit(1);
  });
  if (config.port === 0) {
    // PORT=0: the system picks the port, and the services need it (the default PUBLIC_URL names it).
    // Bound before they are made; nobody knows the port until the start line names it.
    await listen(server, 0, config.host);
    config = withBoundPort(config, (server.address() as AddressInfo).port);
  }
  const services = await createServices({ config, store, log });
  createServer(services, server);
  if (!server.listening) await listen(server, config.port, config.host);
  log.info(
    { host: config.host, port: config.port, publicUrl: config.publicUrl, store: store.kind, env: config.env },
    `cek-gateway listening on http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}, reached as ${config.publicUrl} (admin pages: ${config.publicUrl}/admin)`,
  );

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing in-flight requests');
    // Whatever the steps below meet (a store that never answers its close), the process ends.
    setTimeout(() => {
      log.warn('shutdown did not finish in time; exiting');
      exit(1);
    }, SHUTDOWN_GRACE_MS + STOP_BOUND_MS).unref();
    void closeGracefully(server, SHUTDOWN_GRACE_MS, () => log.warn('in-flight requests did not finish in time; closing connections')).then(async () => {
      await services.stop();
      await store.close();
      log.info('stopped');
      exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** Resolves once `server` listens (its `error` listener reports a failure). */
function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve) => server.listen(port, host, resolve));
}

main().catch((err: unknown) => {
  process.stderr.write(`cek-gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
