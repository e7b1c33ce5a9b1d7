import { causeOf, codeOf, describeError, messageOf, nameOf, reasonOf, typeOf } from '../../src/http/errorInfo.js';

describe('what may be read off a thrown value', () => {
  const sys = Object.assign(new Error('open failed'), { code: 'ENOENT' });

  test('an Error: message, name, code, cause, type', () => {
    const wrapped = new TypeError('fetch failed', { cause: sys });
    expect([messageOf(wrapped), nameOf(wrapped), codeOf(wrapped), causeOf(wrapped)]).toEqual(['fetch failed', 'TypeError', undefined, sys]);
    expect([codeOf(sys), reasonOf(sys), reasonOf(new Error('plain'))]).toEqual(['ENOENT', 'ENOENT', 'plain']);
    expect(typeOf(Object.assign(new Error('x'), { type: 'entity.parse.failed' }))).toBe('entity.parse.failed');
  });

  test('anything else thrown: no crash, plain answers', () => {
    for (const thrown of [null, undefined, 42, 'text', { message: 7, code: 3 }]) {
      expect(typeof messageOf(thrown)).toBe('string');
      expect(nameOf(thrown)).toBe('');
      expect(codeOf(thrown)).toBeUndefined();
    }
    expect(messageOf('text')).toBe('text');
  });

  test('describeError keeps class, code and a short message, follows causes a few levels, never loops', () => {
    const loop: Error & { cause?: unknown } = new Error('a'.repeat(500));
    loop.cause = loop;
    const d = describeError(new Error('outer', { cause: sys }));
    expect(d).toEqual({ type: 'Error', code: undefined, message: 'outer', cause: { type: 'Error', code: 'ENOENT', message: 'open failed', cause: undefined } });
    expect(String((describeError(loop) as { message: string }).message)).toHaveLength(200);
    expect(describeError(5)).toEqual({ type: 'number' });
  });
});
