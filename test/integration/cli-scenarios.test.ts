import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { adminApi } from '../helpers/adminApi.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { runCli } from '../helpers/cli.js';
import { reply, startTarget, type TargetCall, type TestTarget } from '../helpers/targets.js';
import { vaultOf } from '../helpers/vault.js';
import { parseXml } from '../helpers/xml.js';

/**
 * `cek-gateway test` (issue 17, item 3): scenario files replayed by the CLI, as a child process,
 * against a real instance whose action target checks the linked user's bearer token and keeps
 * state in sessionAttributes.
 */
const ID = 'com.example.pointsbot';
const USER = 'scenario-linked-user';
const TOKEN = 'scenario-access-token';

// Each test starts the CLI as a child process (TypeScript transpiled on load).
jest.setTimeout(120_000);

const scenarioYaml = (pointsExpectation: string) => `
scenarios:
  - name: points for a linked user
    extension: ${ID}
    user: ${USER}
    locale: ja-JP
    turns:
      - launch: {}
        expect:
          speech: { contains: "Welcome to points" }
          shouldEndSession: false
          sessionAttributes: { step: launched }
          outcome: action
          target: { called: true, bearer: false }
      - intent:
          name: CheckPoints
          slots: { period: this month }
        expect:
          speech: { contains: "${pointsExpectation}" }
          directives: []
          sessionAttributes: { step: points, period: this month }
          outcome: action
          status: 200
          target: { called: true, bearer: true }
      - end: {}
        expect:
          outcome: ack
          target: { called: false }
`;

