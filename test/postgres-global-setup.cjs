'use strict';
/**
 * Jest globalSetup part: makes a PostgreSQL database of its own available to this test run through
 * CEK_TEST_DATABASE_URL. The server is TEST_DATABASE_URL's, else DATABASE_URL's, else the local
 * one (role postgres, trust auth). The database is named cek_test_<pid>_<random>, created here and dropped by the
 * teardown; nothing else on the server is touched. Each test store then uses a schema of its own.
 *
 * When the server cannot be reached: with REQUIRE_POSTGRES=1 fail; otherwise set
 * POSTGRES_TESTS=skip and the PostgreSQL suites are skipped. Environment variables set here reach
 * the test workers.
 */
const crypto = require('node:crypto');
const { Client } = require('pg');

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const CONNECT_TIMEOUT_MS = 3_000;

function redact(url) {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '<invalid PostgreSQL URL>';
  }
}

async function connect(url) {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  client.on('error', () => {
    // Reported by the query that fails.
  });
  await client.connect();
  return client;
}

async function setup() {
  if (process.env.CEK_TEST_DATABASE_URL || process.env.POSTGRES_TESTS === 'skip') return;
  const serverUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || DEFAULT_URL;
  let admin;
  try {
    admin = await connect(serverUrl);
  } catch (err) {
    const why = `PostgreSQL at ${redact(serverUrl)} cannot be reached (${err.message})`;
    if (process.env.REQUIRE_POSTGRES === '1') throw new Error(`REQUIRE_POSTGRES=1 but ${why}`);
    console.log(`${why}: skipping PostgreSQL-backed suites (set TEST_DATABASE_URL or start PostgreSQL)`);
    process.env.POSTGRES_TESTS = 'skip';
    return;
  }
  const database = `cek_test_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  try {
    await admin.query(`CREATE DATABASE "${database}"`);
  } catch (err) {
    // No right to create databases: use the given one; the test stores still get schemas of their own.
    if (err.code !== '42501') throw err;
    process.env.CEK_TEST_DATABASE_URL = serverUrl;
    return;
  } finally {
    await admin.end().catch(() => undefined);
  }
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  process.env.CEK_TEST_DATABASE_URL = url.toString();
  globalThis.__CEK_TEST_PG__ = { serverUrl, database };
}

async function teardown() {
  const created = globalThis.__CEK_TEST_PG__;
  if (!created) return;
  globalThis.__CEK_TEST_PG__ = undefined;
  const admin = await connect(created.serverUrl);
  try {
    // FORCE: a store a failed test left open must not keep the run's database alive.
    await admin.query(`DROP DATABASE IF EXISTS "${created.database}" WITH (FORCE)`);
  } finally {
    await admin.end().catch(() => undefined);
  }
}

module.exports = { setup, teardown };
