import { randomBytes } from 'node:crypto';
import { parseConfig } from '../../src/config/env.js';
import { problemsOf } from '../helpers/config.js';

const BASE = { ENCRYPTION_KEY: randomBytes(32).toString('base64'), ADMIN_TOKEN: 'an-admin-token-that-is-long-enough' };

const problemsWith = (env: Record<string, string>): readonly string[] => problemsOf(() => parseConfig({ ...BASE, ...env }));

describe('DATABASE_URL and DATABASE_SCHEMA', () => {
  test('unset: no database, schema cek_gateway', () => {
    const { config } = parseConfig({ ...BASE, DATABASE_URL: ' ' });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.databaseSchema).toBe('cek_gateway');
  });

  test('postgres:// and postgresql:// URLs and a custom schema are taken as given', () => {
    // The last one: a Unix socket (the host as a parameter, as libpq takes it).
    for (const url of ['postgres://app:secret@db.internal:5432/cek', 'postgresql://127.0.0.1/cek?sslmode=require', 'postgres:///cek?host=/var/run/postgresql']) {
      const { config } = parseConfig({ ...BASE, DATABASE_URL: url, DATABASE_SCHEMA: 'tenant_2' });
      expect(config.databaseUrl).toBe(url);
      expect(config.databaseSchema).toBe('tenant_2');
    }
  });

  test('another scheme, a malformed URL and a schema that is not a plain identifier are refused', () => {
    expect(problemsWith({ DATABASE_URL: 'mysql://db/cek' })).toEqual([expect.stringMatching(/^DATABASE_URL: must be a postgres/)]);
    expect(problemsWith({ DATABASE_URL: 'postgres://db:99999/cek' })).toEqual([expect.stringMatching(/^DATABASE_URL: is not a valid URL/)]);
    for (const schema of ['Upper', '1st', 'semi;colon', 'a'.repeat(64)]) {
      expect(problemsWith({ DATABASE_SCHEMA: schema })).toEqual([expect.stringMatching(/^DATABASE_SCHEMA: must be lower-case letters/)]);
    }
  });
});
