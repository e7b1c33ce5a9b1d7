import { randomBytes } from 'node:crypto';
import { KEEPALIVE_SCHEDULE_BUILT } from '../../src/linking/keepAliveSchedule.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import request from 'supertest';
import { TokenVault } from '../../src/linking/vault.js';
import { BACKUP_FORMAT, BACKUP_VERSION } from '../../src/cli/backupFormat.js';
import { SQLITE_FILE_NAME } from '../../src/store/createStore.js';
import { createRedisStore } from '../../src/store/redisStore.js';
import { createSqliteStore } from '../../src/store/sqliteStore.js';
import type { Store } from '../../src/store/store.js';
import { adminApi } from '../helpers/adminApi.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { intentRequest, makeClovaSigner } from '../helpers/cek.js';
import { runCli } from '../helpers/cli.js';
import { deleteRedisKeys, openTestStore, postgresAvailable, postgresUrl, redisUrl, uniquePrefix, type TestStore } from '../helpers/stores.js';
import { LoginLimiter } from '../../src/admin/adminAuth.js';
import { Keyring } from '../../src/security/keyring.js';
import type { PostgresStore } from '../../src/store/postgresStore.js';
import { closedPort, reply, startTarget, type TestTarget } from '../helpers/targets.js';

/**
 * `cek-gateway backup / restore / unlock-admin` on real stores: an instance on SQLite with a linked
 * user is backed up while it serves, restored into Redis, and a second instance on that Redis (same
 * ENCRYPTION_KEY) forwards the user's next voice request with the user's token, without a relink.
 */
jest.setTimeout(120_000);

const ID = 'com.example.points';

