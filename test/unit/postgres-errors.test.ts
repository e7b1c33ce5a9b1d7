import { isPostgresUnavailable, redactPostgresUrl } from '../../src/store/postgresErrors.js';

describe('PostgreSQL failures that mean "unavailable"', () => {
  test('refused or broken connections, connection-class SQLSTATEs, shutdowns and timeouts are', () => {
    const unavailable: unknown[] = [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Query read timeout'),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
      Object.assign(new Error('connection failure'), { code: '08006' }),
      Object.assign(new Error('sorry, too many clients already'), { code: '53300' }),
      new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' })], ''),
    ];
    for (const err of unavailable) expect(isPostgresUnavailable(err)).toBe(true);
  });

  test('errors of the statement or its data are not', () => {
    const other: unknown[] = [
      Object.assign(new Error('invalid input syntax for type bigint: "abc"'), { code: '22P02' }),
      Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }),
      Object.assign(new Error('permission denied for schema cek_gateway'), { code: '42501' }),
      new Error('something else'),
      'a string',
      null,
    ];
    for (const err of other) expect(isPostgresUnavailable(err)).toBe(false);
  });

  test('URLs are shown without their password', () => {
    expect(redactPostgresUrl('postgres://app:hunter2@db:5432/cek')).toBe('postgres://app:***@db:5432/cek');
    expect(redactPostgresUrl('postgres://db/cek?user=app&password=hunter2')).not.toContain('hunter2');
    expect(redactPostgresUrl('postgres://db/cek')).toBe('postgres://db/cek');
    expect(redactPostgresUrl('not a url hunter2')).toBe('<invalid PostgreSQL URL>');
  });
});
