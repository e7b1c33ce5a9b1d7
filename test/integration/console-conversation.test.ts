import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_MESSAGES } from '../../src/extensions/messages.js';
import { adminApi } from '../helpers/adminApi.js';
import { send, signIn, type PageAnswer } from '../helpers/adminSession.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { runCli } from '../helpers/cli.js';
import { reply, startTarget, type TargetCall, type TargetHandler, type TestTarget } from '../helpers/targets.js';
import { parseXml } from '../helpers/xml.js';

/**
 * The multi-turn test console (issue 17, item 1) over real HTTP: a conversation with one session id,
 * `session.new` on the first turn only and the answers' `sessionAttributes` sent back, for a test user
 * whose token the target checks; the transcript after a reload; the session ended with a
 * SessionEndedRequest; events and the locale chosen; the conversation downloaded as a scenario and
 * run by `cek-gateway test` (passing, then failing with the turn and expected vs got).
 */
const ID = 'com.example.consolebot';
const PLAIN = 'com.example.plainbot';
const TEST_USER = 'console-tester';
const TOKEN = 'console-test-token-0123456789';

jest.setTimeout(120_000);

const unescape = (html: string): string => html.replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
/** The text of the element with this id (its first closing tag of the same name ends it). */
const byId = (html: string, id: string): string | undefined => {
  const m = new RegExp(`id="${id}"[^>]*>([\\s\\S]*?)</(pre|p|code|span|ol|li)>`).exec(html);
  return m?.[1] === undefined ? undefined : unescape(m[1].replace(/<[^>]+>/g, ''));
};
const cekOf = (call: TargetCall | undefined) => JSON.parse(call?.body.toString('utf8') ?? '{}');

