import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { z } from 'zod';
import { endLine, entryLine, headerLine, type BackupEntry } from './backupFormat.js';
import { STORE_ENV_HELP } from './backupCommand.js';
import type { Command } from './command.js';
import { CliError } from './errors.js';
import { describeStore, openConfiguredStore } from './storeAccess.js';
import type { Store } from '../store/store.js';
import { messageOf } from '../http/errorInfo.js';
import { KEEPALIVE_SCHEDULE_BUILT } from '../linking/keepAliveSchedule.js';
import { buildLinkIndex, LINK_INDEX_BUILT } from '../linking/linkIndex.js';

/** Writes at once per batch: enough to keep a remote store busy, few enough to stay gentle. */
const BATCH = 100;

/** Each line of the file, checked; `onEntry` sees the entries in order. Throws with the line number of the first mistake. */
async function readBackup(file: string, onEntry: (e: BackupEntry) => Promise<void>): Promise<number> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  let entries = 0;
  let ended = false;
  const parse = <T>(schema: z.ZodType<T>, text: string, what: string): T => {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new CliError(`${file} line ${n}: not JSON (is this a cek-gateway backup?)`);
    }
    const r = schema.safeParse(raw);
    if (!r.success) throw new CliError(`${file} line ${n}: not ${what} (${r.error.issues.map((i) => `${i.path.join('.') || 'line'}: ${i.message}`).join('; ')})`);
    return r.data;
  };
  for await (const text of lines) {
    n += 1;
    if (ended) {
      if (text.trim() === '') continue;
      throw new CliError(`${file} line ${n}: data after the end line`);
    }
    if (n === 1) {
      parse(headerLine, text, 'a cek-gateway backup header');
      continue;
    }
    if (text.startsWith('{"end"')) {
      const end = parse(endLine, text, 'the end line');
      if (end.entries !== entries) throw new CliError(`${file}: the end line counts ${end.entries} keys, the file has ${entries}`);
      ended = true;
      continue;
    }
    await onEntry(parse(entryLine, text, 'a key line'));
    entries += 1;
  }
  if (n === 0) throw new CliError(`${file} is empty`);
  if (!ended) throw new CliError(`${file} is cut off (no end line after line ${n}): the backup did not finish`);
  return entries;
}

/** How many distinct keys of `store` are not in `restored` (a Redis SCAN may give a key twice). */
async function countOthers(store: Store, restored: ReadonlySet<string>): Promise<number> {
  const others = new Set<string>();
  for await (const keys of store.scanKeys('')) for (const key of keys) if (!restored.has(key)) others.add(key);
  return others.size;
}

/** `cek-gateway restore FILE`: writes a backup into the configured store. */
export const restoreCommand: Command = {
  name: 'restore',
  summary: 'Write every key of a backup FILE into the configured store (any kind: SQLite to Redis and back), keeping the remaining TTLs.',
  args: ['FILE'],
  options: {
    overwrite: {
      type: 'boolean',
      help: "write into a store that already has keys: each key of the file replaces the store's key of that name; keys the file does not have are kept as they are, not deleted (restore counts them)",
    },
  },
  details: `${STORE_ENV_HELP}\n--overwrite deletes nothing: for the store to hold exactly the backup, restore into an empty store (a new DATA_DIR, REDIS_KEY_PREFIX or DATABASE_SCHEMA).\nThe index of linked users is not in a backup: restore builds it from the restored links (and the service, at its next start, the keep-alive schedule).\nRestore with the service stopped (it caches extensions), and start it with the same ENCRYPTION_KEY (or that key in ENCRYPTION_KEYS_PREVIOUS).\nExample: REDIS_URL=redis://localhost:6379 cek-gateway restore cek.backup`,
  async run(ctx) {
    const file = ctx.positionals[0] ?? '';
    if (!existsSync(file)) throw new CliError(`cannot read ${file}: no such file`);
    // The whole file is checked before the first write: a bad backup changes nothing.
    await readBackup(file, async () => undefined);
    const { store, settings } = await openConfiguredStore(ctx.env, { mustExist: false });
    const label = describeStore(store, settings);
    try {
      const existing = await store.listPage('', { limit: 1 });
      const hadKeys = existing.items.length > 0;
      if (hadKeys && ctx.values['overwrite'] !== true) {
        throw new CliError(`${label} is not empty: restore into an empty store, or pass --overwrite`);
      }
      // Backups hold no sets, so the link index is built again from the restored token records;
      // until that is done the store must not say its index is complete.
      await store.delete(LINK_INDEX_BUILT);
      // Nor does it hold the keep-alive schedule: the service builds it from the links at its next start.
      await store.delete(KEEPALIVE_SCHEDULE_BUILT);
      let written = 0;
      let expired = 0;
      let batch: Array<Promise<void>> = [];
      // Into a store that had keys: which ones the restore wrote, to count the others at the end
      // (one entry per key of the backup; an empty store has nothing to count and keeps none).
      const restored = hadKeys ? new Set<string>() : undefined;
      await readBackup(file, async (e) => {
        if (e.key === LINK_INDEX_BUILT || e.key === KEEPALIVE_SCHEDULE_BUILT) return;
        const ttl = e.expiresAt === null ? undefined : e.expiresAt - Date.now();
        if (ttl !== undefined && ttl <= 0) {
          expired += 1;
          return;
        }
        batch.push(store.set(e.key, e.value, ttl));
        restored?.add(e.key);
        written += 1;
        if (batch.length >= BATCH) {
          await Promise.all(batch);
          batch = [];
        }
      });
      await Promise.all(batch);
      // Before the link index is built: its mark is restore's own key, not one the store had.
      const kept = restored === undefined ? 0 : await countOthers(store, restored);
      const { links } = await buildLinkIndex(store);
      ctx.err(
        `Restored ${written} key${written === 1 ? '' : 's'} into ${label}${expired > 0 ? ` (${expired} had expired since the backup and ${expired === 1 ? 'was' : 'were'} left out)` : ''}; the link index of ${links} linked user${links === 1 ? '' : 's'} was built.`,
      );
      if (restored !== undefined) {
        ctx.err(
          `${kept} key${kept === 1 ? '' : 's'} of ${label} ${kept === 1 ? 'was' : 'were'} not restored from the backup and ${kept === 1 ? 'is' : 'are'} kept as ${kept === 1 ? 'it was' : 'they were'} (--overwrite deletes nothing).`,
        );
      }
    } catch (err) {
      throw err instanceof CliError ? err : new CliError(`restore into ${label} failed: ${messageOf(err)}`);
    } finally {
      await store.close();
    }
    return 0;
  },
};
