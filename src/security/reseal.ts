import type { Store } from '../store/store.js';
import { Keyring, SealError } from './keyring.js';

export type JsonPath = ReadonlyArray<string | number>;

/** A family of stored JSON records that hold sealed strings, and the context each was sealed with. */
export interface SealedFamily {
  /** For messages: what the records are ("extensions", "linked users' tokens"). */
  readonly name: string;
  /** The key prefix of the family; every value under it is JSON. */
  readonly prefix: string;
  /**
   * The sealing context (AAD) of the sealed string at `path` in the record at `key`, or undefined
   * for a field the family does not seal (a message that merely looks sealed is left alone).
   */
  contextOf(key: string, path: JsonPath): string | undefined;
}

/** Sealed strings per key id, in the records of `families`: what the store needs of the keyring. */
export async function sealedKeyUse(store: Store, families: readonly SealedFamily[]): Promise<Map<string, number>> {
  const use = new Map<string, number>();
  for (const family of families) {
    for (const { key, value } of await store.list(family.prefix)) {
      // Read at every start: skip what cannot hold a sealed value, and walk without copying.
      if (!value.includes('"v1.')) continue;
      visitSealed(parse(value), [], (path, sealed) => {
        const kid = Keyring.keyIdOfSealed(sealed);
        if (kid !== undefined && family.contextOf(key, path) !== undefined) use.set(kid, (use.get(kid) ?? 0) + 1);
      });
    }
  }
  return use;
}

/** Records are sealed under keys the keyring does not hold: starting would serve 401s and broken links. */
export class MissingKeysError extends Error {
  readonly keyIds: readonly string[];
  constructor(keyIds: readonly string[], message: string) {
    super(message);
    this.name = 'MissingKeysError';
    this.keyIds = keyIds;
  }
}

/**
 * Start-up check: every key id the store's sealed records name must be configured. Otherwise the
 * service would start "healthy" while every Chatbot Secret and linked token sealed under the
 * missing key fails to open. `hint` adds to the message where a missing key may be found.
 */
export async function checkSealedKeys(store: Store, keyring: Keyring, families: readonly SealedFamily[], hint: (missing: readonly string[]) => string = () => ''): Promise<void> {
  const use = await sealedKeyUse(store, families);
  const missing = [...use.keys()].filter((kid) => !keyring.has(kid)).sort();
  if (missing.length === 0) return;
  const extra = hint(missing);
  const counts = missing.map((kid) => `${kid} (${use.get(kid) ?? 0} sealed values)`).join(', ');
  throw new MissingKeysError(
    missing,
    `The store holds records sealed under key id(s) ${counts}, which neither ENCRYPTION_KEY nor ENCRYPTION_KEYS_PREVIOUS holds ` +
      `(configured: ${keyring.keyIds.join(', ')}). Started like this, Chatbot Secrets and linked tokens sealed under them could not be opened. ` +
      `Fix: add the old key(s) to ENCRYPTION_KEYS_PREVIOUS (comma-separated), start, run \`npm run reseal\` (\`node dist/reseal.js\`), then remove them.${extra === '' ? '' : ` ${extra}`}`,
  );
}

export interface ResealReport {
  /** Records read. */
  records: number;
  /** Records rewritten under the current key. */
  resealed: number;
  /** Sealed values that could not be opened (their key is not configured, or they fail authentication). */
  unreadable: Array<{ key: string; keyId: string; reason: string }>;
  /** Sealed values still under another key after the passes (written meanwhile by an older writer): run again. */
  remaining: number;
}

const CAS_TRIES = 5;
const PASSES = 3;

/**
 * Re-seals every sealed value of `families` under the keyring's current key, so the old keys can be
 * dropped. Safe while the service runs: each record is rewritten with compare-and-set on the value
 * that was read, and re-read when a request changed it meanwhile. Resumable: values already under
 * the current key are left alone, so a second run only does what the first did not. It makes up to
 * three passes, until no value under another key is left.
 */
export async function resealAll(store: Store, keyring: Keyring, families: readonly SealedFamily[]): Promise<ResealReport> {
  const report: ResealReport = { records: 0, resealed: 0, unreadable: [], remaining: 0 };
  for (let pass = 0; pass < PASSES; pass++) {
    report.unreadable = [];
    for (const family of families) {
      for (const { key, value } of await store.list(family.prefix)) {
        if (pass === 0) report.records++;
        const outcome = await resealRecord(store, keyring, family, key, value);
        if (outcome.rewritten) report.resealed++;
        report.unreadable.push(...outcome.unreadable);
      }
    }
    // Values under another key that could be opened were written by a request that raced this pass.
    let stale = 0;
    for (const [kid, count] of await sealedKeyUse(store, families)) if (kid !== keyring.currentKeyId) stale += count;
    report.remaining = Math.max(0, stale - report.unreadable.length);
    if (report.remaining === 0) break;
  }
  return report;
}

async function resealRecord(store: Store, keyring: Keyring, family: SealedFamily, key: string, listed: string): Promise<{ rewritten: boolean; unreadable: ResealReport['unreadable'] }> {
  let raw: string | null = listed;
  for (let attempt = 0; attempt < CAS_TRIES && raw !== null; attempt++) {
    const unreadable: ResealReport['unreadable'] = [];
    let changed = false;
    const next = mapSealed(parse(raw), (path, sealed) => {
      const context = family.contextOf(key, path);
      const kid = Keyring.keyIdOfSealed(sealed) ?? '';
      if (context === undefined || kid === keyring.currentKeyId) return sealed;
      try {
        const resealed = keyring.seal(keyring.openBuffer(sealed, context), context);
        changed = true;
        return resealed;
      } catch (err) {
        if (!(err instanceof SealError)) throw err;
        unreadable.push({ key, keyId: kid, reason: err.message });
        return sealed;
      }
    });
    if (!changed) return { rewritten: false, unreadable };
    if (await store.compareAndSet(key, raw, JSON.stringify(next))) return { rewritten: true, unreadable };
    // Changed by a request since it was read: start again from what is there now (gone: nothing to do).
    raw = await store.get(key);
  }
  return { rewritten: false, unreadable: [] };
}

function parse(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/** A copy of a JSON value with every string that looks sealed replaced by `fn(path, sealed)`; key order kept. */
function mapSealed(value: unknown, fn: (path: JsonPath, sealed: string) => string, path: Array<string | number> = []): unknown {
  if (typeof value === 'string') return Keyring.looksSealed(value) ? fn(path, value) : value;
  if (Array.isArray(value)) return value.map((v: unknown, i) => mapSealed(v, fn, [...path, i]));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]: [string, unknown]) => [k, mapSealed(v, fn, [...path, k])]));
  }
  return value;
}

/** Calls `fn` for every string that looks sealed; `path` is only valid during the call. */
function visitSealed(value: unknown, path: Array<string | number>, fn: (path: JsonPath, sealed: string) => void): void {
  if (typeof value === 'string') {
    if (Keyring.looksSealed(value)) fn(path, value);
  } else if (Array.isArray(value)) {
    value.forEach((v: unknown, i) => {
      path.push(i);
      visitSealed(v, path, fn);
      path.pop();
    });
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      path.push(k);
      visitSealed(v, path, fn);
      path.pop();
    }
  }
}
