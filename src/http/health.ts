import { Router } from 'express';
import type { Metrics } from './metrics.js';
import type { Store } from '../store/store.js';

/** `/healthz` (the process answers), `/readyz` (the store answers, else 503), `/metrics` (Prometheus text). */
export function healthRoutes(store: Store, metrics: Metrics): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    try {
      await withTimeout(store.ping(), 2000);
      res.json({ status: 'ready', store: store.kind });
    } catch {
      metrics.storeErrors.inc({ operation: 'ping' });
      res.status(503).json({ status: 'unavailable', store: store.kind, error: { code: 'store_unavailable', message: 'The store does not answer.' } });
    }
  });
  router.get('/metrics', async (_req, res) => {
    res.setHeader('content-type', metrics.registry.contentType);
    res.end(await metrics.registry.metrics());
  });
  return router;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
