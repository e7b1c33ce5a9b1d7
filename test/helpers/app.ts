import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { parseConfig, type Config } from '../../src/config/env.js';
import { createLogger } from '../../src/http/logger.js';
import { createMetrics } from '../../src/http/metrics.js';
import { createServer } from '../../src/server.js';
import type { CekResponder } from '../../src/cek/dispatch.js';
import type { Features } from '../../src/features.js';
import { createServices, type Services } from '../../src/services.js';
import type { Store } from '../../src/store/store.js';
import { makeClovaSigner, type ClovaSigner } from './cek.js';
import { openTestStore, type StoreKindName } from './stores.js';

/** Random-looking, so production-mode tests pass the start-up's guessability check. */
export const ADMIN_TOKEN = 'f3c9a1d7e2b84c6a9d0e5b7c1a2f8e64b9d3';

export interface TestApp {
  services: Services;
  server: Server;
  /** http://127.0.0.1:<port> */
  url: string;
  config: Config;
  store: Store;
  signer: ClovaSigner;
  adminHeaders: { authorization: string };
  close(): Promise<void>;
}

export interface TestAppOptions {
  store?: StoreKindName;
  label?: string;
  env?: Record<string, string>;
  /** Share a store (and its cleanup) with another instance: two app instances on one Redis. */
  sharedStore?: { store: Store };
  signer?: ClovaSigner;
  encryptionKey?: string;
  /** Listen on a port chosen up front and use it in PUBLIC_URL, so browsers can follow our own links. */
  realPublicUrl?: boolean;
  /** Extra CEK responders (probes), placed before the features' own; given the installed features. */
  responders?: (features: Features) => readonly CekResponder[];
}

/** The real server (CEK fast path + Express) on a loopback port, on a fresh store. */
export async function startTestApp(o: TestAppOptions = {}): Promise<TestApp> {
  const signer = o.signer ?? makeClovaSigner();
  const opened = o.sharedStore ?? (await openTestStore(o.store ?? 'sqlite', o.label ?? 'app'));
  const port = o.realPublicUrl === true ? await freePort() : 0;
  const { config } = parseConfig({
    NODE_ENV: 'test',
    ENCRYPTION_KEY: o.encryptionKey ?? randomBytes(32).toString('base64'),
    ADMIN_TOKEN,
    CEK_PUBLIC_KEY: signer.publicKeyPem,
    PUBLIC_URL: port === 0 ? 'http://127.0.0.1:3000' : `http://127.0.0.1:${port}`,
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    ...o.env,
  });
  const log = createLogger(config.logLevel);
  const services = await createServices({
    config,
    store: opened.store,
    log,
    metrics: createMetrics({ defaultMetrics: false }),
    ...(o.responders === undefined ? {} : { extraResponders: o.responders }),
  });
  const server = createServer(services);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    services,
    server,
    url: `http://127.0.0.1:${bound}`,
    config,
    store: opened.store,
    signer,
    adminHeaders: { authorization: `Bearer ${ADMIN_TOKEN}` },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await services.stop();
      if (o.sharedStore === undefined && 'cleanup' in opened) await (opened as { cleanup: () => Promise<void> }).cleanup();
    },
  };
}

async function freePort(): Promise<number> {
  const { createServer: createNetServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
