import { MAX_JSON_DEPTH, tooDeepAt } from '../../src/http/jsonLimits.js';

/** `levels` objects nested in one another, each under `key`. */
const chain = (levels: number, key = 'a'): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = { [key]: v };
  return v;
};

describe('tooDeepAt', () => {
  test('scalars and values up to the limit pass; one more level is named', () => {
    for (const v of [null, 1, 'x', true, {}, [], chain(MAX_JSON_DEPTH)]) expect(tooDeepAt(v)).toBeUndefined();
    expect(tooDeepAt(chain(MAX_JSON_DEPTH + 1))).toBe('a.a.a.a…');
    expect(tooDeepAt({ ok: chain(3), list: [1, { x: chain(MAX_JSON_DEPTH) }] })).toBe('list.1.x.a…');
    expect(tooDeepAt({ x: chain(2) }, 2)).toBe('x.a');
    expect(tooDeepAt([[[]]], 2)).toBe('0.0');
    expect(tooDeepAt([[[]]], 3)).toBeUndefined();
  });

  test('an empty container past the limit counts: it is still a level', () => {
    expect(tooDeepAt({ a: { b: [] } }, 2)).toBe('a.b');
  });

  test('long keys are shortened in the path; own keys only', () => {
    const key = 'k'.repeat(500);
    expect(tooDeepAt(chain(3, key), 2)).toBe(`${'k'.repeat(64)}…` + `.${'k'.repeat(64)}…`);
    const proto = Object.create({ inherited: chain(10) }) as object;
    expect(tooDeepAt(proto, 2)).toBeUndefined();
  });

  test('a value far deeper than the stack allows is checked without overflowing', () => {
    const deep = JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`) as unknown;
    expect(tooDeepAt(deep)).toBe('0.0.0.0…');
  });
});
