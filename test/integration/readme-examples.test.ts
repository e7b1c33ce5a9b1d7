import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startTestApp, ADMIN_TOKEN, type TestApp } from '../helpers/app.js';

/**
 * The README's curl examples, run in order against a real instance: every `curl` of a `sh` block is
 * read (method, path, headers, body; shell variables and the Chatbot Secret signatures worked out as
 * the shell would), sent, and must succeed. A renamed route or a field the API no longer takes fails
 * here instead of in a newcomer's terminal. Examples signed with a private key of the reader's own
 * (SignatureCEK) are left to the CEK endpoint tests.
 */

type Vars = Map<string, string>;

/** The shell commands of a block: lines joined at `\` + newline; a newline inside quotes is kept. */
function commands(block: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (let i = 0; i < block.length; i++) {
    const c = block[i]!;
    if (quote === undefined && c === '\\' && block[i + 1] === '\n') {
      i++;
      continue;
    }
    if (quote === undefined && c === '#' && (current === '' || /\s$/.test(current))) {
      while (i < block.length && block[i] !== '\n') i++;
      i--;
      continue;
    }
    if (c === "'" || c === '"') quote = quote === undefined ? c : quote === c ? undefined : quote;
    if (c === '\n' && quote === undefined) {
      if (current.trim() !== '') out.push(current.trim());
      current = '';
      continue;
    }
    current += c;
  }
  if (current.trim() !== '') out.push(current.trim());
  return out;
}

const expand = (text: string, vars: Vars): string => text.replace(/\$([A-Z_]+)/g, (_m, name: string) => vars.get(name) ?? `$${name}`);

/** Shell words: quotes removed, `$VAR` expanded outside single quotes, `$(…)` kept as written. */
function words(command: string, vars: Vars): string[] {
  const out: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === "'" || c === '"') {
      const end = command.indexOf(c, i + 1);
      const inner = command.slice(i + 1, end);
      word += c === "'" ? inner : expand(inner, vars);
      inWord = true;
      i = end;
    } else if (c === '$' && command[i + 1] === '(') {
      let depth = 0;
      let j = i;
      for (; j < command.length; j++) {
        if (command[j] === '(') depth++;
        if (command[j] === ')' && --depth === 0) break;
      }
      word += command.slice(i, j + 1);
      inWord = true;
      i = j;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else {
      let j = i;
      while (j < command.length && !/[\s'"]/.test(command[j]!) && !(command[j] === '$' && command[j + 1] === '(')) j++;
      word += expand(command.slice(i, j), vars);
      inWord = true;
      i = j - 1;
    }
  }
  if (inWord) out.push(word);
  return out;
}

interface Call {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
}

function curlCall(argv: string[]): Call | undefined {
  const headers: Record<string, string> = {};
  let method: string | undefined;
  let body: string | undefined;
  let path: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-X') method = argv[++i];
    else if (a === '-H') {
      const h = argv[++i]!;
      const colon = h.indexOf(':');
      headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
    } else if (a === '-d') body = argv[++i];
    else if (a === '-o' || a === '-w') i++;
    else if (a.includes('localhost:3000')) path = a.slice(a.indexOf('localhost:3000') + 'localhost:3000'.length);
  }
  if (path === undefined) return undefined;
  return { method: method ?? (body === undefined ? 'GET' : 'POST'), path, headers, body };
}

describe('README curl examples', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ label: 'readme' });
  });
  afterAll(async () => {
    await app.close();
  });

  test('every example succeeds, in the order the README gives them', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => b.includes('curl '));
    const vars: Vars = new Map([['TOKEN', ADMIN_TOKEN]]);
    const ran: string[] = [];

    for (const block of blocks) {
      for (const command of commands(block)) {
        const argv = words(command, vars);
        const first = argv[0] ?? '';
        const assignment = /^([A-Z_]+)=([\s\S]*)$/.exec(first);
        if (assignment !== null && argv.length === 1) {
          const [, name, value] = assignment;
          if (value!.startsWith('$(')) {
            // SIG=$(printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64)
            if (value!.includes('-hmac')) vars.set(name!, createHmac('sha256', vars.get('SECRET')!).update(vars.get('BODY')!).digest('base64'));
          } else if (!value!.startsWith('<')) {
            // A `<placeholder>` is what the reader copies from an earlier answer: set from that answer below.
            vars.set(name!, value!);
          }
          continue;
        }
        if (first !== 'curl') continue;
        const call = curlCall(argv);
        if (call === undefined || 'signaturecek' in call.headers) continue;
        const res = await fetch(`${app.url}${call.path}`, { method: call.method, headers: call.headers, ...(call.body === undefined ? {} : { body: call.body }) });
        const text = await res.text();
        ran.push(`${call.method} ${call.path}`);
        expect([`${call.method} ${call.path}`, res.status < 400 ? 'ok' : `${res.status} ${text}`]).toEqual([`${call.method} ${call.path}`, 'ok']);
        if (call.method === 'POST' && /\/api\/v1\/extensions$/.test(call.path)) vars.set('SECRET', (JSON.parse(text) as { chatbotSecret: string }).chatbotSecret);
        if (call.method === 'POST' && /\/keys$/.test(call.path)) vars.set('KEY', (JSON.parse(text) as { primary: { value: string } }).primary.value);
        if (call.path.startsWith('/cek/') || call.path.startsWith('/chatbot/')) expect(text).toContain('"version"');
      }
    }
    expect(ran).toEqual(
      expect.arrayContaining([
        'POST /api/v1/extensions',
        'POST /cek/com.example.points',
        'PUT /api/v1/extensions/com.example.points/account-linking',
        'POST /api/v1/extensions/com.example.points/link-tickets',
        'POST /api/v1/extensions/com.example.points/keys',
        'PUT /api/v1/extensions/com.example.points/gateway',
        'POST /chatbot/com.example.points',
        'GET /api/v1/extensions/com.example.points/usage',
        'GET /api/v1/extensions/com.example.points/swagger.json',
        'PUT /api/v1/extensions/com.example.points/actions/CheckPoints',
      ]),
    );
  });
});
