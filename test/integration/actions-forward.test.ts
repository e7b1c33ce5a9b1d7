import request from 'supertest';
import { TokenVault } from '../../src/linking/vault.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { eventRequest, intentRequest, launchRequest } from '../helpers/cek.js';
import { storeKinds } from '../helpers/stores.js';
import { closedPort, reply, startTarget, startTokenEndpoint, type TestTarget, type TestTokenEndpoint } from '../helpers/targets.js';

const ID = 'com.example.forward';
const ERROR_TEXT = 'Sorry, something went wrong. Please try again in a moment.';
const SUCCESS_TEXT = 'Your account is now linked. You are all set.';

interface Spoken {
  status: number;
  body: {
    version: string;
    sessionAttributes: Record<string, unknown>;
    response: {
      outputSpeech: { type?: string; values?: { type: string; lang: string; value: string } | Array<{ value: string }> };
      card: object;
      directives: unknown[];
      shouldEndSession: boolean;
      reprompt?: unknown;
    };
  };
  ms: number;
}

describe.each(storeKinds)('action methods forward CEK requests, on %s', (kind) => {
  let app: TestApp;
  let target: TestTarget;
  let tokens: TestTokenEndpoint;
  let vault: TokenVault;
  let refusedPort: number;

  /** Signs and sends a CEK request; returns the raw bytes it sent with the answer. */
  const send = async (body: object): Promise<Spoken & { raw: string }> => {
    const raw = JSON.stringify(body);
    const started = Date.now();
    const res = await request(app.url).post(`/cek/${ID}`).set('content-type', 'application/json;charset-UTF-8').set('SignatureCEK', app.signer.sign(raw)).send(raw);
    return { status: res.status, body: res.body as Spoken['body'], ms: Date.now() - started, raw };
  };
  const intent = (name: string, userId: string, accessToken?: string) =>
    send(intentRequest({ extensionId: ID, intent: name, userId, ...(accessToken === undefined ? {} : { accessToken }), slots: { n: { name: 'n', value: '한국어 ✓' } } }));
  const text = (r: Spoken): string => {
    const v = r.body.response.outputSpeech.values;
    return Array.isArray(v) ? v.map((x) => x.value).join(' | ') : (v?.value ?? '');
  };
  const defineAction = async (name: string, body: Record<string, unknown>) => {
    const res = await request(app.url).put(`/api/v1/extensions/${ID}/actions/${name}`).set(app.adminHeaders).send(body);
    expect([200, 201]).toContain(res.status);
  };
  const link = (userId: string, accessToken: string) => vault.link(ID, userId, { accessToken, refreshToken: `rt-${userId}` }, { expiresAt: Date.now() + 3_600_000, scope: 'api', tokenType: 'Bearer' });
  const forwards = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (const v of (await app.services.metrics.forwards.get()).values) out[String(v.labels['outcome'])] = v.value;
    return out;
  };
  const expectError = (r: Spoken) => {
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      version: '1.0',
      sessionAttributes: {},
      response: { outputSpeech: { type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'en', value: ERROR_TEXT } }, card: {}, directives: [], shouldEndSession: true },
    });
  };

  beforeAll(async () => {
    app = await startTestApp({ store: kind, label: 'actions-fwd' });
    target = await startTarget();
    tokens = await startTokenEndpoint();
    vault = new TokenVault(app.store, app.services.keyring);
    refusedPort = await closedPort();
    expect((await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: ID, language: 'en' })).status).toBe(201);
    const linking = await request(app.url)
      .put(`/api/v1/extensions/${ID}/account-linking`)
      .set(app.adminHeaders)
      .send({ enabled: true, loginUrl: `${target.url}/authorize`, tokenUrl: tokens.url, clientId: 'client-1', clientSecret: 'client-secret-1', clientAuth: 'body' });
    expect(linking.status).toBe(200);

    const intentAction = (intentName: string, path: string, extra: Record<string, unknown> = {}) =>
      defineAction(intentName, { trigger: { type: 'IntentRequest', intent: intentName }, url: `${target.url}${path}`, ...extra });
    await intentAction('CheckPoints', '/points?src=cek', { useOAuthToken: true, tokenSource: 'linked', headers: { 'X-Api-Key': 'static-key-1' } });
    await intentAction('ClovaToken', '/clova', { useOAuthToken: true, tokenSource: 'request' });
    await intentAction('Auto', '/auto', { useOAuthToken: true, tokenSource: 'auto' });
    await intentAction('NoToken', '/notoken');
    await intentAction('CekReply', '/cekreply');
    await intentAction('Slow', '/slow', { timeoutMs: 300 });
    await intentAction('Status500', '/500');
    await intentAction('Redirect', '/302');
    await intentAction('BadJson', '/badjson');
    await intentAction('Html', '/html');
    await intentAction('Huge', '/huge');
    await intentAction('HangUp', '/hangup');
    await defineAction('Refused', { trigger: { type: 'IntentRequest', intent: 'Refused' }, url: `http://127.0.0.1:${refusedPort}/x` });
    await intentAction('Rejected', '/rejected', { useOAuthToken: true, tokenSource: 'linked' });
    await intentAction('RejectedAlways', '/always401', { useOAuthToken: true, tokenSource: 'linked' });
    await intentAction('RejectedClova', '/always401', { useOAuthToken: true, tokenSource: 'request' });
    await defineAction('launch', { trigger: { type: 'LaunchRequest' }, url: `${target.url}/launch` });
    await defineAction('audio', { trigger: { type: 'EventRequest', namespace: 'AudioPlayer' }, url: `${target.url}/audio` });

    target.on('/points', reply.json({ speech: 'You have 120 points.', endSession: false, sessionAttributes: { step: 2 } }));
    target.on('/clova', reply.json({ speech: 'CLOVA token accepted.' }));
    target.on('/auto', reply.json({ speech: 'auto' }));
    target.on('/notoken', reply.json({ speech: 'No token needed.' }));
    target.on('/slow', reply.slow(3_000));
    target.on('/500', reply.status(500));
    target.on('/302', reply.status(302, { location: `${target.url}/points` }));
    target.on('/badjson', reply.text('{"speech": "unterminated', 'application/json'));
    target.on('/html', reply.text('<p>hello</p>', 'text/html'));
    target.on('/huge', reply.huge(10 * 1024 * 1024));
    target.on('/hangup', reply.hangUpMidReply());
    target.on('/launch', reply.text('Welcome from the target.'));
    target.on('/audio', reply.json({ version: '1.0', sessionAttributes: {}, response: { outputSpeech: {}, card: {}, directives: [], shouldEndSession: true } }));
    // Accepts only tokens the token endpoint handed out: the linked one is "expired" for the target.
    target.on('/rejected', (c, res, req) => (String(c.headers.authorization).startsWith('Bearer refreshed-') ? reply.json({ speech: 'Accepted after refresh.' }) : reply.status(401))(c, res, req));
    target.on('/always401', reply.status(401, { 'www-authenticate': 'Bearer error="invalid_token"' }));
  });
  afterAll(async () => {
    await app.close();
    await target.close();
    await tokens.close();
  });

  test('forwards the exact signed bytes with the linked bearer token, the static and x-cek-* headers; speaks loginSuccess once', async () => {
    await link('user-linked', 'linked-access-token-1');
    const first = await intent('CheckPoints', 'user-linked');
    expect(first.status).toBe(200);
    const call = target.callsTo('/points?src=cek').at(-1)!;
    expect(call.method).toBe('POST');
    expect(call.body.equals(Buffer.from(first.raw, 'utf8'))).toBe(true);
    expect(call.headers['authorization']).toBe('Bearer linked-access-token-1');
    expect(call.headers['content-type']).toBe('application/json');
    expect(call.headers['x-cek-extension-id']).toBe(ID);
    expect(call.headers['x-cek-user-id']).toBe('user-linked');
    expect(call.headers['x-request-id']).toMatch(/\S/);
    expect(call.headers['x-api-key']).toBe('static-key-1');
    expect(first.body).toEqual({
      version: '1.0',
      sessionAttributes: { step: 2 },
      response: {
        outputSpeech: { type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'en', value: `${SUCCESS_TEXT} You have 120 points.` } },
        card: {},
        directives: [],
        shouldEndSession: false,
      },
    });
    const second = await intent('CheckPoints', 'user-linked');
    expect(text(second)).toBe('You have 120 points.');
  });

  test("tokenSource request sends CLOVA's accessToken; without one the user hears the login prompt with a pairing code", async () => {
    const withToken = await intent('ClovaToken', 'user-clova', 'clova-access-token-9');
    expect(text(withToken)).toBe('CLOVA token accepted.');
    expect(withToken.body.response.shouldEndSession).toBe(true);
    expect(target.callsTo('/clova').at(-1)!.headers['authorization']).toBe('Bearer clova-access-token-9');

    const calls = target.callsTo('/clova').length;
    const prompt = await intent('ClovaToken', 'user-clova');
    expect(prompt.status).toBe(200);
    expect(text(prompt)).toContain('http://127.0.0.1:3000/link');
    expect(text(prompt)).toMatch(/\d/);
    expect(prompt.body.response.shouldEndSession).toBe(true);
    expect(target.callsTo('/clova')).toHaveLength(calls);
  });

  test('tokenSource auto: the request token first, else the vault; an unlinked user is prompted and the target not called', async () => {
    await link('user-auto', 'vault-token-auto');
    await intent('Auto', 'user-auto', 'request-token-auto');
    expect(target.callsTo('/auto').at(-1)!.headers['authorization']).toBe('Bearer request-token-auto');
    await intent('Auto', 'user-auto');
    expect(target.callsTo('/auto').at(-1)!.headers['authorization']).toBe('Bearer vault-token-auto');
    const before = target.callsTo('/points?src=cek').length;
    const prompt = await intent('CheckPoints', 'user-never-linked');
    expect(text(prompt)).toContain('/link');
    expect(target.callsTo('/points?src=cek')).toHaveLength(before);
  });

  test('without useOAuthToken no authorization header is sent', async () => {
    const r = await intent('NoToken', 'user-x', 'some-clova-token');
    expect(text(r)).toBe('No token needed.');
    expect(target.callsTo('/notoken').at(-1)!.headers['authorization']).toBeUndefined();
  });

  test('a CEK response from the target is normalised: version echoed, defaults filled, limits enforced, garbage dropped', async () => {
    const long = `${'This sentence is long. '.repeat(60)}`;
    target.on(
      '/cekreply',
      reply.json({
        version: '9.9',
        sessionAttributes: 'not an object',
        response: {
          outputSpeech: {
            type: 'SpeechList',
            values: [
              { type: 'PlainText', lang: 'ko', value: long },
              { type: 'URL', lang: 'en', value: 'https://cdn.example.com/a.mp3' },
              { type: 'URL', lang: '', value: `https://cdn.example.com/${'x'.repeat(3000)}` },
              { type: 'PlainText', lang: 'xx', value: 'fallback language' },
              { type: 'Bogus', value: 'dropped' },
              'not an object',
            ],
          },
          directives: [{ header: { namespace: 'AudioPlayer', name: 'Play', messageId: 'm' }, payload: {} }, { nope: true }],
          reprompt: { outputSpeech: { type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'en', value: 'Anything else?' } } },
          shouldEndSession: false,
        },
      }),
    );
    const r = await send(intentRequest({ extensionId: ID, intent: 'CekReply', version: '0.1.0' }));
    expect(r.status).toBe(200);
    expect(r.body.version).toBe('0.1.0');
    expect(r.body.sessionAttributes).toEqual({});
    expect(r.body.response.card).toEqual({});
    expect(r.body.response.directives).toEqual([{ header: { namespace: 'AudioPlayer', name: 'Play', messageId: 'm' }, payload: {} }]);
    expect(r.body.response.shouldEndSession).toBe(false);
    expect(r.body.response.reprompt).toEqual({ outputSpeech: { type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'en', value: 'Anything else?' } } });
    const values = r.body.response.outputSpeech.values as Array<{ type: string; lang: string; value: string }>;
    expect(values.map((v) => [v.type, v.lang])).toEqual([
      ['PlainText', 'ko'],
      ['URL', ''],
      ['PlainText', 'en'],
    ]);
    expect([...values[0]!.value].length).toBeLessThanOrEqual(1000);
  });

  test('text/plain replies and event triggers', async () => {
    const launch = await send(launchRequest({ extensionId: ID }));
    expect(launch.body.response).toEqual({
      outputSpeech: { type: 'SimpleSpeech', values: { type: 'PlainText', lang: 'en', value: 'Welcome from the target.' } },
      card: {},
      directives: [],
      shouldEndSession: true,
    });
    const audio = await send(eventRequest({ extensionId: ID, namespace: 'AudioPlayer', name: 'PlayFinished' }));
    expect(audio.body.response).toEqual({ outputSpeech: {}, card: {}, directives: [], shouldEndSession: true });
    expect(target.callsTo('/audio')).toHaveLength(1);
    // Another namespace is not this action's: the built-in acknowledgement answers, the target is not called.
    await send(eventRequest({ extensionId: ID, namespace: 'SpeechSynthesizer', name: 'SpeechStarted' }));
    expect(target.callsTo('/audio')).toHaveLength(1);
  });

  describe('targets that misbehave: the error message, in time, counted by cause, and the process keeps serving', () => {
    const cases: Array<[string, string, number]> = [
      ['slower than its timeout (300 ms)', 'Slow', 1_500],
      ['500', 'Status500', 2_000],
      ['302 (redirects are not followed)', 'Redirect', 2_000],
      ['invalid JSON', 'BadJson', 2_000],
      ['an unknown content type', 'Html', 2_000],
      ['a 10 MB body', 'Huge', 4_000],
      ['closing the connection mid-reply', 'HangUp', 2_000],
      ['connection refused', 'Refused', 2_000],
    ];
    const causes: Record<string, string> = {
      Slow: 'timeout',
      Status500: 'bad_status',
      Redirect: 'redirect',
      BadJson: 'bad_reply',
      Html: 'bad_reply',
      Huge: 'too_large',
      HangUp: 'reset',
      Refused: 'refused',
    };
    test.each(cases)('%s', async (_label, intentName, withinMs) => {
      const before = await forwards();
      const r = await intent(intentName, 'user-misbehave');
      expectError(r);
      expect(r.ms).toBeLessThan(withinMs);
      const cause = causes[intentName]!;
      expect((await forwards())[cause] ?? 0).toBe((before[cause] ?? 0) + 1);
      // Still serving, and a well-behaved target still answers.
      expect(text(await intent('NoToken', 'user-misbehave'))).toBe('No token needed.');
    });

    test('the redirect was not followed', () => {
      const redirectCalls = target.calls.filter((c) => c.path === '/302').length;
      expect(redirectCalls).toBeGreaterThanOrEqual(1);
      expect(target.calls.filter((c) => c.path === '/points?src=cek' && c.headers['x-cek-user-id'] === 'user-misbehave')).toHaveLength(0);
    });
  });

  describe('a 401 from the target', () => {
    test("with CLOVA's token: the login prompt (we cannot refresh CLOVA's token), one call", async () => {
      const before = target.callsTo('/always401').length;
      const r = await intent('RejectedClova', 'user-401-clova', 'clova-rejected');
      expect(text(r)).toContain('/link');
      expect(r.body.response.shouldEndSession).toBe(true);
      expect(target.callsTo('/always401')).toHaveLength(before + 1);
    });

    test('with a vault token: one refresh at the token endpoint, one retry with the new token, the answer', async () => {
      await link('user-401-refresh', 'stale-token');
      const refreshesBefore = tokens.refreshes;
      const r = await intent('Rejected', 'user-401-refresh');
      expect(text(r)).toBe(`${SUCCESS_TEXT} Accepted after refresh.`);
      expect(tokens.refreshes).toBe(refreshesBefore + 1);
      const calls = target.callsTo('/rejected').filter((c) => c.headers['x-cek-user-id'] === 'user-401-refresh');
      expect(calls.map((c) => c.headers['authorization'])).toEqual(['Bearer stale-token', `Bearer ${tokens.lastAccessToken}`]);
      expect(calls[0]!.body.equals(calls[1]!.body)).toBe(true);
      // The refreshed token is kept: the next request uses it directly.
      expect(text(await intent('Rejected', 'user-401-refresh'))).toBe('Accepted after refresh.');
      expect(tokens.refreshes).toBe(refreshesBefore + 1);
    });

    test('a second 401 after the refresh marks the link broken and prompts; the next request prompts without calling', async () => {
      await link('user-401-broken', 'stale-token-2');
      const before = target.callsTo('/always401').length;
      const r = await intent('RejectedAlways', 'user-401-broken');
      expect(text(r)).toContain('/link');
      expect(target.callsTo('/always401')).toHaveLength(before + 2);
      expect((await vault.read(ID, 'user-401-broken'))?.record.status).toBe('broken');
      const again = await intent('RejectedAlways', 'user-401-broken');
      expect(text(again)).toContain('/link');
      expect(target.callsTo('/always401')).toHaveLength(before + 2);
    });

    test('a refused refresh (invalid_grant) prompts the user to link again', async () => {
      await link('user-401-revoked', 'stale-token-3');
      tokens.fail = true;
      try {
        const r = await intent('Rejected', 'user-401-revoked');
        expect(text(r)).toContain('/link');
        expect((await vault.read(ID, 'user-401-revoked'))?.record.status).toBe('broken');
      } finally {
        tokens.fail = false;
      }
    });
  });
});

