import fc from 'fast-check';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { Agent, request } from 'undici';

/**
 * Property-based "hostile input" runs (issue 13): thousands of generated requests against the real
 * server, each of which must get an answer below 500 without a stack trace in it.
 *
 * Reproduce a failure with the seed it prints: `FUZZ_SEED=<seed> npm test -- test/fuzz/...`;
 * `FUZZ_RUNS` changes the number of runs of every property (e.g. 20000 for a long night run).
 */
export function fuzzOptions(defaultRuns: number): { seed: number; numRuns: number } {
  const seedEnv = process.env['FUZZ_SEED'];
  const runsEnv = process.env['FUZZ_RUNS'];
  const seed = seedEnv !== undefined && seedEnv !== '' ? Number(seedEnv) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const numRuns = runsEnv !== undefined && runsEnv !== '' ? Number(runsEnv) : defaultRuns;
  return { seed, numRuns };
}

/** Runs an async property; on failure the error names the seed (and fast-check's counterexample). */
export async function checkProperty<T>(name: string, arb: fc.Arbitrary<T>, run: (value: T) => Promise<void>, defaultRuns: number): Promise<void> {
  const { seed, numRuns } = fuzzOptions(defaultRuns);
  try {
    await fc.assert(fc.asyncProperty(arb, run), { seed, numRuns, endOnFailure: false });
  } catch (err) {
    throw new Error(`fuzz "${name}" failed; reproduce with FUZZ_SEED=${seed}\n${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Traces of an internal error that must never reach a client. */
const STACK_TRACE = /\n\s+at |\bat [\w.<>]+ \(|\.(?:ts|js|mjs|cjs):\d+:\d+|node:internal|Maximum call stack|TypeError|ReferenceError|SyntaxError: /;

export interface Answer {
  status: number;
  text: string;
}

/** The invariant of every answer: not a 5xx, and no stack trace or internal error text in the body. */
export function expectSane(answer: Answer, input: unknown): void {
  if (answer.status >= 500 || STACK_TRACE.test(answer.text)) {
    const shown = JSON.stringify(input, (_k, v: unknown) => (typeof v === 'string' && v.length > 300 ? `${v.slice(0, 300)}…(${v.length})` : v))?.slice(0, 2000);
    throw new Error(`answer ${answer.status}: ${answer.text.slice(0, 500)}\ninput: ${shown}`);
  }
}

/** A keep-alive client that sends exactly what it is given (undici: no redirects, no retries). */
export function rawClient(origin: string) {
  const agent = new Agent({ connections: 8, pipelining: 1 });
  return {
    async send(o: { method: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<Answer> {
      const res = await request(`${origin}${o.path}`, {
        method: o.method,
        headers: o.headers ?? {},
        ...(o.body === undefined ? {} : { body: o.body }),
        dispatcher: agent,
      });
      return { status: res.statusCode, text: await res.body.text() };
    },
    close: () => agent.close(),
  };
}

export interface ContentCoding {
  encoding: string;
  /** The body really is compressed as `encoding` says (when it names gzip, deflate or br); else sent as it is. */
  compressed: boolean;
}

/** A content-encoding header: the ones body parsers read, in any case, and ones nothing reads. */
export const contentCoding: fc.Arbitrary<ContentCoding> = fc.record({
  encoding: fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'GZIP', 'x-gzip', 'compress', 'zstd', 'gzip, deflate', '', 'x-nonsense'),
  compressed: fc.boolean(),
});

/** The header and the body for `coding` (none when `coding` is undefined). */
export function coded(coding: ContentCoding | undefined, body: string | Buffer): { headers: Record<string, string>; body: string | Buffer } {
  if (coding === undefined) return { headers: {}, body };
  const compress = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync }[coding.encoding.toLowerCase()];
  return { headers: { 'content-encoding': coding.encoding }, body: coding.compressed && compress !== undefined ? compress(body) : body };
}

/** `levels` nested containers as JSON text (built as text: JSON.stringify would overflow on it). */
export function nestedText(levels: number, kind: 'object' | 'array' | 'mixed' = 'object', leaf = '0'): string {
  let open = '';
  let close = '';
  for (let i = 0; i < levels; i++) {
    const obj = kind === 'object' || (kind === 'mixed' && i % 2 === 0);
    open += obj ? '{"k":' : '[';
    close = (obj ? '}' : ']') + close;
  }
  return `${open}${leaf}${close}`;
}

/** A JSON value as text: ordinary values, deep nesting, huge strings, odd unicode. */
export const hostileJsonText: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null') },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom<'object' | 'array' | 'mixed'>('object', 'array', 'mixed')).map(([n, k]) => nestedText(n, k)) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 300_000 }).map((n) => JSON.stringify('x'.repeat(n))) },
  { weight: 2, arbitrary: oddString().map((s) => JSON.stringify(s)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('1e999', '-0', '123456789012345678901234567890', '"\\ud800"', '"\\u0000"', 'true', '[]', '{}', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"x":1}}}'),
  },
);

/** Strings that have broken services before: lone surrogates, NUL, RTL marks, emoji, very long. */
export function oddString(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => `a${String.fromCharCode(c)}b`),
    fc.constantFrom('\u0000', '\u202e', '\ufeff', '\u{1F600}'.repeat(300), '%00', '../..', '<script>', '${x}', '\r\nX-Injected: 1', ''),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
  );
}

/** Every path to a value in `value` (objects and arrays), for replacing one field at a time. */
export function pathsOf(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (typeof value !== 'object' || value === null) return [prefix];
  const entries: Array<[string | number, unknown]> = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
}

/**
 * `base` as JSON text with the value at `path` replaced by `replacement` (JSON text) or, with
 * `undefined`, removed. Done on text so the replacement can be deeper than JSON.stringify allows.
 */
export function replaceAt(base: unknown, path: ReadonlyArray<string | number>, replacement: string | undefined): string {
  const MARK = '"__fuzz_mark_7f3a__"';
  if (path.length === 0) return replacement ?? '{}';
  const copy: unknown = structuredClone(base);
  let node: unknown = copy;
  for (const key of path.slice(0, -1)) node = (node as Record<string | number, unknown>)[key];
  const last = path[path.length - 1] as string | number;
  const parent = node as Record<string | number, unknown>;
  if (replacement === undefined) {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
    return JSON.stringify(copy);
  }
  parent[last] = JSON.parse(MARK);
  return JSON.stringify(copy).replace(MARK, () => replacement);
}
