// The action target of the benchmark (also the `direct` configuration), and the token endpoint of
// `refresh-storm`. It records what it receives so the bench can check correctness: every call's
// body must equal the signed CEK body byte for byte, and the bearer tokens it saw are counted.
//   env: PORT, EXPECT_BODY_FILE (the exact bytes every forward must carry)
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const expected = process.env.EXPECT_BODY_FILE ? readFileSync(process.env.EXPECT_BODY_FILE) : undefined;
const REPLY = JSON.stringify({ speech: 'You have 120 points.' });
const REPLY_LENGTH = Buffer.byteLength(REPLY);
let stats = fresh();
let refreshes = 0;

function fresh() {
  return { calls: 0, badBody: 0, tokens: {} };
}

function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.url === '/__stats') return json(res, 200, { ...stats, refreshes });
    if (req.url === '/__reset') {
      stats = fresh();
      refreshes = 0;
      return json(res, 200, {});
    }
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    if (req.url === '/token') {
      // RFC 6749 section 6 refresh, slow enough (50 ms) that concurrent requests really overlap it.
      const form = new URLSearchParams(body.toString('utf8'));
      if (form.get('grant_type') !== 'refresh_token') return json(res, 400, { error: 'unsupported_grant_type' });
      refreshes++;
      const n = refreshes;
      setTimeout(() => json(res, 200, { access_token: `refreshed-access-token-${n}`, token_type: 'Bearer', expires_in: 3600 }), 50);
      return;
    }
    stats.calls++;
    if (expected !== undefined && !body.equals(expected)) stats.badBody++;
    const auth = req.headers.authorization ?? '(none)';
    if (stats.tokens[auth] !== undefined || Object.keys(stats.tokens).length < 50) stats.tokens[auth] = (stats.tokens[auth] ?? 0) + 1;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': REPLY_LENGTH }).end(REPLY);
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
