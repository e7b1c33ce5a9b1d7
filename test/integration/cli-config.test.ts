import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import request from 'supertest';
import { GATEWAY_SECTION, gatewaySectionOf } from '../../src/gateway/model.js';
import { adminApi } from '../helpers/adminApi.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { runCli } from '../helpers/cli.js';
import { closedPort, reply, startTarget, type TestTarget } from '../helpers/targets.js';

/**
 * `cek-gateway export / diff / apply` against real running instances, the CLI as a child process.
 */
const WEATHER = 'com.example.weather';
const NEWS = 'com.example.news';
const SECRETS = {
  CEK_COM_EXAMPLE_WEATHER_CLIENT_SECRET: 'client-secret-value-1',
  CEK_COM_EXAMPLE_WEATHER_MESSENGER_VERIFY_TOKEN: 'verify-token-value-1',
  CEK_COM_EXAMPLE_WEATHER_ACTION_GETWEATHER_HEADER_X_API_KEY: 'static-key-value-1',
};

// Each test starts the CLI several times as a child process.
jest.setTimeout(120_000);

describe('cek-gateway export, diff and apply', () => {
  let source: TestApp;
  let target: TestApp;
  let actionTarget: TestTarget;
  let dir: string;
  const cli = (app: TestApp, args: string[], env: Record<string, string> = {}) => runCli(args, { CEK_GATEWAY_URL: app.url, CEK_GATEWAY_TOKEN: ADMIN_TOKEN, ...env });
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cek-cli-config-'));
    [source, target, actionTarget] = await Promise.all([startTestApp({ label: 'cli-src' }), startTestApp({ label: 'cli-dst' }), startTarget({ '/weather': reply.json({ speech: 'Sunny.' }) })]);
    const api = adminApi(source);
    expect((await api.post('/extensions', { extensionId: WEATHER, name: 'Weather', language: 'en', verification: 'cekSignature', messages: { welcome: 'Hi there.' } })).status).toBe(201);
    expect((await api.post('/extensions', { extensionId: NEWS })).status).toBe(201);
    expect(
      (
        await api.put(`/extensions/${WEATHER}/account-linking`, {
          enabled: true,
          loginUrl: 'https://id.example.com/authorize',
          tokenUrl: 'https://id.example.com/token',
          clientId: 'weather-client',
          clientSecret: SECRETS.CEK_COM_EXAMPLE_WEATHER_CLIENT_SECRET,
          scope: 'profile points',
          keepAliveHours: 24,
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await api.put(`/extensions/${WEATHER}/actions/GetWeather`, {
          trigger: { type: 'IntentRequest', intent: 'GetWeather' },
          url: `${actionTarget.url}/weather`,
          useOAuthToken: true,
          tokenSource: 'linked',
          timeoutMs: 2500,
          headers: { 'X-Api-Key': SECRETS.CEK_COM_EXAMPLE_WEATHER_ACTION_GETWEATHER_HEADER_X_API_KEY },
        })
      ).status,
    ).toBe(201);
    expect((await api.put(`/extensions/${NEWS}/actions/Launch`, { trigger: { type: 'LaunchRequest' }, url: `${actionTarget.url}/news` })).status).toBe(201);
    expect(
      (
        await api.put(`/extensions/${WEATHER}/gateway`, {
          requireApiKey: true,
          usagePlan: { rateRps: 5, dayQuota: 100, quotaCondition: ['4xx', '2xx'] },
          messengerVerifyToken: SECRETS.CEK_COM_EXAMPLE_WEATHER_MESSENGER_VERIFY_TOKEN,
        })
      ).status,
    ).toBe(200);
    expect((await api.post(`/extensions/${WEATHER}/keys`, { name: 'partner-a', usagePlan: { monthQuota: 1000 } })).status).toBe(201);
    const b = await api.post(`/extensions/${WEATHER}/keys`, { name: 'partner-b' });
    expect((await api.patch(`/extensions/${WEATHER}/keys/${b.body.id}`, { enabled: false })).status).toBe(200);
  });
  afterAll(async () => {
    await Promise.all([source?.close(), target?.close(), actionTarget?.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('export → apply on an empty instance → export again is identical; secrets are referenced, never printed; a second apply changes nothing', async () => {
    const exported = await cli(source, ['export']);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    for (const secret of Object.values(SECRETS)) expect(exported.stdout).not.toContain(secret);
    expect(exported.stdout).toContain('clientSecret: ${env:CEK_COM_EXAMPLE_WEATHER_CLIENT_SECRET}');
    expect(exported.stdout).toContain('x-api-key: ${env:CEK_COM_EXAMPLE_WEATHER_ACTION_GETWEATHER_HEADER_X_API_KEY}');
    expect(exported.stdout).toContain('name: partner-a');
    expect(exported.stdout).toContain('keepAliveHours: 24');
    const config = file('weather.yaml', exported.stdout);

    const applied = await cli(target, ['apply', config], SECRETS);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(`+ ${WEATHER}: new extension`);
    expect(applied.stdout).toMatch(/Applied \d+ changes to 2 extensions\./);
    for (const secret of Object.values(SECRETS)) expect(applied.stdout).not.toContain(secret);

    const again = await cli(target, ['export']);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(exported.stdout);

    // The secrets reached the instance from the environment.
    const api = adminApi(target);
    expect((await api.get(`/extensions/${WEATHER}/account-linking`)).body.clientSecretSet).toBe(true);
    expect((await api.get(`/extensions/${WEATHER}/account-linking`)).body.keepAliveHours).toBe(24);
    expect((await api.get(`/extensions/${WEATHER}/gateway`)).body.messengerVerifyTokenSet).toBe(true);
    expect((await api.get(`/extensions/${WEATHER}/actions`)).body.actions[0].headers).toEqual({ 'x-api-key': SECRETS.CEK_COM_EXAMPLE_WEATHER_ACTION_GETWEATHER_HEADER_X_API_KEY });

    const second = await cli(target, ['apply', config], SECRETS);
    expect(second).toEqual({ code: 0, stdout: `No changes: ${target.url} already matches ${config}.\n`, stderr: '' });
    expect((await cli(target, ['diff', config], SECRETS)).code).toBe(0);

    const json = await cli(source, ['export', '--format', 'json', '--extension', NEWS]);
    expect(json.code).toBe(0);
    expect(Object.keys(JSON.parse(json.stdout).extensions)).toEqual([NEWS]);
  });

  test('diff names each changed field and changes nothing; apply then makes the change', async () => {
    const exported = (await cli(target, ['export', '--format', 'json'])).stdout;
    const doc = JSON.parse(exported);
    doc.extensions[WEATHER].name = 'Weather 2';
    doc.extensions[WEATHER].actions.GetWeather.timeoutMs = 4000;
    doc.extensions[WEATHER].gateway.keys[1].enabled = true;
    const changed = file('changed.json', JSON.stringify(doc));
    const secretChanged = { ...SECRETS, CEK_COM_EXAMPLE_WEATHER_ACTION_GETWEATHER_HEADER_X_API_KEY: 'static-key-value-2' };

    const diff = await cli(target, ['diff', changed], secretChanged);
    expect(diff.stderr).toBe('');
    expect(diff.code).toBe(3);
    expect(diff.stdout).toBe(
      [
        `~ ${WEATHER}`,
        '    name: "Weather" → "Weather 2"',
        '    gateway.keys.partner-b.enabled: false → true',
        '    actions.GetWeather.timeoutMs: 2500 → 4000',
        '    actions.GetWeather.headers.x-api-key: changed (value hidden)',
        '',
      ].join('\n'),
    );
    expect((await cli(target, ['export', '--format', 'json'])).stdout).toBe(exported);

    const applied = await cli(target, ['apply', changed], secretChanged);
    expect(applied.code).toBe(0);
    const api = adminApi(target);
    expect((await api.get(`/extensions/${WEATHER}`)).body.name).toBe('Weather 2');
    expect((await api.get(`/extensions/${WEATHER}/actions`)).body.actions[0]).toMatchObject({ timeoutMs: 4000, headers: { 'x-api-key': 'static-key-value-2' } });
    expect((await cli(target, ['apply', changed], secretChanged)).stdout).toMatch(/^No changes/);
  });

  test('extensions missing from the file are kept, and deleted only with --prune', async () => {
    const doc = JSON.parse((await cli(target, ['export', '--format', 'json', '--extension', WEATHER])).stdout);
    const only = file('only-weather.json', JSON.stringify(doc));
    const kept = await cli(target, ['apply', only], SECRETS);
    expect(kept.code).toBe(0);
    expect(kept.stdout).toContain(`${NEWS}: only on the instance, kept (--prune deletes it)`);
    expect((await adminApi(target).get(`/extensions/${NEWS}`)).status).toBe(200);

    const pruned = await cli(target, ['apply', only, '--prune'], SECRETS);
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toContain(`- ${NEWS}: extension deleted (not in the file)`);
    expect((await adminApi(target).get(`/extensions/${NEWS}`)).status).toBe(404);
  });

  test('a changed secret behind the same reference is sent again only with --replace-secrets', async () => {
    const config = file('secrets.yaml', (await cli(target, ['export'])).stdout);
    const rotated = { ...SECRETS, CEK_COM_EXAMPLE_WEATHER_MESSENGER_VERIFY_TOKEN: 'verify-token-value-2' };
    const verify = (token: string) => request(target.url).get(`/chatbot/${WEATHER}`).query({ 'hub.mode': 'subscribe', 'hub.verify_token': token, 'hub.challenge': 'challenge-1' });

    // Write-only on the instance: without the flag the change cannot be seen, and nothing is sent.
    expect((await cli(target, ['apply', config], rotated)).stdout).toMatch(/^No changes/);
    expect((await verify('verify-token-value-2')).status).toBe(403);

    const diff = await cli(target, ['diff', config, '--replace-secrets'], rotated);
    expect(diff.code).toBe(3);
    expect(diff.stdout).toBe(`~ ${WEATHER}\n    accountLinking.clientSecret: changed (value hidden)\n    gateway.messengerVerifyToken: changed (value hidden)\n`);
    const applied = await cli(target, ['apply', config, '--replace-secrets'], rotated);
    expect(applied.code).toBe(0);
    expect(applied.stdout).not.toContain('verify-token-value-2');
    const answer = await verify('verify-token-value-2');
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('challenge-1');
    expect((await verify(SECRETS.CEK_COM_EXAMPLE_WEATHER_MESSENGER_VERIFY_TOKEN)).status).toBe(403);
  });

  test('a missing ${env:NAME} variable stops apply before anything changes', async () => {
    const doc = JSON.parse((await cli(target, ['export', '--format', 'json'])).stdout);
    doc.extensions[WEATHER].name = 'Renamed';
    const f = file('missing-env.json', JSON.stringify(doc));
    const r = await cli(target, ['apply', f], { CEK_COM_EXAMPLE_WEATHER_CLIENT_SECRET: 'x' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'cek-gateway: missing environment variables referenced by the file: ' +
        'CEK_COM_EXAMPLE_WEATHER_MESSENGER_VERIFY_TOKEN (extensions["com.example.weather"].gateway.messengerVerifyToken), ' +
        'CEK_COM_EXAMPLE_WEATHER_ACTION_GETWEATHER_HEADER_X_API_KEY (extensions["com.example.weather"].actions.GetWeather.headers.x-api-key)\n',
    );
    expect((await adminApi(target).get(`/extensions/${WEATHER}`)).body.name).not.toBe('Renamed');
  });

  test('a bad file gives one line per mistake with the path of the field; a URL with credentials among them is not repeated', async () => {
    const bad = file(
      'bad.yaml',
      [
        'version: 2',
        'extensions:',
        '  Not An Id: {}',
        '  com.example.bad:',
        '    language: fr',
        '    colour: blue',
        '    accountLinking: { enabled: true, clientSecret: plain-text-secret, loginUrl: "https://lu:LOGINPASS@id.example.com/a" }',
        '    gateway: { usagePlan: { rateRps: 0 } }',
        '    actions:',
        '      Hello: { trigger: { type: IntentRequest, intent: Hello }, url: "ftp://x.example" }',
      ].join('\n'),
    );
    const r = await cli(target, ['apply', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`cek-gateway: ${bad} is not a valid cek-gateway configuration (8 problems):`);
    expect(lines.slice(1).sort()).toEqual(
      [
        '  version: must be 1',
        '  extensions["Not An Id"]: is not an extension ID (reverse-domain, e.g. com.example.weather)',
        '  extensions["com.example.bad"].language: Invalid option: expected one of "ko"|"en"|"ja"',
        '  extensions["com.example.bad"]: Unrecognized key: "colour"',
        '  extensions["com.example.bad"].accountLinking.clientSecret: must be an ${env:NAME} reference (secrets are not written into the file)',
        '  extensions["com.example.bad"].accountLinking.loginUrl: must not contain credentials (the client ID and secret have their own fields)',
        '  extensions["com.example.bad"].gateway.usagePlan.rateRps: must be at least 1',
        '  extensions["com.example.bad"].actions.Hello.url: must be an http:// or https:// URL',
      ].sort(),
    );
    expect(r.stderr).not.toContain('plain-text-secret');
    expect(r.stderr).not.toContain('LOGINPASS');

    const notYaml = await cli(target, ['diff', file('broken.yaml', 'extensions: [unclosed')]);
    expect(notYaml.code).toBe(1);
    expect(notYaml.stderr).toMatch(/^cek-gateway: \S+broken\.yaml is not valid YAML or JSON: .+\n$/);

    const missing = await cli(target, ['apply', path.join(dir, 'nope.yaml')]);
    expect(missing).toEqual({ code: 1, stdout: '', stderr: `cek-gateway: cannot read ${path.join(dir, 'nope.yaml')}: ENOENT\n` });
  });

  test('a wrong token, an unreachable URL and a usage mistake give one clear line and a non-zero exit', async () => {
    const wrong = await runCli(['export'], { CEK_GATEWAY_URL: source.url, CEK_GATEWAY_TOKEN: 'not-the-admin-token-0000' });
    expect(wrong).toEqual({ code: 1, stdout: '', stderr: `cek-gateway: the admin token was refused by ${source.url} (HTTP 401): check --token or CEK_GATEWAY_TOKEN\n` });

    const port = await closedPort();
    const down = await runCli(['export', '--url', `http://127.0.0.1:${port}`, '--token', ADMIN_TOKEN]);
    expect(down).toEqual({ code: 1, stdout: '', stderr: `cek-gateway: cannot reach http://127.0.0.1:${port}: connection refused (is the instance running, on this port?)\n` });
    expect(down.stderr).not.toContain(ADMIN_TOKEN);

    const noUrl = await runCli(['export']);
    expect(noUrl).toEqual({ code: 1, stdout: '', stderr: 'cek-gateway: no instance given: pass --url or set CEK_GATEWAY_URL (e.g. http://localhost:3000)\n' });

    const unknown = await runCli(['export', '--colour']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('cek-gateway: export: unknown option --colour (see cek-gateway export --help)\n');

    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const name of ['export', 'diff FILE', 'apply FILE', 'backup FILE', 'restore FILE', 'unlock-admin']) expect(help.stdout).toContain(`  ${name} `);
  });

  test('a URL with a user or password is refused without printing them; nothing else prints them either', async () => {
    const refused = { code: 1, stdout: '', stderr: 'cek-gateway: --url: credentials in the URL are not used; pass the admin token with --token or CEK_GATEWAY_TOKEN\n' };
    expect(await runCli(['export'], { CEK_GATEWAY_URL: 'http://admin:hunter2@127.0.0.1:1', CEK_GATEWAY_TOKEN: ADMIN_TOKEN })).toEqual(refused);
    // Before the scheme is checked, and also typed without a scheme (a URL parser reads `admin:` as the scheme).
    for (const url of ['ftp://admin:hunter2@x', 'https://:hunter2@cek.example.com', `${source.url.replace('://', '://hunter2@')}`, 'admin:hunter2@localhost:3000']) {
      expect(await runCli(['export', '--url', url, '--token', ADMIN_TOKEN])).toEqual(refused);
    }
    expect(await runCli(['diff', file('nothing.yaml', 'version: 1\nextensions: {}\n'), '--url', 'http://admin:hunter2@127.0.0.1:1', '--token', ADMIN_TOKEN])).toEqual(refused);

    // An @ after the host is not a credential: the URL is checked as before.
    expect(await runCli(['export', '--url', 'ftp://cek.example.com/@x', '--token', ADMIN_TOKEN])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'cek-gateway: --url: "ftp://cek.example.com/@x" is not an http(s) URL\n',
    });
  });

  test('names Object has too (toString, valueOf, a header "constructor") round-trip; "__proto__", "constructor" and "prototype" are refused as key and action names by the API and in a file', async () => {
    const NAMES = 'com.example.names';
    const env = { CEK_COM_EXAMPLE_NAMES_ACTION_VALUEOF_HEADER_CONSTRUCTOR: 'header-value-1' };
    const api = adminApi(source);
    expect((await api.post('/extensions', { extensionId: NAMES, language: 'en' })).status).toBe(201);
    expect((await api.post(`/extensions/${NAMES}/keys`, { name: 'toString' })).status).toBe(201);
    const off = await api.post(`/extensions/${NAMES}/keys`, { name: 'hasOwnProperty' });
    expect((await api.patch(`/extensions/${NAMES}/keys/${off.body.id}`, { enabled: false })).status).toBe(200);
    const valueOf = {
      trigger: { type: 'IntentRequest', intent: 'ValueOf' },
      url: `${actionTarget.url}/weather`,
      headers: { constructor: env.CEK_COM_EXAMPLE_NAMES_ACTION_VALUEOF_HEADER_CONSTRUCTOR },
    };
    expect((await api.put(`/extensions/${NAMES}/actions/valueOf`, valueOf)).status).toBe(201);

    // Refused by the API with words that say so (for a key name, also once trimmed and on rename).
    for (const name of ['__proto__', ' constructor ', 'prototype']) {
      const key = await api.post(`/extensions/${NAMES}/keys`, { name });
      expect([key.status, key.body.error.message, key.body.error.details]).toEqual([
        400,
        'Invalid input: name must not be "__proto__", "constructor" or "prototype".',
        [{ path: 'name', message: 'must not be "__proto__", "constructor" or "prototype"' }],
      ]);
      const action = await api.put(`/extensions/${NAMES}/actions/${encodeURIComponent(name.trim())}`, { trigger: { type: 'LaunchRequest' }, url: `${actionTarget.url}/weather` });
      expect([action.status, action.body.error.message]).toEqual([400, 'Action names are 1 to 64 letters, digits, "_", "." or "-", and not "__proto__", "constructor" or "prototype".']);
    }
    expect((await api.patch(`/extensions/${NAMES}/keys/${off.body.id}`, { name: '__proto__' })).status).toBe(400);

    // export → apply on an instance without them → export again is identical, and diff sees no change.
    const exported = await cli(source, ['export', '--extension', NAMES]);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain('- name: toString');
    expect(exported.stdout).toContain('- name: hasOwnProperty');
    expect(exported.stdout).toContain('constructor: ${env:CEK_COM_EXAMPLE_NAMES_ACTION_VALUEOF_HEADER_CONSTRUCTOR}');
    const config = file('names.yaml', exported.stdout);
    const applied = await cli(target, ['apply', config], env);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(`+ ${NAMES}: new extension`);
    expect((await cli(target, ['export', '--extension', NAMES])).stdout).toBe(exported.stdout);
    // (Other extensions of the instance, not in this file, are listed as kept: not changes.)
    const diff = await cli(target, ['diff', config], env);
    expect([diff.code, diff.stderr]).toEqual([0, '']);
    expect(diff.stdout).toContain(`No changes: ${target.url} matches ${config}.`);
    expect(diff.stdout).not.toContain(NAMES);
    const keys = (await adminApi(target).get(`/extensions/${NAMES}/keys`)).body.keys as Array<{ name: string; enabled: boolean }>;
    expect(keys.map((k) => [k.name, k.enabled])).toEqual([
      ['toString', true],
      ['hasOwnProperty', false],
    ]);
    expect((await adminApi(target).get(`/extensions/${NAMES}/actions`)).body.actions[0]).toMatchObject({ name: 'valueOf', headers: { constructor: 'header-value-1' } });

    // A key saved under such a name before it was refused: export names it instead of dropping it,
    // and the API lets it be renamed.
    await source.services.registry.updateSection(NAMES, GATEWAY_SECTION, (r) => {
      const section = gatewaySectionOf(r);
      return { ...section, keys: section.keys.map((k) => (k.name === 'toString' ? { ...k, name: '__proto__' } : k)) };
    });
    expect(await cli(source, ['export', '--extension', NAMES])).toEqual({
      code: 1,
      stdout: '',
      stderr: `cek-gateway: extension "${NAMES}" has an API key named "__proto__", which a configuration file cannot name: rename it (keys are matched by name)\n`,
    });
    const legacy = (await api.get(`/extensions/${NAMES}/keys`)).body.keys.find((k: { name: string }) => k.name === '__proto__') as { id: string };
    expect((await api.patch(`/extensions/${NAMES}/keys/${legacy.id}`, { name: 'toString' })).status).toBe(200);
    expect((await cli(source, ['export', '--extension', NAMES])).stdout).toBe(exported.stdout);

    // In a file: each one named, nothing applied.
    const bad = file(
      'reserved.yaml',
      [
        'version: 1',
        'extensions:',
        `  ${NAMES}:`,
        '    gateway:',
        '      keys: [{ name: __proto__ }, { name: constructor }]',
        '    actions:',
        '      __proto__: { trigger: { type: LaunchRequest }, url: "https://x.example/a" }',
        '      prototype: { trigger: { type: IntentRequest, intent: P }, url: "https://x.example/a" }',
      ].join('\n'),
    );
    const r = await cli(target, ['apply', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      `cek-gateway: ${bad} is not a valid cek-gateway configuration (4 problems):`,
      `  extensions["${NAMES}"].actions.__proto__: cannot be a name ("__proto__" is reserved)`,
      `  extensions["${NAMES}"].gateway.keys[0].name: must not be "__proto__", "constructor" or "prototype"`,
      `  extensions["${NAMES}"].gateway.keys[1].name: must not be "__proto__", "constructor" or "prototype"`,
      `  extensions["${NAMES}"].actions.prototype: must be 1 to 64 letters, digits, "_", "." or "-", and not "__proto__", "constructor" or "prototype"`,
    ]);
  });
});
