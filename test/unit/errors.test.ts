import { readFileSync } from 'node:fs';
import { AppError, ERROR_CODES, errorBody, toAppError } from '../../src/http/errors.js';

describe('error registry', () => {
  test('every code has a 4xx/5xx status and is documented in the README', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const [code, status] of Object.entries(ERROR_CODES)) {
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
      expect(readme).toContain(`\`${code}\``);
    }
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
});
