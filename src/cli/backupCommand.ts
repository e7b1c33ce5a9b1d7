import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { BACKUP_FORMAT, BACKUP_VERSION, type BackupEntry } from './backupFormat.js';
import type { Command } from './command.js';
import { CliError } from './errors.js';
import { openSnapshot } from './storeAccess.js';
import { MAX_PAGE } from '../store/store.js';
import { messageOf, reasonOf } from '../http/errorInfo.js';

export const STORE_ENV_HELP =
  'Environment: the store is configured like the service: DATA_DIR (SQLite, default ./data), REDIS_URL and REDIS_KEY_PREFIX, DATABASE_URL and DATABASE_SCHEMA (both: PostgreSQL with Redis).';

/** `cek-gateway backup FILE`: every key of the configured store, with its TTL, into FILE. */
export const backupCommand: Command = {
  name: 'backup',
  summary: 'Copy every key of the configured store (sealed tokens included, with their TTLs) into FILE. The file is as secret as the store.',
  args: ['FILE'],
  options: {},
  details: `${STORE_ENV_HELP}\nSafe while the service runs: SQLite is read from a consistent snapshot; Redis key by key (README "CLI").\nExample: DATA_DIR=/var/lib/cek-gateway cek-gateway backup cek.backup`,
  async run(ctx) {
    const file = ctx.positionals[0] ?? '';
    const source = await openSnapshot(ctx.env);
    const partial = `${file}.partial`;
    let fd: number;
    try {
      // 0600: the file holds everything the store holds.
      fd = openSync(partial, 'w', 0o600);
    } catch (err) {
      await source.close();
      throw new CliError(`cannot write ${file}: ${reasonOf(err)}`);
    }
    let count = 0;
    try {
      const line = (o: object) => writeSync(fd, `${JSON.stringify(o)}\n`);
      line({ format: BACKUP_FORMAT, version: BACKUP_VERSION, createdAt: new Date().toISOString(), store: source.store.kind });
      let after: string | undefined;
      do {
        const page = await source.store.listPage('', { after, limit: MAX_PAGE });
        const entries = await Promise.all(
          page.items.map(async ({ key, value }): Promise<BackupEntry | undefined> => {
            const ttl = await source.store.ttl(key);
            // null is "no TTL" or "gone since the listing": only a key that is still there is kept without one.
            if (ttl === null && (await source.store.get(key)) === null) return undefined;
            return { key, value, expiresAt: ttl === null ? null : Date.now() + ttl };
          }),
        );
        for (const e of entries) {
          if (e === undefined) continue;
          line(e);
          count += 1;
        }
        after = page.next;
      } while (after !== undefined);
      line({ end: true, entries: count });
      fsyncSync(fd);
      closeSync(fd);
      renameSync(partial, file);
    } catch (err) {
      try {
        closeSync(fd);
      } catch {
        // Already closed.
      }
      rmSync(partial, { force: true });
      throw err instanceof CliError ? err : new CliError(`backup failed: ${messageOf(err)}`);
    } finally {
      await source.close();
    }
    ctx.err(`Backed up ${count} key${count === 1 ? '' : 's'} from ${source.label} to ${file}. Keep it as safe as the store: it holds every sealed token.`);
    return 0;
  },
};
