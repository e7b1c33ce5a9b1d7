import { readFileSync } from 'node:fs';
import { AppError, ERROR_CODES, errorBody, toAppError } from '../../src/http/errors.js';
import { createRedisStore } from '../../src/store/redisStore.js';
import { createSqliteStore } from '../../src/store/sqliteStore.js';
import { isStoreUnavailable } from '../../src/store/unavailable.js';

describe('error registry', () => {
  /** The README's "Error codes" table read back: code → status, from its `| status | codes |` rows. */
  function documentedCodes(): Map<string, number> {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### Error codes'));
    const table = section.slice(0, section.indexOf('\n## '));
    const codes = new Map<string, number>();
    for (const row of table.matchAll(/^\| (\d{3}) \| (.+) \|$/gm)) {
      for (const m of (row[2] ?? '').matchAll(/`([a-z_]+)`/g)) codes.set(m[1] ?? '', Number(row[1]));
    }
    return codes;
  }

  test('every code has a 4xx/5xx status', () => {
    for (const status of Object.values(ERROR_CODES)) {
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
  });

  test("the README's table lists exactly the registered codes, each under its status, and as many", () => {
    const documented = documentedCodes();
    expect(Object.fromEntries(documented)).toEqual(ERROR_CODES);
    expect(documented.size).toBe(Object.keys(ERROR_CODES).length);
  });

  test('unknown errors are masked; their message never reaches the body', () => {
    const masked = toAppError(new Error('connect ECONNREFUSED 10.0.0.5:6379 password=hunter2'));
    expect(masked.code).toBe('internal_error');
    expect(JSON.stringify(errorBody(masked, 'req-1'))).not.toContain('hunter2');
    expect(errorBody(masked, 'req-1').error.requestId).toBe('req-1');
  });

  test('an AppError keeps its code, status and details', () => {
    const e = new AppError('invalid_body', 'bad', { details: [{ path: 'x', message: 'y' }] });
    expect(e.status).toBe(400);
    expect(errorBody(e, undefined)).toEqual({ error: { code: 'invalid_body', message: 'bad', details: [{ path: 'x', message: 'y' }] } });
  });

  test('a store that does not answer is 503 store_unavailable (Redis unreachable, SQLite closed), its cause not shown', async () => {
    const redis = createRedisStore({ url: 'redis://127.0.0.1:1', prefix: 'unit-errors:' });
    const redisErr = await redis.get('k').catch((e: unknown) => e);
    await redis.close().catch(() => undefined);
    const sqlite = createSqliteStore({ file: ':memory:' });
    await sqlite.close();
    const sqliteErr = await sqlite.get('k').catch((e: unknown) => e);
    for (const err of [redisErr, sqliteErr]) {
      expect(isStoreUnavailable(err)).toBe(true);
      const mapped = toAppError(err);
      expect(mapped.code).toBe('store_unavailable');
      expect(mapped.status).toBe(503);
      expect(mapped.message).not.toMatch(/retries|database|127\.0\.0\.1/);
    }
  });

  test('express errors: malformed percent-encoding is 400 invalid_request; a JSON scalar body is invalid_body, broken JSON invalid_json', () => {
    expect(toAppError(new URIError("Failed to decode param '%'")).code).toBe('invalid_request');
    const parseFailure = (body: string) => Object.assign(new SyntaxError('Unexpected token'), { type: 'entity.parse.failed', body });
    for (const scalar of ['null', '123', '"text"', 'true']) expect(toAppError(parseFailure(scalar)).code).toBe('invalid_body');
    for (const broken of ['{', '{"a":}', 'nul']) expect(toAppError(parseFailure(broken)).code).toBe('invalid_json');
  });
});
