#!/usr/bin/env node
/**
 * `npm run demo`: account linking end to end on one machine, nothing to sign up for.
 *
 * Starts three things on loopback ports:
 *   - cek-gateway (development mode, a throwaway SQLite store in a temp folder, its own admin token);
 *   - a local OAuth 2.0 / OpenID Connect provider (oidc-provider, a devDependency) whose sign-in page
 *     accepts any name;
 *   - a sample action target: it asks the provider who the bearer token belongs to and answers
 *     `{"speech": "Hello <name>. You have 1,200 points."}`.
 * Then it registers the extension `com.example.demo` through the admin API, with account linking
 * (provider found by discovery) and an action method `CheckPoints` pointing at the target.
 *
 * Press Enter to send CLOVA's request for "CheckPoints" (signed with the Chatbot Secret): the first
 * answer asks the user to link, with a code; link in the browser, press Enter again, and the target
 * answers with the user's token. Ctrl-C stops everything and removes the temp folder.
 *
 * PORT (default 3000) is the gateway's port; the provider and the target take the next two.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Provider from 'oidc-provider';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const gatewayPort = Number(process.env.PORT ?? 3000);
const providerPort = gatewayPort + 1;
const targetPort = gatewayPort + 2;
const host = '127.0.0.1';
const gatewayUrl = `http://${host}:${gatewayPort}`;
const issuer = `http://${host}:${providerPort}`;
const targetUrl = `http://${host}:${targetPort}/points`;
const extensionId = 'com.example.demo';
const clientId = 'cek-gateway-demo';
const clientSecret = randomBytes(24).toString('base64url');
const adminToken = randomBytes(24).toString('hex');
const userId = 'demo-speaker';
const dataDir = mkdtempSync(join(tmpdir(), 'cek-gateway-demo-'));

const say = (line = '') => process.stdout.write(`${line}\n`);

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`port ${port}: ${err.message} (set PORT to move the demo to other ports)`)));
    server.listen(port, host, resolve);
  });
}

/** The local provider: every name signs in (devInteractions), PKCE required, refresh tokens issued. */
async function startProvider() {
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [`${gatewayUrl}/oauth/callback`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    scopes: ['openid', 'offline_access'],
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true }, revocation: { enabled: true } },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    cookies: { keys: [randomBytes(16).toString('hex')] },
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  });
  provider.on('server_error', (_ctx, err) => say(`[provider] error: ${err.message}`));
  const server = createServer(provider.callback());
  await listen(server, providerPort);
  return server;
}

/** The sample target: the user behind the token, from the provider's userinfo endpoint. */
async function startTarget() {
  const server = createServer(async (req, res) => {
    // The CEK request body is not needed here: this target answers from the token alone.
    req.resume();
    await new Promise((r) => req.once('end', r));
    const authorization = req.headers.authorization ?? '';
    const me = authorization.startsWith('Bearer ') ? await fetch(`${issuer}/me`, { headers: { authorization } }) : undefined;
    if (me === undefined || !me.ok) {
      say(`[target] ${req.method} ${req.url}: no valid token (${me === undefined ? 'none sent' : me.status}) → 401`);
      res.writeHead(401).end();
      return;
    }
    const { sub } = await me.json();
    say(`[target] ${req.method} ${req.url}: token of "${sub}" → 200`);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ speech: `Hello ${sub}. You have 1,200 points.` }));
  });
  await listen(server, targetPort);
  return server;
}

function startGateway() {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    NODE_ENV: 'development',
    HOST: host,
    PORT: String(gatewayPort),
    PUBLIC_URL: gatewayUrl,
    DATA_DIR: dataDir,
    ADMIN_TOKEN: adminToken,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'error',
  };
  // cwd: the temp folder, so a .env of the checkout does not change the demo.
  return spawn(process.execPath, [join(root, 'dist', 'main.js')], { cwd: dataDir, env, stdio: ['ignore', 'inherit', 'inherit'] });
}

async function admin(method, path, body) {
  const res = await fetch(`${gatewayUrl}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function waitForGateway(child) {
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) throw new Error('cek-gateway exited; see its message above');
    try {
      if ((await fetch(`${gatewayUrl}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('cek-gateway did not start within 15 s');
}

/** What CLOVA sends when the user says the CheckPoints intent, signed with the Chatbot Secret. */
async function askForPoints(secret) {
  const body = JSON.stringify({
    version: '1.0',
    session: { new: false, sessionAttributes: {}, sessionId: 'demo-session', user: { userId } },
    context: { System: { application: { applicationId: extensionId }, device: { deviceId: 'demo-device' }, user: { userId } } },
    request: { type: 'IntentRequest', intent: { name: 'CheckPoints', slots: {} } },
  });
  const signature = createHmac('sha256', secret).update(body).digest('base64');
  const res = await fetch(`${gatewayUrl}/cek/${extensionId}`, { method: 'POST', headers: { 'x-ncp-chatbot_signature': signature }, body });
  const answer = await res.json();
  const speech = answer.response?.outputSpeech;
  const text = speech?.values?.value ?? (Array.isArray(speech?.values) ? speech.values.map((v) => v.value).join(' ') : JSON.stringify(answer));
  say(`CLOVA would say: "${text}"`);
}

const stoppers = [];
let stopping = false;
function stop(code) {
  if (stopping) return;
  stopping = true;
  for (const s of stoppers.reverse()) s();
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(code);
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

try {
  const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--if-stale'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('the build failed');
  const providerServer = await startProvider();
  stoppers.push(() => providerServer.close());
  const targetServer = await startTarget();
  stoppers.push(() => targetServer.close());
  const gateway = startGateway();
  stoppers.push(() => gateway.kill('SIGTERM'));
  gateway.on('exit', (code) => {
    if (!stopping) {
      say(`cek-gateway exited (${code})`);
      stop(1);
    }
  });
  await waitForGateway(gateway);

  const created = await admin('POST', '/extensions', { extensionId, name: 'Demo points', language: 'en' });
  await admin('PUT', `/extensions/${extensionId}/account-linking`, { enabled: true, issuer, clientId, clientSecret, scope: 'openid offline_access', clientAuth: 'basic' });
  await admin('PUT', `/extensions/${extensionId}/actions/CheckPoints`, {
    trigger: { type: 'IntentRequest', intent: 'CheckPoints' },
    url: targetUrl,
    useOAuthToken: true,
    tokenSource: 'linked',
  });

  say();
  say('cek-gateway demo is running:');
  say(`  gateway         ${gatewayUrl}   (admin pages: ${gatewayUrl}/admin, admin token ${adminToken})`);
  say(`  OAuth provider  ${issuer}   (signs in any name; client ${clientId})`);
  say(`  action target   ${targetUrl}`);
  say(`  extension       ${extensionId}: account linking on, intent CheckPoints → the target with the user's token`);
  say();
  say('Press Enter to say "CheckPoints" as a CLOVA user. The first answer asks you to link: open the');
  say(`link page it names (${gatewayUrl}/link), enter the code, sign in with any name, then press Enter`);
  say('again. Ctrl-C stops the demo.');
  const input = createInterface({ input: process.stdin });
  stoppers.push(() => input.close());
  input.on('line', () => {
    askForPoints(created.chatbotSecret).catch((err) => say(`request failed: ${err.message}`));
  });
} catch (err) {
  say(`demo: ${err.message}`);
  stop(1);
}
