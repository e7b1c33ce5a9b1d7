// The store a bench helper process opens: the service's own (the DATA_DIR, Redis prefix or
// PostgreSQL schema the service runs with), named by the environment the bench gives the helper.
import { createStore } from '../../dist/store/createStore.js';

export function storeFromEnv(env) {
  return createStore({
    redisUrl: env.REDIS_URL,
    redisKeyPrefix: env.REDIS_KEY_PREFIX ?? 'cekgw:',
    databaseUrl: env.DATABASE_URL,
    databaseSchema: env.DATABASE_SCHEMA,
    dataDir: env.DATA_DIR ?? './data',
  });
}
