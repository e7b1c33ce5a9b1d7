// `floor`: the least our work can cost (DESIGN.md section 11): node:http, SignatureCEK (RSA-SHA256)
// and Chatbot Secret (HMAC-SHA256) verified over the raw bytes, one store GET of the user's token
// record, AES-256-GCM open, the forward with undici, the reply mapped to a CEK response.
//   env: PORT, TARGET_URL, CEK_PUBLIC_KEY_FILE, CHATBOT_SECRET, SEAL_KEY (base64), STORE (sqlite|redis|postgres),
//        SQLITE_FILE | REDIS_URL + KEY_PREFIX | DATABASE_URL + DATABASE_SCHEMA
import { createDecipheriv, createHmac, createPublicKey, timingSafeEqual, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Agent, request } from 'undici';

const env = process.env;
const publicKey = createPublicKey(readFileSync(env.CEK_PUBLIC_KEY_FILE));
const sealKey = Buffer.from(env.SEAL_KEY, 'base64');
const agent = new Agent({ connections: 128, keepAliveTimeout: 4_000 });
let get;
if (env.STORE === 'redis') {
  const { Redis } = await import('ioredis');
  const redis = new Redis(env.REDIS_URL);
  get = (key) => redis.get(`${env.KEY_PREFIX}${key}`);
} else if (env.STORE === 'postgres') {
  // One SELECT of the record by key from the kv table of our PostgreSQL store, as a named (prepared
  // once per connection) statement, over a pool as large as our store's (10).
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 10, application_name: `cekbench ${env.DATABASE_SCHEMA}` });
  const text = `SELECT value FROM "${env.DATABASE_SCHEMA}".kv WHERE key = $1 AND (expires_at IS NULL OR expires_at > now())`;
  get = async (key) => (await pool.query({ name: 'get', text, values: [key] })).rows[0]?.value ?? null;
} else {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(env.SQLITE_FILE);
  db.pragma('journal_mode = WAL');
  const select = db.prepare('SELECT value FROM kv WHERE key = ?').pluck();
  get = async (key) => select.get(key) ?? null;
}

function open(sealed, aad) {
  const blob = Buffer.from(sealed, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', sealKey, blob.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(blob.subarray(blob.length - 16));
  return Buffer.concat([decipher.update(blob.subarray(12, blob.length - 16)), decipher.final()]).toString('utf8');
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    try {
      const raw = Buffer.concat(chunks);
      const sig = req.headers['signaturecek'];
      if (typeof sig !== 'string' || !verify('sha256', raw, publicKey, Buffer.from(sig, 'base64'))) return send(res, 401, { error: 'invalid_signature' });
      const mac = createHmac('sha256', env.CHATBOT_SECRET).update(raw).digest();
      const given = Buffer.from(String(req.headers['x-ncp-chatbot_signature'] ?? ''), 'base64');
      if (given.length !== mac.length || !timingSafeEqual(given, mac)) return send(res, 401, { error: 'invalid_signature' });
      const cek = JSON.parse(raw.toString('utf8'));
      const userId = cek.session?.user?.userId ?? cek.context.System.user.userId;
      const record = JSON.parse(await get(`tok:${userId}`));
      const token = JSON.parse(open(record.sealed, `token:${userId}`)).accessToken;
      const r = await request(env.TARGET_URL, {
        dispatcher: agent,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: raw,
        signal: AbortSignal.timeout(3_000),
      });
      const reply = await r.body.json();
      send(res, 200, {
        version: cek.version,
        sessionAttributes: {},
        response: { outputSpeech: { type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'en', value: reply.speech } }, card: {}, directives: [], shouldEndSession: true },
      });
    } catch {
      send(res, 500, { error: 'internal_error' });
    }
  });
}).listen(Number(env.PORT), '127.0.0.1');

// A clean exit on SIGTERM (lets node --cpu-prof write its profile).
process.on('SIGTERM', () => process.exit(0));
