import { keyOf, prefixOf } from '../store/keys.js';
import type { Store } from '../store/store.js';

/**
 * The link index: per extension, an ordered set (`Store.setAdd`) of the user ids that have a token
 * record, so a page of an extension's links is a page of the set plus that page's records, at 1,000
 * users as at 1,000,000 (a prefix scan of `tok:` costs every key of the store on Redis).
 *
 * TokenVault keeps it in step: every token record has its entry (added before the record is
 * written, removed after it is deleted), so a crash leaves at worst an entry without a record,
 * which listing skips and drops. Backups do not hold sets: `cek-gateway restore` builds the index
 * again, and deployments older than the index build it once at start (`buildLinkIndex`).
 */

/** The set of an extension's linked user ids. */
export const linkIndexKey = (extensionId: string): string => keyOf('linkIndex', extensionId);

/** Present once every token record written before the index existed has its entry. */
export const LINK_INDEX_BUILT = keyOf('dataMigration', 'link-index', 1);

/** Adds at once while building: enough to keep a remote store busy, few enough to stay gentle. */
const ADD_BATCH = 100;

/** The extension and user of a token record's key (`tok:<extensionId>:<userId>`; extension ids have no ":", user ids may). */
export function linkOfTokenKey(key: string): { extensionId: string; userId: string } | undefined {
  const prefix = prefixOf('linkedToken');
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length);
  const colon = rest.indexOf(':');
  return colon <= 0 ? undefined : { extensionId: rest.slice(0, colon), userId: rest.slice(colon + 1) };
}

export async function linkIndexBuilt(store: Store): Promise<boolean> {
  return (await store.get(LINK_INDEX_BUILT)) !== null;
}

/**
 * Gives every token record its index entry, a page of records at a time, then sets the
 * `LINK_INDEX_BUILT` mark. Idempotent (adds are), so several instances starting at once may all run
 * it, and a run cut short is simply run again. A link removed meanwhile may keep an entry without a
 * record: listing drops it. `stopped` is asked between pages (the service is stopping); a stopped
 * run sets no mark.
 */
export async function buildLinkIndex(store: Store, o: { stopped?: () => boolean } = {}): Promise<{ links: number; complete: boolean }> {
  const prefix = prefixOf('linkedToken');
  let links = 0;
  // One pass over the keys (a Redis SCAN may give a key twice: adding is idempotent, the count is near).
  for await (const keys of store.scanKeys(prefix)) {
    if (o.stopped?.() === true) return { links, complete: false };
    const found = keys.flatMap((key) => linkOfTokenKey(key) ?? []);
    for (let i = 0; i < found.length; i += ADD_BATCH) {
      await Promise.all(found.slice(i, i + ADD_BATCH).map((l) => store.setAdd(linkIndexKey(l.extensionId), l.userId)));
    }
    links += found.length;
  }
  // A constant value: two stores with a complete index hold the same mark (backups compare equal).
  await store.set(LINK_INDEX_BUILT, '1');
  return { links, complete: true };
}
