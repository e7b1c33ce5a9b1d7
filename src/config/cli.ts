import { resolve } from 'node:path';
import { redisUrlOf, storeEnvSchema } from './env.js';
import { deepFreeze } from './freeze.js';

/**
 * What the `cek-gateway` CLI takes from its environment. Read here, like every other setting, so
 * nothing outside `config/` touches `process.env`. Each part is read only when a command needs it:
 * `export` needs no store settings, `backup` no admin token.
 */
export interface CliEnv {
  /** `CEK_GATEWAY_URL`: the running instance's base URL, for the admin API commands. */
  readonly adminUrl: string | undefined;
  /** `CEK_GATEWAY_TOKEN`: its `ADMIN_TOKEN`. */
  readonly adminToken: string | undefined;
  /** The store settings as the service reads them; throws with every problem listed. */
  storeSettings(): StoreSettings;
  /** A variable named by an `${env:NAME}` reference in a configuration file. */
  lookup(name: string): string | undefined;
}

export interface StoreSettings {
  readonly dataDir: string;
  readonly redisUrl: string | undefined;
  readonly redisKeyPrefix: string;
  readonly databaseUrl: string | undefined;
  readonly databaseSchema: string;
}

export function loadCliEnv(env: Readonly<Record<string, string | undefined>> = process.env): CliEnv {
  const blank = (v: string | undefined) => (v === undefined || v.trim() === '' ? undefined : v.trim());
  return {
    adminUrl: blank(env['CEK_GATEWAY_URL']),
    adminToken: blank(env['CEK_GATEWAY_TOKEN']),
    storeSettings() {
      const parsed = storeEnvSchema.safeParse(env);
      if (!parsed.success) {
        throw new Error(`invalid store settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      }
      const e = parsed.data;
      if (e.REDIS_CLUSTER_NODES !== undefined && e.REDIS_URL !== undefined) throw new Error('invalid store settings: set REDIS_CLUSTER_NODES or REDIS_URL, not both');
      return deepFreeze({ dataDir: resolve(e.DATA_DIR), redisUrl: redisUrlOf(e), redisKeyPrefix: e.REDIS_KEY_PREFIX, databaseUrl: e.DATABASE_URL, databaseSchema: e.DATABASE_SCHEMA });
    },
    lookup: (name) => env[name],
  };
}
