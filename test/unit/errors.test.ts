import { Readable } from 'node:stream';
import express from 'express';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
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

  test('every store failure is store_unavailable: a command timeout, Redis refusing to serve, a locked or broken SQLite file, a wrapped one', () => {
    // What ioredis rejects a command with when it gets no reply in time, and Redis' own refusals.
    const replyError = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });
    const failures: unknown[] = [
      new Error('Command timed out'),
      replyError('LOADING Redis is loading the dataset in memory'),
      replyError("READONLY You can't write against a read only replica."),
      replyError('MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.'),
      replyError("OOM command not allowed when used memory > 'maxmemory'."),
      new Error('Redis ping failed', { cause: new Error('Connection is closed.') }),
    ];
    // A real SQLITE_BUSY: another connection holds the write lock.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cek-errors-'));
    const a = new Database(path.join(dir, 'db.sqlite'));
    const b = new Database(path.join(dir, 'db.sqlite'));
    try {
      a.pragma('busy_timeout = 0');
      a.exec('CREATE TABLE t (x)');
      b.exec('BEGIN IMMEDIATE');
      try {
        a.exec('INSERT INTO t VALUES (1)');
      } catch (err) {
        failures.push(err);
      }
    } finally {
      b.close();
      a.close();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(failures).toHaveLength(7);
    for (const err of failures) {
      expect(isStoreUnavailable(err)).toBe(true);
      expect(toAppError(err).status).toBe(503);
    }
    // Bugs stay bugs: a constraint violation, a Redis syntax error.
    expect(isStoreUnavailable(Object.assign(new Error('UNIQUE constraint failed'), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' }))).toBe(false);
    expect(isStoreUnavailable(replyError('ERR syntax error'))).toBe(false);
  });

  test('express errors: malformed percent-encoding is 400 invalid_request; a JSON scalar body is invalid_body, broken JSON invalid_json', () => {
    expect(toAppError(new URIError("Failed to decode param '%'")).code).toBe('invalid_request');
    const parseFailure = (body: string) => Object.assign(new SyntaxError('Unexpected token'), { type: 'entity.parse.failed', body });
    for (const scalar of ['null', '123', '"text"', 'true']) expect(toAppError(parseFailure(scalar)).code).toBe('invalid_body');
    for (const broken of ['{', '{"a":}', 'nul']) expect(toAppError(parseFailure(broken)).code).toBe('invalid_json');
  });

  test('body-parser refusals are client errors: too many form fields 413, an aborted body 400', async () => {
    const parse = express.urlencoded({ extended: false, parameterLimit: 2 });
    const err = await new Promise<unknown>((resolve) => {
      const req = Object.assign(Readable.from([Buffer.from('a=1&b=2&c=3')]), { headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '11' } });
      parse(req as never, {} as never, resolve);
    });
    expect(toAppError(err).code).toBe('payload_too_large');
    expect(toAppError(Object.assign(new Error('aborted'), { type: 'request.aborted' })).code).toBe('invalid_request');
  });

  test('a body that does not decompress is 400 invalid_request, an unknown coding 415; a status on another error is no client error', async () => {
    const parsed = (encoding: string, body: string) =>
      new Promise<unknown>((resolve) => {
        const req = Object.assign(Readable.from([Buffer.from(body)]), { headers: { 'content-type': 'application/json', 'content-length': String(body.length), 'content-encoding': encoding } });
        express.json()(req as never, {} as never, resolve);
      });
    for (const encoding of ['gzip', 'deflate', 'br']) {
      // zlib's own error ('incorrect header check', Z_BUF_ERROR) with http-errors' status 400, no type.
      const err = await parsed(encoding, 'xx');
      expect([encoding, toAppError(err).code, toAppError(err).message]).toEqual([encoding, 'invalid_request', 'The request body could not be read: it does not decode as its content-encoding says.']);
    }
    expect(toAppError(await parsed('compress', 'xx')).code).toBe('unsupported_media_type');
    // An OAuth provider's answer carries its HTTP status, but is no client error of ours.
    expect(toAppError(Object.assign(new Error('invalid_client'), { status: 401 })).code).toBe('internal_error');
  });
});
