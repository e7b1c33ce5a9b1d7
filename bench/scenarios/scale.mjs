// `scale` (DESIGN.md section 11): linked users on one extension in levels up to a million, per store.
// At each level: the token lookup (store read + AES-GCM open, timed in a separate process against
// the service's store, right after it opens the store and again once it has read every user), a voice request for a random linked user through the service, one page of
// the users list through the admin API from a random point, all one at a time; the store's bytes
// per user and the service's RSS after a forced GC. The targets compare the last level with 10k.
import { Agent, request } from 'undici';
import { ADMIN_TOKEN, BODY, chatbotSignatureOf, EXT_ID, SPEECH, USER_ID } from '../lib/fixtures.mjs';
import { collectGarbage } from '../lib/gc.mjs';
import { rssAnonBytes, rssBytes, sleep } from '../lib/proc.mjs';
import { log, print, problems } from '../lib/report.mjs';
import { runSeeder, setUpService } from '../lib/services.mjs';
import { fmt, percentile } from '../lib/stats.mjs';

const LOOKUPS = 5_000;
const VOICE_WARMUP = 300;
const VOICE = 1_000;
const PAGES = 200;
/** A store whose pages are slow (Redis lists by SCAN) stops after this long, with at least MIN_PAGES. */
const PAGES_BUDGET_MS = 30_000;
const MIN_PAGES = 5;
const PAGE_LIMIT = 100;

/** Targets (issue 15): the last level against 10k. */
const TARGETS = { lookup: 1.5, voice: 1.25, pageMs: 10, rss: 1.1 };

const userId = (n) => `scale-user-${n}`;
/** The min–max of some rounds' figures. */
const spread = (xs) => `${fmt(Math.min(...xs), 1)}–${fmt(Math.max(...xs), 1)}`;
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

/** 1,000 voice requests for random linked users (after 300 untimed ones): their latencies, and how many failed. */
async function voiceRequests(svc, secret, level, dispatcher) {
  const times = [];
  let failed = 0;
  for (let i = -VOICE_WARMUP; i < VOICE; i++) {
    const body = Buffer.from(BODY.toString().replaceAll(USER_ID, userId(Math.floor(Math.random() * level))));
    const headers = { 'content-type': 'application/json', 'x-ncp-chatbot_signature': chatbotSignatureOf(secret, body) };
    const t0 = process.hrtime.bigint();
    const res = await request(`${svc.url}/cek/${EXT_ID}`, { dispatcher, method: 'POST', headers, body });
    const text = await res.body.text();
    if (res.statusCode !== 200 || !text.includes(SPEECH)) failed++;
    else if (i >= 0) times.push(ms(t0));
  }
  return { times: times.sort((a, b) => a - b), failed };
}