describe('cek-gateway backup and restore, SQLite → Redis', () => {
  const signer = makeClovaSigner();
  const encryptionKey = randomBytes(32).toString('base64');
  const prefix = uniquePrefix('cli-restore');
  let dir: string;
  let sqlite: Store;
  let redis: Store;
  let source: TestApp;
  let restored: TestApp | undefined;
  let target: TestTarget;
  const backupFile = () => path.join(dir, 'cek.backup');
  /**
   * The keys in the backup file (the instance keeps writing, e.g. usage counters, after the snapshot),
   * less the keep-alive schedule's mark: restore leaves it out, for the service's next start to build
   * the schedule (backups hold no sets) and set it again.
   */
  const backedUpKeys = (): string[] =>
    fs
      .readFileSync(backupFile(), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { key?: string })
      .flatMap((l) => (l.key === undefined || l.key === KEEPALIVE_SCHEDULE_BUILT ? [] : [l.key]));

  const voice = (app: TestApp, userId: string) => {
    const raw = JSON.stringify(intentRequest({ extensionId: ID, intent: 'CheckPoints', userId }));
    return request(app.url).post(`/cek/${ID}`).set('content-type', 'application/json').set('SignatureCEK', signer.sign(raw)).send(raw);
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cek-cli-backup-'));
    // The instance's store where the CLI finds it: DATA_DIR/cek-gateway.sqlite.
    sqlite = createSqliteStore({ file: path.join(dir, SQLITE_FILE_NAME) });
    source = await startTestApp({ sharedStore: { store: sqlite }, signer, encryptionKey });
    target = await startTarget({ '/points': reply.json({ speech: 'You have 120 points.' }) });
    const api = adminApi(source);
    expect((await api.post('/extensions', { extensionId: ID, language: 'en' })).status).toBe(201);
    expect(
      (
        await api.put(`/extensions/${ID}/account-linking`, {
          enabled: true,
          loginUrl: `${target.url}/authorize`,
          tokenUrl: `${target.url}/token`,
          clientId: 'client-1',
          clientSecret: 'client-secret-1',
        })
      ).status,
    ).toBe(200);
    expect(
      (await api.put(`/extensions/${ID}/actions/CheckPoints`, { trigger: { type: 'IntentRequest', intent: 'CheckPoints' }, url: `${target.url}/points`, useOAuthToken: true, tokenSource: 'linked' }))
        .status,
    ).toBe(201);
    // Linked the way account linking stores a link: a sealed token record in the vault.
    const vault = new TokenVault(sqlite, source.services.keyring);
    for (const user of ['user-1', 'user-2']) {
      await vault.link(ID, user, { accessToken: `access-${user}`, refreshToken: `refresh-${user}` }, { expiresAt: Date.now() + 3_600_000, scope: 'points', tokenType: 'Bearer' });
    }
    await sqlite.set('cli-test:short-lived', 'v', 600_000);
  });
  afterAll(async () => {
    await restored?.close();
    await source?.close();
    await target?.close();
    await deleteRedisKeys(prefix);
    await redis?.close();
    await sqlite?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the linked users of an instance on SQLite answer on Redis after backup and restore, without a relink', async () => {
    const before = await voice(source, 'user-1');
    expect(before.status).toBe(200);
    expect(target.callsTo('/points').at(-1)?.headers['authorization']).toBe('Bearer access-user-1');

    // While the source instance keeps serving.
    const backup = await runCli(['backup', backupFile()], { DATA_DIR: dir });
    expect(backup.stdout).toBe('');
    expect(backup.code).toBe(0);
    expect(backup.stderr).toMatch(/^Backed up \d+ keys from SQLite .+ to .+cek\.backup\. Keep it as safe as the store/);
    expect(fs.statSync(backupFile()).mode & 0o777).toBe(0o600);
    const text = fs.readFileSync(backupFile(), 'utf8');
    // Sealed, not in clear.
    expect(text).not.toContain('access-user-1');
    expect(text).not.toContain('client-secret-1');
    expect(text).toContain(`"key":"tok:${ID}:user-1"`);

    const restore = await runCli(['restore', backupFile()], { REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix });
    expect(restore.stdout).toBe('');
    expect(restore.code).toBe(0);
    expect(restore.stderr).toMatch(/^Restored \d+ keys into redis \(key prefix "test:cli-restore:/);

    redis = createRedisStore({ url: redisUrl(), prefix });
    expect(backedUpKeys()).toEqual(expect.arrayContaining(['cli-test:short-lived', `ext:${ID}`, `tok:${ID}:user-1`, `tok:${ID}:user-2`]));
    expect((await redis.list('')).map((e) => e.key)).toEqual(backedUpKeys());
    expect(await redis.get(`tok:${ID}:user-1`)).toBe(await sqlite.get(`tok:${ID}:user-1`));
    const ttl = await redis.ttl('cli-test:short-lived');
    expect(ttl).not.toBeNull();
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(600_000);
    expect(await redis.ttl(`tok:${ID}:user-2`)).toBeNull();

    restored = await startTestApp({ sharedStore: { store: redis }, signer, encryptionKey });
    const after = await voice(restored, 'user-1');
    expect(after.status).toBe(200);
    expect(after.body.response.outputSpeech.values.value).toBe('You have 120 points.');
    expect(target.callsTo('/points').at(-1)?.headers['authorization']).toBe('Bearer access-user-1');
    // user-2 had not spoken since linking: the record came over whole, "linked" announcement still pending.
    const second = await voice(restored, 'user-2');
    expect(second.body.response.outputSpeech.values.value).toBe('Your account is now linked. You are all set. You have 120 points.');
    expect(target.callsTo('/points').at(-1)?.headers['authorization']).toBe('Bearer access-user-2');
  });

  test('restore refuses a store that has keys (unless --overwrite) and a damaged backup, changing nothing', async () => {
    const again = await runCli(['restore', backupFile()], { REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix });
    expect(again).toEqual({ code: 1, stdout: '', stderr: `cek-gateway: redis (key prefix "${prefix}") is not empty: restore into an empty store, or pass --overwrite\n` });
    expect((await runCli(['restore', '--overwrite', backupFile()], { REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix })).code).toBe(0);

    const lines = fs.readFileSync(backupFile(), 'utf8').trimEnd().split('\n');
    const cut = path.join(dir, 'cut.backup');
    fs.writeFileSync(cut, `${lines.slice(0, -1).join('\n')}\n`);
    const emptyDir = path.join(dir, 'empty');
    const refused = await runCli(['restore', cut], { DATA_DIR: emptyDir });
    expect(refused).toEqual({ code: 1, stdout: '', stderr: `cek-gateway: ${cut} is cut off (no end line after line ${lines.length - 1}): the backup did not finish\n` });
    expect(fs.existsSync(path.join(emptyDir, SQLITE_FILE_NAME))).toBe(false);

    const garbled = path.join(dir, 'garbled.backup');
    fs.writeFileSync(garbled, [lines[0], '{"key":"a"}', lines.at(-1)].join('\n'));
    const bad = await runCli(['restore', garbled], { DATA_DIR: emptyDir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      `cek-gateway: ${garbled} line 2: not a key line (value: Invalid input: expected string, received undefined; expiresAt: Invalid input: expected number, received undefined)\n`,
    );

    // A backup of the Redis store (key by key) holds the same keys and values.
    const fromRedis = path.join(dir, 'redis.backup');
    const redisBackup = await runCli(['backup', fromRedis], { REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix });
    expect(redisBackup.code).toBe(0);
    const entries = (f: string) =>
      fs
        .readFileSync(f, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { key?: string; value?: string })
        .flatMap((l) => (l.key === undefined ? [] : [[l.key, l.value]]));
    // Less the usage and linking funnel counters: both instances served voice requests, and flush them on their own clock.
    const durable = (f: string) => entries(f).filter(([key]) => !String(key).startsWith('gw:usage:') && !String(key).startsWith('linking:funnel:') && key !== KEEPALIVE_SCHEDULE_BUILT);
    expect(durable(fromRedis)).toEqual(durable(backupFile()));

    // Back into SQLite from the backup: the round trip works in the other direction too.
    const back = await runCli(['restore', backupFile()], { DATA_DIR: emptyDir });
    expect(back.code).toBe(0);
    const copy = createSqliteStore({ file: path.join(emptyDir, SQLITE_FILE_NAME) });
    try {
      expect((await copy.list('')).map((e) => e.key)).toEqual(backedUpKeys());
    } finally {
      await copy.close();
    }
  });

  test('backup of a store that does not exist, or into a folder that does not exist, fails with one line', async () => {
    const missing = path.join(dir, 'no-such-data');
    expect(await runCli(['backup', path.join(dir, 'x.backup')], { DATA_DIR: missing })).toEqual({
      code: 1,
      stdout: '',
      stderr: `cek-gateway: there is no store at ${path.join(missing, SQLITE_FILE_NAME)} (DATA_DIR=${missing}; set REDIS_URL for Redis, DATABASE_URL for PostgreSQL)\n`,
    });
    const nowhere = path.join(dir, 'no-such-folder', 'x.backup');
    expect(await runCli(['backup', nowhere], { DATA_DIR: dir })).toEqual({ code: 1, stdout: '', stderr: `cek-gateway: cannot write ${nowhere}: ENOENT\n` });
    const badRedis = await runCli(['backup', path.join(dir, 'y.backup')], { REDIS_URL: 'http://not-redis' });
    expect(badRedis).toEqual({ code: 1, stdout: '', stderr: 'cek-gateway: invalid store settings: REDIS_URL: must start with redis://, rediss://, redis+cluster:// or rediss+cluster://\n' });

    // A store that cannot be reached is named without its password, by every store command.
    const port = await closedPort();
    const redisDown = await runCli(['backup', path.join(dir, 'z.backup')], { REDIS_URL: `redis://admin:hunter2@127.0.0.1:${port}` });
    expect(redisDown.code).toBe(1);
    expect(redisDown.stderr).toMatch(new RegExp(`^cek-gateway: Cannot reach Redis at redis://admin:\\*\\*\\*@127\\.0\\.0\\.1:${port}: .+\\n$`));
    const postgresDown = await runCli(['restore', backupFile()], { DATABASE_URL: `postgres://app:hunter2@127.0.0.1:${port}/cek?password=hunter2` });
    expect(postgresDown).toEqual({
      code: 1,
      stdout: '',
      stderr: `cek-gateway: Cannot open the PostgreSQL store at postgres://app:***@127.0.0.1:${port}/cek?password=*** (schema cek_gateway): connect ECONNREFUSED 127.0.0.1:${port}\n`,
    });
    const resealDown = await runCli(['reseal'], { NODE_ENV: 'test', ADMIN_TOKEN, ENCRYPTION_KEY: encryptionKey, REDIS_URL: `redis://:hunter2@127.0.0.1:${port}` });
    expect(resealDown.code).toBe(1);
    expect(resealDown.stderr).toMatch(/^cek-gateway: Cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:/);
    for (const r of [redisDown, postgresDown, resealDown]) expect(r.stderr + r.stdout).not.toContain('hunter2');
  });
});

describe('cek-gateway restore --overwrite', () => {
  test('replaces the keys the backup has, deletes none, and counts the keys of the store it kept', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cek-cli-overwrite-'));
    const sqliteFile = path.join(dir, SQLITE_FILE_NAME);
    const file = path.join(dir, 'small.backup');
    const lines = [
      { format: BACKUP_FORMAT, version: BACKUP_VERSION, createdAt: new Date().toISOString(), store: 'sqlite' },
      { key: 'cli-test:a', value: 'a from the backup', expiresAt: null },
      { key: 'cli-test:c', value: 'c from the backup', expiresAt: null },
      // Expired since the backup: left out, so the store's own d is kept (and counted).
      { key: 'cli-test:d', value: 'd from the backup', expiresAt: Date.now() - 60_000 },
      { end: true, entries: 3 },
    ];
    fs.writeFileSync(file, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    const before = createSqliteStore({ file: sqliteFile });
    await before.set('cli-test:a', 'a of the store');
    await before.set('cli-test:b', 'b of the store');
    await before.set('cli-test:d', 'd of the store');
    await before.close();
    try {
      const refused = await runCli(['restore', file], { DATA_DIR: dir });
      expect(refused.stderr).toBe(`cek-gateway: SQLite ${sqliteFile} is not empty: restore into an empty store, or pass --overwrite\n`);

      const restored = await runCli(['restore', '--overwrite', file], { DATA_DIR: dir });
      expect(restored).toEqual({
        code: 0,
        stdout: '',
        stderr:
          `Restored 2 keys into SQLite ${sqliteFile} (1 had expired since the backup and was left out); the link index of 0 linked users was built.\n` +
          `2 keys of SQLite ${sqliteFile} were not restored from the backup and are kept as they were (--overwrite deletes nothing).\n`,
      });
      const after = createSqliteStore({ file: sqliteFile });
      try {
        expect(await after.list('cli-test:')).toEqual([
          { key: 'cli-test:a', value: 'a from the backup' },
          { key: 'cli-test:b', value: 'b of the store' },
          { key: 'cli-test:c', value: 'c from the backup' },
          { key: 'cli-test:d', value: 'd of the store' },
        ]);
      } finally {
        await after.close();
      }

      // The help says what --overwrite does and does not do.
      const help = await runCli(['restore', '--help']);
      expect(help.stdout).toContain('keys the file does not have are kept as they are, not deleted (restore counts them)');
      expect(help.stdout).toContain('--overwrite deletes nothing');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cek-gateway unlock-admin', () => {
  let dir: string;
  let app: TestApp;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cek-cli-unlock-'));
    app = await startTestApp({ sharedStore: { store: createSqliteStore({ file: path.join(dir, SQLITE_FILE_NAME) }) } });
  });
  afterAll(async () => {
    await app?.close();
    await app?.store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('clears the lockout after too many wrong admin tokens, for one address or all', async () => {
    const get = (token: string) => request(app.url).get('/api/v1/extensions').set('authorization', `Bearer ${token}`);
    for (let i = 0; i < 10; i += 1) expect((await get('wrong-token-0123456789')).status).toBe(401);
    expect((await get(ADMIN_TOKEN)).status).toBe(429);

    const other = await runCli(['unlock-admin', '--address', '10.1.2.3'], { DATA_DIR: dir });
    expect(other.code).toBe(0);
    expect(other.stderr).toBe(`Cleared the admin sign-in failures of 0 addresses in SQLite ${path.join(dir, SQLITE_FILE_NAME)}.\n`);
    expect((await get(ADMIN_TOKEN)).status).toBe(429);

    const mine = await runCli(['unlock-admin', '--address', '127.0.0.1'], { DATA_DIR: dir });
    expect(mine.stderr).toBe(`Cleared the admin sign-in failures of 1 address in SQLite ${path.join(dir, SQLITE_FILE_NAME)}.\n`);
    expect((await get(ADMIN_TOKEN)).status).toBe(200);

    for (let i = 0; i < 10; i += 1) await get('wrong-token-0123456789');
    expect((await get(ADMIN_TOKEN)).status).toBe(429);
    expect((await runCli(['unlock-admin'], { DATA_DIR: dir })).code).toBe(0);
    expect((await get(ADMIN_TOKEN)).status).toBe(200);

    expect(await runCli(['unlock-admin', '--address', 'not-an-ip'], { DATA_DIR: dir })).toEqual({
      code: 2,
      stdout: '',
      stderr: 'cek-gateway: unlock-admin: --address must be an IP address, got "not-an-ip"\n',
    });
  });
});

(postgresAvailable ? describe : describe.skip)('the store commands on PostgreSQL (DATABASE_URL, as the service opens it)', () => {
  let t: TestStore;
  let schema: string;
  beforeAll(async () => {
    t = await openTestStore('postgres', 'cli-pg');
    schema = (t.store as PostgresStore).schema;
  });
  afterAll(async () => {
    await t.cleanup();
  });

  test('unlock-admin clears the lockout in PostgreSQL, backup reads PostgreSQL, not a SQLite file in DATA_DIR', async () => {
    const env = { DATABASE_URL: postgresUrl(), DATABASE_SCHEMA: schema, DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'cek-cli-pg-')) };
    const limiter = new LoginLimiter(t.store);
    for (let i = 0; i < 10; i += 1) {
      const tried = await limiter.attempt('127.0.0.1');
      if (tried.allowed) await tried.attempt.failed();
    }
    expect(await limiter.lockedFor('127.0.0.1')).toBeGreaterThan(0);
    const unlocked = await runCli(['unlock-admin'], env);
    expect(unlocked.stderr).toBe(`Cleared the admin sign-in failures of 1 address in PostgreSQL (schema "${schema}").\n`);
    expect(await limiter.lockedFor('127.0.0.1')).toBe(0);

    await t.store.set('ext:com.example.pg', '{"extensionId":"com.example.pg"}');
    const file = path.join(env.DATA_DIR, 'pg.backup');
    const backup = await runCli(['backup', file], env);
    expect(backup.code).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toContain('ext:com.example.pg');
    expect(fs.existsSync(path.join(env.DATA_DIR, SQLITE_FILE_NAME))).toBe(false);
    fs.rmSync(env.DATA_DIR, { recursive: true, force: true });
  });
});

describe('cek-gateway reseal', () => {
  test('rewrites every sealed record under ENCRYPTION_KEY; a second run has nothing left to do', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cek-cli-reseal-'));
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const store = createSqliteStore({ file: path.join(dir, SQLITE_FILE_NAME) });
    const app = await startTestApp({ sharedStore: { store }, encryptionKey: oldKey.toString('base64') });
    try {
      expect((await adminApi(app).post('/extensions', { extensionId: 'com.example.reseal', language: 'en' })).status).toBe(201);
    } finally {
      await app.close();
      await store.close();
    }
    const env = { DATA_DIR: dir, NODE_ENV: 'test', ADMIN_TOKEN: ADMIN_TOKEN, ENCRYPTION_KEY: newKey.toString('base64'), ENCRYPTION_KEYS_PREVIOUS: oldKey.toString('base64') };
    const first = await runCli(['reseal'], env);
    const newId = new Keyring([newKey]).currentKeyId;
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`1 rewritten under key ${newId}`);
    const second = await runCli(['reseal'], env);
    expect(second.stdout).toContain('0 rewritten');
    const check = createSqliteStore({ file: path.join(dir, SQLITE_FILE_NAME) });
    try {
      expect((await check.get('ext:com.example.reseal')) ?? '').toContain(`v1.${newId}.`);
    } finally {
      await check.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
