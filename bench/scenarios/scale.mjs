// `scale` (DESIGN.md section 11): linked users in steps up to 100k on one extension; at each step the
// token lookup (store read + AES-GCM open, timed in a separate process against the service's store)
// and a voice request for a random linked user through the service, one at a time; and the store's
// size per user.
import path from 'node:path';
import { Agent, request } from 'undici';
import { BODY, chatbotSignatureOf, EXT_ID, SPEECH, USER_ID } from '../lib/fixtures.mjs';
import { log, print, problems } from '../lib/report.mjs';
import { runSeeder, setUpService } from '../lib/services.mjs';
import { fmt, percentile } from '../lib/stats.mjs';

export async function scale(ctx) {
  print('## scale');
  print();
  const levels = ctx.QUICK ? [1_000, 10_000, 30_000] : [1_000, 10_000, 100_000];
  print(
    `Linked users on one extension in steps (${levels.map((n) => fmt(n)).join(', ')}), seeded the way account linking stores them (\`TokenVault.link\` from \`dist/\`, sealed with the service's key). At each step: 5,000 token lookups for random linked users (store read + AES-GCM open, one at a time, in a separate process: the work a voice request does for its token), and 1,000 voice requests for random linked users through the service at one connection (Chatbot Secret signed, forwarded to the target with that user's token).`,
  );
  print();
  print('| store | linked users | token lookup p50 µs | p99 µs | voice request p50 ms | p99 ms | store size per user |');
  print('|---|---|---|---|---|---|---|');
  for (const base of ctx.stores) {
    const store = base.kind === 'redis' ? { kind: 'redis', servicePrefix: `${ctx.PREFIX}scale:` } : { kind: 'sqlite', dataDir: path.join(ctx.tmp, 'data-scale') };
    const { svc, secret } = await setUpService(ctx, store);
    const dispatcher = new Agent({ connections: 1 });
    const rows = [];
    let from = 0;
    let previousFile = 0;
    try {
      for (const level of levels) {
        log(`scale: ${store.kind}: seeding users ${from}..${level - 1}`);
        const stdout = runSeeder(ctx, 'seed-users.mjs', store, { FROM: String(from), TO: String(level), LOOKUPS: '5000' });
        const seeded = JSON.parse(stdout.trim().split('\n').pop());
        const times = [];
        let failed = 0;
        // 300 untimed requests first (the service's JIT and pools warm up), then 1,000 timed ones.
        for (let i = -300; i < 1_000; i++) {
          const user = `scale-user-${Math.floor(Math.random() * level)}`;
          const body = Buffer.from(BODY.toString().replaceAll(USER_ID, user));
          const headers = { 'content-type': 'application/json', 'x-ncp-chatbot_signature': chatbotSignatureOf(secret, body) };
          const t0 = process.hrtime.bigint();
          const res = await request(`${svc.url}/cek/${EXT_ID}`, { dispatcher, method: 'POST', headers, body });
          const text = await res.body.text();
          if (res.statusCode !== 200 || !text.includes(SPEECH)) failed++;
          else if (i >= 0) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        if (failed > 0) problems.push(`scale ${store.kind} at ${level} users: ${failed} of 1,000 requests failed`);
        times.sort((a, b) => a - b);
        const perUser =
          seeded.bytes.perUser !== undefined
            ? `${fmt(seeded.bytes.perUser)} B (Redis MEMORY USAGE)`
            : `${fmt(seeded.bytes.file / level)} B (file ${fmt(seeded.bytes.file / 2 ** 20, 1)} MiB${previousFile > 0 ? `; ${fmt((seeded.bytes.file - previousFile) / (level - from))} B per added user` : ''})`;
        if (seeded.bytes.file !== undefined) previousFile = seeded.bytes.file;
        rows.push({ level, lookupP50: seeded.lookup.p50 });
        print(`| ${store.kind} | ${fmt(level)} | ${fmt(seeded.lookup.p50, 1)} | ${fmt(seeded.lookup.p99, 1)} | ${fmt(percentile(times, 50), 3)} | ${fmt(percentile(times, 99), 3)} | ${perUser} |`);
        from = level;
      }
    } finally {
      await dispatcher.close();
      await svc.stop();
    }
    const growth = rows[rows.length - 1].lookupP50 / rows[0].lookupP50;
    if (growth > 2) problems.push(`scale ${store.kind}: token lookup p50 grew ${growth.toFixed(2)}× from ${fmt(levels[0])} to ${fmt(levels[levels.length - 1])} users`);
  }
  print();
}