/** Pages of the users list (`?limit=100&after=<random linked user>`), one at a time: latencies, failures. */
async function listPages(svc, level, dispatcher) {
  const times = [];
  let failed = 0;
  const started = Date.now();
  for (let i = -3; i < PAGES; i++) {
    if (i >= MIN_PAGES && Date.now() - started > PAGES_BUDGET_MS) break;
    const after = userId(Math.floor(Math.random() * level));
    const t0 = process.hrtime.bigint();
    const res = await request(`${svc.url}/api/v1/extensions/${EXT_ID}/links?limit=${PAGE_LIMIT}&after=${encodeURIComponent(after)}`, {
      dispatcher,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const text = await res.body.text();
    const took = ms(t0);
    const page = res.statusCode === 200 ? JSON.parse(text) : undefined;
    // A full page, or the last one; every user after the random point.
    if (page === undefined || !(page.links.length === PAGE_LIMIT || page.next === null) || page.links.some((l) => l.userId <= after)) failed++;
    else if (i >= 0) times.push(took);
  }
  return { times: times.sort((a, b) => a - b), failed };
}

export async function scale(ctx) {
  const levels = ctx.P.scaleLevels;
  const ref = levels.includes(10_000) ? 10_000 : levels[0];
  const top = levels[levels.length - 1];
  print('## scale');
  print();
  print(
    `Linked users on one extension in levels (${levels.map((n) => fmt(n)).join(', ')}), one store per kind, seeded the way account linking stores them (\`TokenVault.link\` from \`dist/\`, sealed with the service's key, the first answer's flag already cleared; concurrent batches of 1,000). At each level, one at a time: ${fmt(LOOKUPS)} token lookups for random linked users (store read + AES-GCM open, the work a voice request does for its token, in a separate process), *cold* right after that process opens the store (after 200 untimed ones) and *steady* after it has read every linked user once and a full GC, the median of 5 rounds' p50 and p99 (a service that has answered each of its users since it started: a store that maps its file, SQLite, maps a page on its first read, so at a million users a short cold run times mostly first reads; the targets compare steady lookups); ${fmt(VOICE)} voice requests for random linked users through the service (after ${VOICE_WARMUP} untimed ones); up to ${PAGES} pages of the users list through the admin API (\`GET /api/v1/extensions/:id/links?limit=${PAGE_LIMIT}&after=<random linked user>\`; a store whose pages take long stops after ${PAGES_BUDGET_MS / 1000} s with at least ${MIN_PAGES}). Store bytes per user: Redis \`MEMORY USAGE\` of 500 random token records, the SQLite file, PostgreSQL \`pg_total_relation_size\` of the schema's tables, divided by the users. Service RSS after a full GC (forced through the inspector): its anonymous part (heap, native allocations), which the target compares, and in brackets all of it (with the pages of files it maps: the SQLite store maps its database file, so those grow with the file and are the kernel's page cache).`,
  );
  print();
  print(
    '| store | linked users | seeding users/s | token lookup p50 µs: cold / steady | p99 µs: cold / steady (range of the rounds) | voice request p50 ms | p99 ms | users page p50 ms | p99 ms (pages) | store bytes per user | service RSS MiB: anonymous (all) |',
  );
  print('|---|---|---|---|---|---|---|---|---|---|---|');
  const summaries = [];
  for (const base of ctx.stores) {
    const store = ctx.storeFor(base.kind, 'scale');
    const { svc, secret } = await setUpService(ctx, store, { name: `ours-scale-${store.kind}`, nodeArgs: ['--inspect=127.0.0.1:0'] });
    const dispatcher = new Agent({ connections: 1 });
    const rows = new Map();
    let from = 0;
    try {
      for (const level of levels) {
        log(`scale: ${store.kind}: seeding users ${fmt(from)}..${fmt(level - 1)}`);
        const lastLine = (out) => JSON.parse(out.trim().split('\n').pop());
        const seeded = lastLine(runSeeder(ctx, 'seed-users.mjs', store, { FROM: String(from), TO: String(level) }));
        const lookup = lastLine(runSeeder(ctx, 'time-lookups.mjs', store, { TO: String(level), LOOKUPS: String(LOOKUPS) }));
        log(`scale: ${store.kind}: ${fmt(level)} users (${fmt(seeded.seeded / seeded.seedSeconds)} users/s); voice requests and pages`);
        const voice = await voiceRequests(svc, secret, level, dispatcher);
        const pages = await listPages(svc, level, dispatcher);
        if (voice.failed > 0) problems.push(`scale ${store.kind} at ${fmt(level)} users: ${voice.failed} of ${fmt(VOICE + VOICE_WARMUP)} voice requests failed`);
        if (pages.failed > 0) problems.push(`scale ${store.kind} at ${fmt(level)} users: ${pages.failed} users-list pages failed or were wrong`);
        await collectGarbage(svc);
        await sleep(300);
        const rssTotal = rssBytes(svc.pid);
        const rss = rssAnonBytes(svc.pid);
        const row = {
          lookupP50: lookup.steady.p50,
          lookupP99: lookup.steady.p99,
          coldP50: lookup.cold.p50,
          voiceP50: percentile(voice.times, 50),
          pageP50: percentile(pages.times, 50),
          rss,
        };
        rows.set(level, row);
        const bytes = `${fmt(seeded.bytes.perUser)} B${seeded.bytes.total === undefined ? '' : ` (${fmt(seeded.bytes.total / 2 ** 20, 1)} MiB)`}`;
        print(
          `| ${store.kind} | ${fmt(level)} | ${fmt(seeded.seeded / seeded.seedSeconds)} | ${fmt(lookup.cold.p50, 1)} / ${fmt(row.lookupP50, 1)} | ${fmt(lookup.cold.p99, 1)} / ${fmt(row.lookupP99, 1)} (${spread(lookup.steady.rounds.map((r) => r.p99))}) | ${fmt(row.voiceP50, 3)} | ${fmt(percentile(voice.times, 99), 3)} | ${fmt(row.pageP50, 2)} | ${fmt(percentile(pages.times, 99), 2)} (${pages.times.length}) | ${bytes} | ${fmt(rss / 2 ** 20, 1)} (${fmt(rssTotal / 2 ** 20, 1)}) |`,
        );
        from = level;
      }
    } finally {
      await dispatcher.close();
      await svc.stop();
    }
    summaries.push({ kind: store.kind, at: rows.get(ref), last: rows.get(top) });
  }
  print();
  const x = (a, b) => a / b;
  print(
    `Targets, ${fmt(top)} against ${fmt(ref)} users: steady token lookup p50 and p99 within ${TARGETS.lookup}×, voice request p50 flat (within ${TARGETS.voice}×), a users page p50 ≤ ${TARGETS.pageMs} ms at ${fmt(top)}, service RSS (anonymous) flat (within ${TARGETS.rss}×).`,
  );
  print();
  print(`| store | lookup p50 × (cold) | lookup p99 × | voice p50 × | users page p50 at ${fmt(top)} | RSS × | targets met |`);
  print('|---|---|---|---|---|---|---|');
  for (const { kind, at, last } of summaries) {
    const r = { p50: x(last.lookupP50, at.lookupP50), p99: x(last.lookupP99, at.lookupP99), voice: x(last.voiceP50, at.voiceP50), rss: x(last.rss, at.rss) };
    const check = (ok, label, shown) => (ok ? `${label} ✓` : `${label} ✗ (${shown})`);
    const met = [
      check(r.p50 <= TARGETS.lookup, `lookup p50 ≤${TARGETS.lookup}×`, fmt(r.p50, 2)),
      check(r.p99 <= TARGETS.lookup, `lookup p99 ≤${TARGETS.lookup}×`, fmt(r.p99, 2)),
      check(r.voice <= TARGETS.voice, `voice p50 ≤${TARGETS.voice}×`, fmt(r.voice, 2)),
      check(last.pageP50 <= TARGETS.pageMs, `page p50 ≤${TARGETS.pageMs} ms`, `${fmt(last.pageP50, 1)} ms`),
      check(r.rss <= TARGETS.rss, `RSS ≤${TARGETS.rss}×`, fmt(r.rss, 2)),
    ].join(', ');
    print(`| ${kind} | ${fmt(r.p50, 2)} (${fmt(x(last.coldP50, at.coldP50), 2)}) | ${fmt(r.p99, 2)} | ${fmt(r.voice, 2)} | ${fmt(last.pageP50, 2)} ms | ${fmt(r.rss, 2)} | ${met} |`);
  }
  print();
}
