/**
 * How deep JSON may nest in anything we parse and then echo, store or pass on (CEK and messenger
 * bodies, admin API bodies, action targets' replies). `JSON.stringify` recurses once per level and
 * overflows the stack at about 5,000 levels (fewer inside a deep call stack), and a 16 KB body holds
 * 8,000: without a bound one request turns into a 500. Real CEK traffic nests 6 levels; session
 * attributes and admin settings a few more. 64 leaves ample room and is far from the overflow.
 */
export const MAX_JSON_DEPTH = 64;

/** Path segments named in an error; the rest of a deep path is only repetition. */
const SHOWN_SEGMENTS = 4;
const SHOWN_KEY_CHARS = 64;

/**
 * The path (`session.sessionAttributes.a.a…`) of the first value nested deeper than `maxDepth`
 * (the body itself is level 1), or `undefined` when the value stays within it. Recursion stops at
 * `maxDepth`, so the check itself cannot overflow.
 */
export function tooDeepAt(value: unknown, maxDepth = MAX_JSON_DEPTH): string | undefined {
  const path = deepPath(value, maxDepth);
  if (path === undefined) return undefined;
  const shown = path.slice(0, SHOWN_SEGMENTS).map((k) => (k.length > SHOWN_KEY_CHARS ? `${k.slice(0, SHOWN_KEY_CHARS)}…` : k));
  return shown.length === 0 ? '(body)' : `${shown.join('.')}${path.length > SHOWN_SEGMENTS ? '…' : ''}`;
}

/** The message for a value that nests too deep at `path`. */
export function tooDeepMessage(path: string): string {
  return `"${path}" nests deeper than ${MAX_JSON_DEPTH} levels.`;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function deepPath(value: unknown, levelsLeft: number): string[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (levelsLeft === 0) return [];
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const inner = deepPath(value[i], levelsLeft - 1);
      if (inner !== undefined) return [String(i), ...inner];
    }
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const inner = deepPath(value[key], levelsLeft - 1);
    if (inner !== undefined) return [key, ...inner];
  }
  return undefined;
}
