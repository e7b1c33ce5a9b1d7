import { loadOrCreateDevSecrets } from './devSecrets.js';
import { parseConfig, type ParsedConfig } from './env.js';

/**
 * The process's configuration, read from `process.env` once at start-up (the only place that reads
 * it). `adminTokenToPrint` is set when a development admin token was just generated.
 */
export function loadConfig(): ParsedConfig & { adminTokenToPrint: string | undefined } {
  let adminTokenToPrint: string | undefined;
  const parsed = parseConfig(process.env, {
    devSecrets: (dir) => {
      const s = loadOrCreateDevSecrets(dir);
      if (s.created) adminTokenToPrint = s.adminToken;
      return s;
    },
  });
  return { ...parsed, adminTokenToPrint };
}
