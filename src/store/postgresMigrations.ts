import type pg from 'pg';

/**
 * The PostgreSQL store's schema, as numbered migrations. A migration is never edited once released:
 * a change is a new entry with the next version. Each runs in the transaction that records it, so a
 * failed one leaves nothing half-applied.
 */
export interface Migration {
  version: number;
  name: string;
  /** SQL run with `search_path` set to the store's schema only. */
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'kv table',
    // COLLATE "C": keys compare by UTF-8 bytes (= code point order), like SQLite's BINARY and Redis,
    // and prefix ranges (`key >= lo AND key < hi`) use the primary key's index.
    sql: `
      CREATE TABLE kv (
        key text COLLATE "C" PRIMARY KEY,
        value text NOT NULL,
        expires_at timestamptz
      );
      CREATE INDEX kv_expires_at ON kv (expires_at) WHERE expires_at IS NOT NULL;`,
  },
  {
    version: 2,
    name: 'ordered sets',
    // Store.setAdd/setPage: a page is a range of the primary key's index (set_key = $1 AND member > $2
    // ORDER BY member LIMIT n), members in byte order (COLLATE "C") like SQLite's BINARY and Redis' BYLEX.
    sql: `
      CREATE TABLE sets (
        set_key text COLLATE "C" NOT NULL,
        member text COLLATE "C" NOT NULL,
        PRIMARY KEY (set_key, member)
      );`,
  },
];

/** A schema name we can put into SQL unquoted-safe: lower-case identifier, at most 63 bytes. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** `"name"`: the schema as a quoted identifier (names are checked against SCHEMA_NAME first). */
export function quoteSchema(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid PostgreSQL schema name "${schema}": use lower-case letters, digits and _ (at most 63)`);
  return `"${schema}"`;
}

/**
 * Creates the schema and applies the migrations it lacks. Safe when several instances start at
 * once: a transaction-scoped advisory lock keyed by the schema name makes them take turns, and
 * the later ones find every version recorded. Returns the versions this call applied.
 */
export async function migrate(client: pg.ClientBase, schema: string, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const q = quoteSchema(schema);
  const applied: number[] = [];
  await client.query('BEGIN');
  try {
    // hashtext() gives the int4 key; the prefix keeps us off other applications' advisory locks.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`cek-gateway:migrate:${schema}`]);
    // Checked first: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema
    // exists, and a role given only a schema made for it must still start.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${q}`);
    await client.query(`SET LOCAL search_path TO ${q}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version integer PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const done = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const have = new Set(done.rows.map((r) => r.version));
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (have.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return applied;
}
