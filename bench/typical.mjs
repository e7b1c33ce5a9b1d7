// `typical`: the same work as `floor`, written the way such backends usually are: Express 5,
// express.json (keeping the raw bytes for the signature checks), axios with a keep-alive agent.
//   env: as floor.mjs
import { createDecipheriv, createHmac, createPublicKey, timingSafeEqual, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import axios from 'axios';
import express from 'express';

const env = process.env;
const publicKey = createPublicKey(readFileSync(env.CEK_PUBLIC_KEY_FILE));
const sealKey = Buffer.from(env.SEAL_KEY, 'base64');
const client = axios.create({ httpAgent: new http.Agent({ keepAlive: true, maxSockets: 128 }), timeout: 3_000 });
let get;
if (env.STORE === 'redis') {
  const { Redis } = await import('ioredis');
  const redis = new Redis(env.REDIS_URL);
  get = (key) => redis.get(`${env.KEY_PREFIX}${key}`);
} else if (env.STORE === 'postgres') {
  // node-postgres the usual way: a pool and pool.query(text, values).
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 10, application_name: `cekbench ${env.DATABASE_SCHEMA}` });
  get = async (key) => (await pool.query(`SELECT value FROM "${env.DATABASE_SCHEMA}".kv WHERE key = $1 AND (expires_at IS NULL OR expires_at > now())`, [key])).rows[0]?.value ?? null;
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

const app = express();
app.use(
  express.json({
    limit: '256kb',
    type: () => true,
    verify: (req, _res, buf) => {
      req.rawBody = buf;
    },
  }),
);
app.post('/cek/:extensionId', async (req, res) => {
  try {
    const raw = req.rawBody;
    const sig = req.get('signaturecek');
    if (!sig || !verify('sha256', raw, publicKey, Buffer.from(sig, 'base64'))) return res.status(401).json({ error: 'invalid_signature' });
    const mac = createHmac('sha256', env.CHATBOT_SECRET).update(raw).digest();
    const given = Buffer.from(req.get('x-ncp-chatbot_signature') ?? '', 'base64');
    if (given.length !== mac.length || !timingSafeEqual(given, mac)) return res.status(401).json({ error: 'invalid_signature' });
    const cek = req.body;
    const userId = cek.session?.user?.userId ?? cek.context.System.user.userId;
    const record = JSON.parse(await get(`tok:${userId}`));
    const token = JSON.parse(open(record.sealed, `token:${userId}`)).accessToken;
    const { data } = await client.post(env.TARGET_URL, raw, { headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });
    res.json({
      version: cek.version,
      sessionAttributes: {},
      response: { outputSpeech: { type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'en', value: data.speech } }, card: {}, directives: [], shouldEndSession: true },
    });
  } catch {
    res.status(500).json({ error: 'internal_error' });
  }
});
app.listen(Number(env.PORT), '127.0.0.1');

// A clean exit on SIGTERM (lets node --cpu-prof write its profile).
process.on('SIGTERM', () => process.exit(0));