describe('the whole CEK request stays under 8 s', () => {
  let app: TestApp;
  let target: TestTarget;
  afterAll(async () => {
    await app?.close();
    await target?.close();
  });

  test('a target slower than the longest action timeout (7 s) is cut off and the error spoken before 8 s', async () => {
    app = await startTestApp({ label: 'actions-deadline' });
    target = await startTarget({ '/slow': reply.slow(20_000) });
    await request(app.url).post('/api/v1/extensions').set(app.adminHeaders).send({ extensionId: ID, language: 'en' });
    await request(app.url)
      .put(`/api/v1/extensions/${ID}/actions/slow`)
      .set(app.adminHeaders)
      .send({ trigger: { type: 'IntentRequest', intent: 'Slow' }, url: `${target.url}/slow`, timeoutMs: 7000, useOAuthToken: true, tokenSource: 'request' })
      .expect(201);
    // The action may take 7 s, the longest allowed; the handler's deadline is 7.5 s: the answer comes at 7 s.
    const raw = JSON.stringify(intentRequest({ extensionId: ID, intent: 'Slow', accessToken: 't' }));
    const started = Date.now();
    const res = await request(app.url).post(`/cek/${ID}`).set('SignatureCEK', app.signer.sign(raw)).set('content-type', 'application/json').send(raw);
    const ms = Date.now() - started;
    expect(res.status).toBe(200);
    expect(res.body.response.outputSpeech.values.value).toBe(ERROR_TEXT);
    expect(ms).toBeGreaterThanOrEqual(6_900);
    expect(ms).toBeLessThan(7_600);
  }, 15_000);
});
