import { loadOrCreateDevSecrets, type DevSecretsResult } from './devSecrets.js';
import { loadDotEnv } from './dotenv.js';
import { parseConfig, type ParsedConfig } from './env.js';

/**
 * The process's configuration, read from `process.env` once at start-up (the only place that reads
 * it), after `.env` in the working directory when there is one (the real environment wins).
 * `adminTokenToPrint` is set when a development admin token was just generated; `dotEnvFile` is the
 * .env file that was read.
 */
export function loadConfig(): ParsedConfig & { adminTokenToPrint: string | undefined; dotEnvFile: string | undefined } {
  const { file: dotEnvFile } = loadDotEnv();
  let generated: DevSecretsResult | undefined;
  const parsed = parseConfig(process.env, {
    devSecrets: (dir) => (generated = loadOrCreateDevSecrets(dir)),
  });
  // Only the token in use is printed: with ADMIN_TOKEN set (the file was made for ENCRYPTION_KEY),
  // the generated one opens nothing.
  const adminTokenToPrint = generated?.created === true && parsed.config.adminToken === generated.adminToken ? generated.adminToken : undefined;
  return { ...parsed, adminTokenToPrint, dotEnvFile };
}
