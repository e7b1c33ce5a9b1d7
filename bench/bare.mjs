// `bare`: the least a forwarder can be: node:http in, undici (keep-alive pool) out, the target's
// reply passed back as it is. No checks, no store, no mapping.
//   env: PORT, TARGET_URL, TOKEN
import { createServer } from 'node:http';
import { Agent, request } from 'undici';

const agent = new Agent({ connections: 128, keepAliveTimeout: 4_000 });
const target = process.env.TARGET_URL;
const authorization = `Bearer ${process.env.TOKEN}`;

createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    try {
      const r = await request(target, { dispatcher: agent, method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: Buffer.concat(chunks) });
      const body = Buffer.from(await r.body.arrayBuffer());
      res.writeHead(r.statusCode, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
    } catch {
      res.writeHead(502).end();
    }
  });
}).listen(Number(process.env.PORT), '127.0.0.1');

// A clean exit on SIGTERM (lets node --cpu-prof write its profile).
process.on('SIGTERM', () => process.exit(0));
