import { randomBytes } from 'node:crypto';
import { PreSessionCsrf, sessionTokenMatches } from '../../src/security/csrf.js';

describe('sessionTokenMatches', () => {
  test('only the session secret itself matches; empty values never do', () => {
    expect(sessionTokenMatches('s3cret-value', 's3cret-value')).toBe(true);
    expect(sessionTokenMatches('s3cret-valuf', 's3cret-value')).toBe(false);
    expect(sessionTokenMatches('', '')).toBe(false);
    expect(sessionTokenMatches(undefined, 'x')).toBe(false);
    expect(sessionTokenMatches(['s3cret-value'], 's3cret-value')).toBe(false);
  });
});

describe('PreSessionCsrf', () => {
  const key = randomBytes(32);
  const form = new PreSessionCsrf(key, { form: 'sign-in', maxAgeMs: 60_000 });
  const now = 1_800_000_000_000;

  test('a token verifies for its nonce, within its age', () => {
    const { nonce, token } = form.issue(undefined, now);
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(form.verify(nonce, token, now)).toBe(true);
    expect(form.verify(nonce, token, now + 60_000)).toBe(true);
    expect(form.verify(nonce, token, now + 60_001)).toBe(false);
    expect(form.verify(nonce, token, now - 1)).toBe(false);
  });

  test('a well-formed cookie nonce is kept, anything else replaced', () => {
    const nonce = 'A'.repeat(32);
    expect(form.issue(nonce, now).nonce).toBe(nonce);
    expect(form.issue('short', now).nonce).not.toBe('short');
  });

  test('an unsigned double-submit (cookie = field) and tokens for another nonce, form or key are refused', () => {
    const nonce = 'B'.repeat(32);
    expect(form.verify(nonce, nonce, now)).toBe(false);
    const { token } = form.issue(nonce, now);
    expect(form.verify('C'.repeat(32), token, now)).toBe(false);
    expect(new PreSessionCsrf(key, { form: 'other', maxAgeMs: 60_000 }).verify(nonce, token, now)).toBe(false);
    expect(new PreSessionCsrf(randomBytes(32), { form: 'sign-in', maxAgeMs: 60_000 }).verify(nonce, token, now)).toBe(false);
    for (const bad of [undefined, 42, '', `${token}.x`, token.replace(/^[^.]+/, 'zzzzzzzzzzzzz'), token.slice(0, -1)]) expect(form.verify(nonce, bad, now)).toBe(false);
    expect(form.verify(undefined, token, now)).toBe(false);
  });
});