describe('cek-gateway test', () => {
  let app: TestApp;
  let target: TestTarget;
  let dir: string;
  const cli = (args: string[]) => runCli(['test', ...args], { CEK_GATEWAY_URL: app.url, CEK_GATEWAY_TOKEN: ADMIN_TOKEN });
  const file = (name: string, text: string): string => {
    const p = path.join(dir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, text);
    return p;
  };
  const cekOf = (call: TargetCall | undefined) => JSON.parse(call?.body.toString('utf8') ?? '{}');

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cek-cli-scenarios-'));
    app = await startTestApp({ label: 'cli-scenarios' });
    target = await startTarget({
      '/launch': reply.json({ speech: 'Welcome to points.', endSession: false, sessionAttributes: { step: 'launched' } }),
      // Answers only the linked user's token, and only inside the session the launch opened.
      '/points': (call, res, req) => {
        const cek = cekOf(call);
        if (call.headers['authorization'] !== `Bearer ${TOKEN}`) return reply.status(401)(call, res, req);
        if (cek.session.sessionAttributes.step !== 'launched') return reply.json({ speech: 'You did not start with a launch.' })(call, res, req);
        const period = cek.request.intent.slots.period?.value;
        return reply.json({ speech: `You have 120 points ${period}.`, endSession: false, sessionAttributes: { step: 'points', period } })(call, res, req);
      },
    });
    const api = adminApi(app);
    expect((await api.post('/extensions', { extensionId: ID, language: 'en' })).status).toBe(201);
    const linking = await api.put(`/extensions/${ID}/account-linking`, {
      enabled: true,
      loginUrl: `${target.url}/authorize`,
      tokenUrl: `${target.url}/token`,
      clientId: 'c',
      clientSecret: 'client-secret-1',
    });
    expect(linking.status).toBe(200);
    expect((await api.put(`/extensions/${ID}/actions/Launch`, { trigger: { type: 'LaunchRequest' }, url: `${target.url}/launch` })).status).toBe(201);
    const points = await api.put(`/extensions/${ID}/actions/CheckPoints`, {
      trigger: { type: 'IntentRequest', intent: 'CheckPoints' },
      url: `${target.url}/points`,
      useOAuthToken: true,
      tokenSource: 'linked',
    });
    expect(points.status).toBe(201);
    await vaultOf(app).link(ID, USER, { accessToken: TOKEN, refreshToken: 'rt-1' }, { expiresAt: Date.now() + 3_600_000, scope: null, tokenType: 'Bearer' });
  });
  afterAll(async () => {
    await app.close();
    await target.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a three-turn conversation (launch, intent with a slot, end) passes, as CLOVA would hold it; JUnit XML is written', async () => {
    const folder = path.join(dir, 'passing');
    file('passing/points.yaml', scenarioYaml('120 points this month'));
    file('passing/notes.txt', 'not a scenario: ignored');
    const junit = path.join(dir, 'passing.xml');
    const before = target.calls.length;
    const r = await cli([folder, '--junit', junit]);
    expect(r.stderr).toContain(`JUnit XML written to ${junit}.`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('✓ points for a linked user');
    expect(r.stdout).toContain('✓ turn 1: launch');
    expect(r.stdout).toContain('✓ turn 2: intent CheckPoints');
    expect(r.stdout).toContain('✓ turn 3: end');
    expect(r.stdout).toContain('1 scenario (3 turns): 1 passed, 0 failed');

    // What the target saw: one session, new only at first, the attributes sent back, the scenario's locale.
    const [launch, intent] = target.calls.slice(before).map(cekOf);
    expect(launch.session.new).toBe(true);
    expect(intent.session.new).toBe(false);
    expect(intent.session.sessionId).toBe(launch.session.sessionId);
    expect(intent.session.sessionAttributes).toEqual({ step: 'launched' });
    expect(intent.session.user.userId).toBe(USER);
    expect(intent.request.locale).toBe('ja-JP');

    const xml = parseXml(fs.readFileSync(junit, 'utf8'));
    expect(xml.name).toBe('testsuites');
    expect(xml.attributes).toMatchObject({ tests: '1', failures: '0' });
    const suite = xml.children[0];
    expect(suite?.name).toBe('testsuite');
    expect(suite?.attributes).toMatchObject({ name: path.join(folder, 'points.yaml'), tests: '1', failures: '0' });
    expect(suite?.children.map((c) => [c.name, c.attributes['name'], c.children.length])).toEqual([['testcase', 'points for a linked user', 0]]);
  });

  test('a failing expectation names the turn and shows expected vs got; later turns are skipped; exit 1; JUnit has the failure', async () => {
    const failing = file('failing.yaml', scenarioYaml('999 points & more'));
    const junit = path.join(dir, 'failing.xml');
    const r = await cli([failing, '--junit', junit]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('✗ points for a linked user');
    expect(r.stdout).toContain('✓ turn 1: launch');
    expect(r.stdout).toContain('✗ turn 2: intent CheckPoints');
    expect(r.stdout).toMatch(/speech\.contains: expected "999 points & more", got ".*You have 120 points this month\."/);
    expect(r.stdout).toContain('- turn 3: end (skipped)');
    expect(r.stdout).toContain('1 scenario (3 turns): 0 passed, 1 failed');

    const xml = parseXml(fs.readFileSync(junit, 'utf8'));
    expect(xml.attributes).toMatchObject({ tests: '1', failures: '1' });
    const failure = xml.children[0]?.children[0]?.children[0];
    expect(failure?.name).toBe('failure');
    expect(failure?.attributes['message']).toMatch(/^turn 2 \(intent CheckPoints\): speech\.contains: expected "999 points & more", got ".*120 points this month\."/);
  });

  test('schema mistakes: every one named by file, scenario, turn and field; nothing is sent; exit 2', async () => {
    const bad = file(
      'bad/typos.yaml',
      `
scenarios:
  - name: typos
    extension: com.example.pointsbot
    locale: fr-FR
    turns:
      - launch: {}
        expect: { speach: { contains: hi } }
      - intent: { name: CheckPoints }
        end: {}
      - event: { namespace: ClovaSkill }
        expect: { speech: { matches: "([" }, outcome: welcom }
  - name: no extension
    turns: []
`,
    );
    file('bad/broken.json', '{"scenarios": [');
    const before = target.calls.length;
    const r = await cli([path.join(dir, 'bad')]);
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe('cek-gateway: the scenarios are not valid (9 problems):');
    expect(r.stderr).toContain(`${path.join(dir, 'bad', 'broken.json')}: not valid YAML or JSON`);
    expect(r.stderr).toContain(`${bad}: scenario 1 "typos": locale: must be one of ko-KR, en-US, ja-JP`);
    expect(r.stderr).toContain(`${bad}: scenario 1 "typos", turn 1: expect: unknown field(s): speach`);
    expect(r.stderr).toContain(`${bad}: scenario 1 "typos", turn 2: a turn is exactly one of launch, intent, event, end (got intent and end)`);
    expect(r.stderr).toContain(`${bad}: scenario 1 "typos", turn 3: event.name: is required`);
    expect(r.stderr).toContain(`${bad}: scenario 1 "typos", turn 3: expect.speech.matches: is not a valid regular expression`);
    expect(r.stderr).toContain(`${bad}: scenario 1 "typos", turn 3: expect.outcome: must be one of action, action_error, login_prompt`);
    expect(r.stderr).toContain(`${bad}: scenario 2 "no extension": extension: is required`);
    expect(r.stderr).toContain(`${bad}: scenario 2 "no extension": turns: needs at least one turn`);
    expect(r.stdout).toBe('');
    expect(target.calls.length).toBe(before);
  });

  test('a scenario that cannot run fails on its own (unknown extension, one that takes only CLOVA signatures); the others run', async () => {
    expect((await adminApi(app).post('/extensions', { extensionId: 'com.example.strictbot', verification: 'cekSignature' })).status).toBe(201);
    const mixed = file(
      'mixed.json',
      JSON.stringify({
        scenarios: [
          { name: 'nowhere', extension: 'com.example.nowhere', turns: [{ launch: {} }] },
          { name: 'strict', extension: 'com.example.strictbot', turns: [{ launch: {} }, { end: {} }] },
          { name: 'event', extension: ID, turns: [{ event: { namespace: 'ClovaSkill', name: 'SkillEnabled' }, expect: { outcome: 'ack', shouldEndSession: true, target: { called: false } } }] },
        ],
      }),
    );
    const r = await cli([mixed]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`✗ nowhere (com.example.nowhere)\n      no extension "com.example.nowhere" on ${app.url}\n      - turn 1: launch (skipped)`);
    expect(r.stdout).toMatch(/✗ turn 1: launch\n {10}POST \/extensions\/com\.example\.strictbot\/test-requests: conflict: .*cekSignature/);
    expect(r.stdout).toContain('- turn 2: end (skipped)');
    expect(r.stdout).toContain('✓ turn 1: event ClovaSkill.SkillEnabled');
    expect(r.stdout).toContain('3 scenarios (4 turns): 1 passed, 2 failed');
  });

  test('an extension that requires an API key: --api-key or CEK_GATEWAY_API_KEY sends it with every turn', async () => {
    const KEYED = 'com.example.keyedbot';
    expect((await adminApi(app).post('/extensions', { extensionId: KEYED, language: 'en' })).status).toBe(201);
    const key = (await adminApi(app).post(`/extensions/${KEYED}/keys`, { name: 'ci' })).body.primary.value as string;
    expect((await adminApi(app).put(`/extensions/${KEYED}/gateway`, { requireApiKey: true })).status).toBe(200);
    const keyed = file('keyed.json', JSON.stringify({ scenarios: [{ name: 'keyed', extension: KEYED, turns: [{ launch: {}, expect: { status: 200, outcome: 'welcome' } }, { end: {} }] }] }));
    const without = await cli([keyed]);
    expect(without.code).toBe(1);
    expect(without.stdout).toMatch(/status: expected 200, got 401 \(missing_api_key/);
    expect((await cli(['--api-key', key, keyed])).code).toBe(0);
    const fromEnv = await runCli(['test', keyed], { CEK_GATEWAY_URL: app.url, CEK_GATEWAY_TOKEN: ADMIN_TOKEN, CEK_GATEWAY_API_KEY: key });
    expect([fromEnv.code, fromEnv.stdout]).toEqual([0, expect.stringContaining('1 scenario (2 turns): 1 passed')]);
  });

  test('usage: no path is exit 2', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('test: missing PATH...');
  });
});