describe('the multi-turn test console', () => {
  let app: TestApp;
  let target: TestTarget;
  let dir: string;
  let session: { cookie: string; csrf: string };
  const points =
    (count: number): TargetHandler =>
    (call, res, req) => {
      const cek = cekOf(call);
      if (call.headers['authorization'] !== `Bearer ${TOKEN}`) return reply.status(401)(call, res, req);
      if (cek.session.sessionAttributes.step !== 'launched') return reply.json({ speech: 'You did not start with a launch.' })(call, res, req);
      const period = cek.request.intent.slots.period?.value;
      return reply.json({ speech: `You have ${count} points ${period}.`, endSession: false, sessionAttributes: { step: 'points', period } })(call, res, req);
    };
  const turn = (ext: string, form: Record<string, string>) => send(app, `/admin/extensions/${ext}/console`, { cookie: session.cookie, form: { _csrf: session.csrf, ...form } });
  /** A turn that must be taken: 303 to the transcript, which is then loaded (post/redirect/get). */
  const took = async (ext: string, form: Record<string, string>, n: number): Promise<PageAnswer> => {
    const posted = await turn(ext, form);
    expect([posted.status, posted.location]).toEqual([303, `/admin/extensions/${ext}/console#turn-${n}`]);
    return send(app, `/admin/extensions/${ext}/console`, { cookie: session.cookie });
  };
  const restart = async (ext: string) => {
    const r = await send(app, `/admin/extensions/${ext}/console/new`, { cookie: session.cookie, form: { _csrf: session.csrf } });
    expect(r.status).toBe(303);
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cek-console-'));
    app = await startTestApp({ label: 'console-conversation' });
    target = await startTarget({
      '/launch': reply.json({ speech: 'Welcome to points.', endSession: false, sessionAttributes: { step: 'launched' } }),
      '/points': points(120),
    });
    const api = adminApi(app);
    expect((await api.post('/extensions', { extensionId: ID, language: 'en' })).status).toBe(201);
    expect((await api.put(`/extensions/${ID}/actions/Launch`, { trigger: { type: 'LaunchRequest' }, url: `${target.url}/launch` })).status).toBe(201);
    expect(
      (await api.put(`/extensions/${ID}/actions/CheckPoints`, { trigger: { type: 'IntentRequest', intent: 'CheckPoints' }, url: `${target.url}/points`, useOAuthToken: true, tokenSource: 'linked' }))
        .status,
    ).toBe(201);
    expect((await api.post(`/extensions/${ID}/test-users`, { userId: TEST_USER, accessToken: TOKEN })).status).toBe(201);
    expect((await api.post('/extensions', { extensionId: PLAIN, language: 'en', locales: { 'ja-JP': { welcome: 'ようこそ' } } })).status).toBe(201);
    session = await signIn(app);
  });
  afterAll(async () => {
    await app?.close();
    await target?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('three turns (launch, intent with a slot, end) hold one session as CLOVA does; the transcript survives a reload; an ended session takes no more turns', async () => {
    const first = await send(app, `/admin/extensions/${ID}/console`, { cookie: session.cookie });
    expect(first.text).toContain(`<option value="${TEST_USER}">test user</option>`);
    expect(first.text).toContain('id="f-locale"');
    expect(first.text).not.toContain('id="transcript"');
    // A turn posted without the session's CSRF token is refused and sends nothing.
    const forged = await send(app, `/admin/extensions/${ID}/console`, { cookie: session.cookie, form: { userId: TEST_USER, type: 'LaunchRequest' } });
    expect(forged.status).toBe(403);
    expect(target.calls).toHaveLength(0);

    await took(ID, { userId: TEST_USER, locale: 'ja-JP', type: 'LaunchRequest', do: 'send' }, 1);
    await took(ID, { type: 'IntentRequest', intent: 'CheckPoints', slots: 'period=this month', do: 'send' }, 2);
    await took(ID, { do: 'end' }, 3);

    const [launch, intent] = target.calls.map(cekOf);
    expect(launch.session.new).toBe(true);
    expect(intent.session.new).toBe(false);
    expect(intent.session.sessionId).toBe(launch.session.sessionId);
    expect(intent.session.sessionAttributes).toEqual({ step: 'launched' });
    expect([launch.request.locale, intent.request.locale]).toEqual(['ja-JP', 'ja-JP']);
    expect(intent.session.user.userId).toBe(TEST_USER);
    expect(target.calls[1]?.headers['authorization']).toBe(`Bearer ${TOKEN}`);
    expect(target.calls).toHaveLength(2); // the SessionEndedRequest is acknowledged by the gateway

    // A reload shows the whole conversation, and the last turn (the end) in detail.
    const page = await send(app, `/admin/extensions/${ID}/console`, { cookie: session.cookie });
    expect(page.status).toBe(200);
    expect(byId(page.text, 'session-id')).toBe(launch.session.sessionId);
    expect([...page.text.matchAll(/data-turn="(\d+)"/g)].map((m) => m[1])).toEqual(['1', '2', '3']);
    const turns = [1, 2, 3].map((n) =>
      unescape(
        /id="turn-\d+"[\s\S]*?<\/li>/
          .exec(page.text.slice(page.text.indexOf(`id="turn-${n}"`)))?.[0]
          .replace(/<[^>]+>/g, '')
          .replace(/\s+/g, ' ') ?? '',
      ),
    );
    expect(turns[0]).toMatch(
      /User Opens the extension \(LaunchRequest\) CLOVA Welcome to points\. HTTP 200 action · keeps listening · action Launch: target called without a bearer token · sessionAttributes \{"step":"launched"\}/,
    );
    expect(turns[1]).toMatch(
      /User CheckPoints \(period = this month\) CLOVA You have 120 points this month\. HTTP 200 action · keeps listening · action CheckPoints: target called with a bearer token/,
    );
    expect(turns[2]).toMatch(/User Ends the session \(SessionEndedRequest\) CLOVA \(says nothing\) HTTP 200 ack/);
    expect(page.text).toContain('<span class="badge test">test user</span>');
    expect(page.text).toContain('id="session-ended"');
    expect(page.text).not.toContain('id="console-form"');
    const ended = JSON.parse(byId(page.text, 'request-json') ?? '{}');
    expect(ended.request.type).toBe('SessionEndedRequest');
    expect(ended.session).toMatchObject({ new: false, sessionId: launch.session.sessionId, sessionAttributes: { step: 'points', period: 'this month' } });
    expect(page.text).not.toContain(TOKEN);

    const late = await turn(ID, { type: 'LaunchRequest', do: 'send' });
    expect(late.status).toBe(409);
    expect(late.text).toContain('This session has ended');
    expect(target.calls).toHaveLength(2);

    // Another admin session has its own (empty) console.
    const other = await signIn(app);
    expect((await send(app, `/admin/extensions/${ID}/console`, { cookie: other.cookie })).text).not.toContain('id="transcript"');
  });

  test('the conversation downloads as a scenario that `cek-gateway test` runs as it is; a changed answer fails, naming the turn with expected vs got', async () => {
    const download = await send(app, `/admin/extensions/${ID}/console/scenario.yaml`, { cookie: session.cookie });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="${ID}.console.yaml"`);
    expect(download.text).toContain(`# ${TEST_USER} is a test user: it must exist on the instance`);
    const doc = parseYaml(download.text) as { scenarios: Array<Record<string, unknown>> };
    expect(doc.scenarios).toHaveLength(1);
    expect(doc.scenarios[0]).toMatchObject({
      extension: ID,
      user: TEST_USER,
      locale: 'ja-JP',
      turns: [
        {
          launch: {},
          expect: { outcome: 'action', speech: { equals: 'Welcome to points.' }, shouldEndSession: false, sessionAttributes: { step: 'launched' }, target: { called: true, bearer: false } },
        },
        {
          intent: { name: 'CheckPoints', slots: { period: 'this month' } },
          expect: { outcome: 'action', speech: { equals: 'You have 120 points this month.' }, target: { called: true, bearer: true } },
        },
        { end: {}, expect: { outcome: 'ack' } },
      ],
    });

    const file = path.join(dir, 'scenarios', 'recorded.yaml');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, download.text);
    const env = { CEK_GATEWAY_URL: app.url, CEK_GATEWAY_TOKEN: ADMIN_TOKEN };
    const junit = path.join(dir, 'report.xml');
    const before = target.calls.length;
    const passed = await runCli(['test', path.join(dir, 'scenarios'), '--junit', junit], env);
    expect(passed.stdout).toContain('✓ turn 3: end');
    expect(passed.code).toBe(0);
    expect(passed.stdout).toContain('1 scenario (3 turns): 1 passed, 0 failed');
    expect(target.calls.slice(before).map((c) => c.headers['authorization'])).toEqual([undefined, `Bearer ${TOKEN}`]);
    expect(parseXml(fs.readFileSync(junit, 'utf8')).attributes).toMatchObject({ tests: '1', failures: '0' });

    target.on('/points', points(100));
    try {
      const failed = await runCli(['test', file, '--junit', junit], env);
      expect(failed.code).toBe(1);
      expect(failed.stdout).toContain('✓ turn 1: launch');
      expect(failed.stdout).toContain('✗ turn 2: intent CheckPoints');
      expect(failed.stdout).toContain('speech.equals: expected "You have 120 points this month.", got "You have 100 points this month."');
      expect(failed.stdout).toContain('- turn 3: end (skipped)');
      const failure = parseXml(fs.readFileSync(junit, 'utf8')).children[0]?.children[0]?.children[0];
      expect(failure?.name).toBe('failure');
      expect(failure?.attributes['message']).toContain('turn 2 (intent CheckPoints): speech.equals: expected "You have 120 points this month.", got "You have 100 points this month."');
    } finally {
      target.on('/points', points(120));
    }
  });

  test('the locale and events are chosen: request.locale and the answer follow the locale; a listed event or any other by namespace and name', async () => {
    const launchIn = async (locale: string) => {
      await restart(PLAIN);
      const page = await took(PLAIN, { userId: 'events-user', locale, type: 'LaunchRequest' }, 1);
      return { speech: byId(page.text, 'result-speech'), request: JSON.parse(byId(page.text, 'request-json') ?? '{}') };
    };
    const en = await launchIn('en-US');
    expect([en.speech, en.request.request.locale]).toEqual([DEFAULT_MESSAGES.en.welcome, 'en-US']);
    const ja = await launchIn('ja-JP');
    expect([ja.speech, ja.request.request.locale]).toEqual(['ようこそ', 'ja-JP']);

    const listed = await took(PLAIN, { type: 'EventRequest', event: 'ClovaSkill.SkillEnabled' }, 2);
    const listedRequest = JSON.parse(byId(listed.text, 'request-json') ?? '{}');
    expect(listedRequest.request).toMatchObject({ type: 'EventRequest', locale: 'ja-JP', event: { namespace: 'ClovaSkill', name: 'SkillEnabled' } });
    expect(listedRequest.session).toMatchObject({ new: false, sessionId: ja.request.session.sessionId });
    expect(byId(listed.text, 'result-outcome')).toContain('ack');
    expect(listed.text).toContain('<span class="who">User</span> Event ClovaSkill.SkillEnabled');

    const other = await took(PLAIN, { type: 'EventRequest', event: '', eventNamespace: 'AudioPlayer', eventName: 'PlayFinished' }, 3);
    expect(JSON.parse(byId(other.text, 'request-json') ?? '{}').request.event).toMatchObject({ namespace: 'AudioPlayer', name: 'PlayFinished' });

    const missing = await turn(PLAIN, { type: 'EventRequest', event: '', eventNamespace: 'AudioPlayer', eventName: '' });
    expect(missing.status).toBe(400);
    expect(missing.text).toMatch(/id="e-eventName">Give the event name\./);

    await restart(PLAIN);
    const badLocale = await turn(PLAIN, { userId: 'events-user', locale: 'fr-FR', type: 'LaunchRequest' });
    expect(badLocale.status).toBe(400);
    expect(badLocale.text).toMatch(/id="e-locale">Choose one of ko-KR, en-US, ja-JP\./);
    const none = await send(app, `/admin/extensions/${PLAIN}/console/scenario.yaml`, { cookie: session.cookie });
    expect(none.status).toBe(404);
    expect(none.text).toContain('There is no conversation to download yet');
  });
});
