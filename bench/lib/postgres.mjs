// The bench's PostgreSQL: BENCH_DATABASE_URL (the local server by default). Every schema the run
// uses is named after the run (`cekbench_<pid>_<random>_<use>`), and only those schemas are dropped
// at the end: nothing else in the database is touched.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { log, onCleanup } from './report.mjs';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** The URL without its password, for the report. */
export function redactUrl(url) {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** A pid of this machine that is a PostgreSQL process (not a pid of another namespace's server). */
function isPostgresProcess(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('postgres');
  } catch {
    return false;
  }
}

/** True when a server answers at `url` within 3 s (used to decide whether the default run includes PostgreSQL). */
export async function postgresReachable(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Returns `{ databaseUrl, pgNote, pgSchema(use), pgQuery(text, values), pgBackendPids() }`:
 * `pgSchema` names (and registers for the final DROP) a schema of this run; `pgQuery` runs one
 * statement on a connection of the bench's own (seeding the floor store).
 */
export async function setUpPostgres() {
  const databaseUrl = process.env.BENCH_DATABASE_URL || DEFAULT_DATABASE_URL;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2, connectionTimeoutMillis: 5_000 });
  pool.on('error', () => undefined);
  let version;
  try {
    version = (await pool.query('SHOW server_version')).rows[0].server_version;
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new Error(`PostgreSQL at ${redactUrl(databaseUrl)} does not answer (${err.message}); set BENCH_DATABASE_URL or leave postgres out of BENCH_STORES`);
  }
  const host = new URL(databaseUrl).hostname;
  const local = host === '' || host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '[::1]';
  const base = `cekbench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const schemas = new Set();
  onCleanup(async () => {
    // Only this run's schemas (their names were made here), never anything else.
    for (const schema of schemas) {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((err) => log(`cleanup: DROP SCHEMA ${schema}: ${err.message}`));
    }
    await pool.end();
  });
  return {
    databaseUrl,
    pgNote: `PostgreSQL ${version.split(' ')[0]} at ${redactUrl(databaseUrl)}, schemas ${base}_*`,
    pgSchema: (use) => {
      const schema = `${base}_${use}`.replace(/[^a-z0-9_]/g, '_').slice(0, 63);
      schemas.add(schema);
      return schema;
    },
    pgQuery: (text, values) => pool.query(text, values),
    /**
     * The server processes of this run's connections: ours names them `cek-gateway <schema>`, the
     * floor and typical baselines `cekbench <schema>`. Empty when the server is not on this machine
     * (its pids then mean nothing here).
     */
    pgBackendPids: async () => (local ? (await pool.query('SELECT pid FROM pg_stat_activity WHERE application_name LIKE $1', [`%${base}%`])).rows.map((r) => r.pid).filter(isPostgresProcess) : []),
  };
}
