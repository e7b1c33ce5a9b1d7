import { spokenCode } from '../helpers/tokenProbe.js';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { FetchBrowser } from '../helpers/browser.js';

/**
 * `npm run demo` as a newcomer uses it: start it, press Enter (the pairing prompt), link on the page
 * it names through the local provider, press Enter again (the target answers with the user's token).
 */
const SCRIPT = fileURLToPath(new URL('../../scripts/demo.mjs', import.meta.url));

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port whose next two are free as well (the demo's provider and target take them). */
async function freeTriple(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    if ((await portFree(base)) && (await portFree(base + 1)) && (await portFree(base + 2))) return base;
  }
  throw new Error('no three consecutive free ports');
}

describe('npm run demo', () => {
  let demo: ChildProcessWithoutNullStreams;
  let output = '';

  const waitFor = async (pattern: RegExp, from: number): Promise<RegExpExecArray> => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const match = pattern.exec(output.slice(from));
      if (match !== null) return match;
      if (demo.exitCode !== null) throw new Error(`the demo exited with ${demo.exitCode}:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the demo never printed ${pattern}:\n${output}`);
  };

  afterAll(async () => {
    if (demo !== undefined && demo.exitCode === null) {
      const exited = new Promise((r) => demo.once('exit', r));
      demo.kill('SIGTERM');
      await exited;
    }
  });

  test('links a user through the local provider, then the sample target answers with their token', async () => {
    const port = await freeTriple();
    demo = spawn(process.execPath, [SCRIPT], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', PORT: String(port) }, stdio: ['pipe', 'pipe', 'pipe'] });
    demo.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    demo.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    await waitFor(/Press Enter/, 0);
    expect(output).toContain(`http://127.0.0.1:${port}/admin`);

    let mark = output.length;
    demo.stdin.write('\n');
    const prompt = await waitFor(/CLOVA would say: "(.*)"/, mark);
    const spoken = prompt[1]!;
    expect(spoken).toContain(`http://127.0.0.1:${port}/link`);
    const code = spokenCode(spoken);
    expect(code).toMatch(/^\d{12}$/);

    const browser = new FetchBrowser();
    const gateway = `http://127.0.0.1:${port}`;
    const form = await browser.request(`${gateway}/link`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? '';
    const posted = await browser.request(`${gateway}/link`, { form: { csrf, code: code } });
    expect(posted.status).toBe(303);
    const callback = await browser.authorize(posted.location!, `${gateway}/oauth/callback`, { login: 'alice' });
    const done = await browser.request(`${gateway}${callback.pathname}${callback.search}`);
    expect(done.status).toBe(200);

    mark = output.length;
    demo.stdin.write('\n');
    const answer = await waitFor(/CLOVA would say: "(.*)"/, mark);
    expect(answer[1]).toContain('Hello alice. You have 1,200 points.');
    expect(output).toContain('[target] POST /points: token of "alice" → 200');
  }, 120_000);
});
