import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { readDocument } from '../../src/cli/document.js';
import { toDocument } from '../../src/cli/exportForm.js';
import { fieldPath } from '../../src/cli/fieldPath.js';
import { EnvResolver, envName } from '../../src/cli/secrets.js';
import { CliError } from '../../src/cli/errors.js';
import { planAll, renderPlans } from '../../src/cli/plan.js';
import { newExtensionState, type ExtensionState, type InstanceExtension } from '../../src/cli/state.js';

const ID = 'com.example.points';

function current(): InstanceExtension {
  const state: ExtensionState = {
    ...newExtensionState(ID),
    name: 'Points',
    accountLinking: {
      enabled: true,
      loginUrl: 'https://id.example.com/a',
      tokenUrl: 'https://id.example.com/t',
      revocationUrl: null,
      issuer: null,
      clientId: 'c',
      clientSecret: true,
      scope: 'points',
      clientAuth: 'basic',
      loginPromptMessage: null,
      loginSuccessMessage: null,
      keepAliveHours: 24,
    },
    actions: {
      Check: {
        trigger: { type: 'IntentRequest', intent: 'Check' },
        url: 'https://t.example.com/check',
        useOAuthToken: true,
        tokenSource: 'linked',
        timeoutMs: 3000,
        headers: { 'x-api-key': 'old-value' },
      },
      Gone: { trigger: { type: 'LaunchRequest' }, url: 'https://t.example.com/launch', useOAuthToken: false, tokenSource: 'auto', timeoutMs: 3000, headers: {} },
    },
  };
  state.gateway.keys = { 'partner-a': { enabled: true, usagePlan: null } };
  return { id: ID, state, keyIds: { 'partner-a': 'k1' } };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cek-cli-unit-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;

function docFile(doc: unknown): string {
  const file = path.join(dir, `c${(files += 1)}.json`);
  fs.writeFileSync(file, JSON.stringify(doc));
  return file;
}

describe('configuration files', () => {
  test('an exported extension reads back as the same state: secrets become ${env:NAME} references and resolve from the environment', () => {
    const cur = current();
    const exported = toDocument(ID, cur.state);
    expect(JSON.stringify(exported)).not.toContain('old-value');
    expect((exported['accountLinking'] as Record<string, unknown>)['clientSecret']).toBe('${env:CEK_COM_EXAMPLE_POINTS_CLIENT_SECRET}');
    const doc = readDocument(docFile({ version: 1, extensions: { [ID]: exported } }));
    const env = { [envName(ID, 'CLIENT_SECRET')]: 's', [envName(ID, 'ACTION', 'Check', 'HEADER', 'x-api-key')]: 'old-value' };
    const plans = planAll(doc, [cur], new EnvResolver((n) => env[n]));
    expect(plans).toHaveLength(1);
    expect(plans[0]?.changes).toEqual([]);
    expect(renderPlans(plans, false)).toEqual([]);
  });

  test('diff lines: changed fields with old and new values, header values hidden, deletions only with --prune', () => {
    const cur = current();
    const exported = toDocument(ID, cur.state);
    const actions = exported['actions'] as Record<string, Record<string, unknown>>;
    delete actions['Gone'];
    (actions['Check'] as Record<string, unknown>)['timeoutMs'] = 5000;
    exported['name'] = 'Points 2';
    (exported['gateway'] as Record<string, unknown>)['keys'] = [];
    const doc = readDocument(docFile({ version: 1, extensions: { [ID]: exported, 'com.example.new': { name: 'New' } } }));
    const env = { [envName(ID, 'CLIENT_SECRET')]: 's', [envName(ID, 'ACTION', 'Check', 'HEADER', 'x-api-key')]: 'new-value' };
    const plans = planAll(doc, [cur], new EnvResolver((n) => env[n]));
    expect(renderPlans(plans, false)).toEqual([
      '+ com.example.new: new extension',
      '    name: "com.example.new" → "New"',
      `~ ${ID}`,
      '    name: "Points" → "Points 2"',
      '    gateway.keys.partner-a: only on the instance, kept (--prune deletes it)',
      '    actions.Check.timeoutMs: 3000 → 5000',
      '    actions.Check.headers.x-api-key: changed (value hidden)',
      '    actions.Gone: only on the instance, kept (--prune deletes it)',
    ]);
    expect(renderPlans(plans, true)).toContain('    - actions.Gone (deleted)');
    expect(renderPlans(plans, true).join('\n')).not.toMatch(/old-value|new-value/);
  });

  test('every missing variable is named with its field, in one error', () => {
    const doc = readDocument(docFile({ version: 1, extensions: { [ID]: toDocument(ID, current().state) } }));
    expect(() => planAll(doc, [current()], new EnvResolver(() => undefined))).toThrow(
      new CliError(
        'missing environment variables referenced by the file: CEK_COM_EXAMPLE_POINTS_CLIENT_SECRET (extensions["com.example.points"].accountLinking.clientSecret), ' +
          'CEK_COM_EXAMPLE_POINTS_ACTION_CHECK_HEADER_X_API_KEY (extensions["com.example.points"].actions.Check.headers.x-api-key)',
      ),
    );
  });

  test('field paths read like the file', () => {
    expect(fieldPath(['extensions', 'com.example.x', 'gateway', 'keys', 2, 'name'])).toBe('extensions["com.example.x"].gateway.keys[2].name');
    expect(fieldPath([])).toBe('(top level)');
    expect(envName('com.example.x-y', 'ACTION', 'a.b', 'HEADER', 'x-api-key')).toBe('CEK_COM_EXAMPLE_X_Y_ACTION_A_B_HEADER_X_API_KEY');
  });

  test('keys named twice and a duplicate YAML key are refused', () => {
    const dupKeys = docFile({ version: 1, extensions: { [ID]: { gateway: { keys: [{ name: 'a' }, { name: 'a' }] } } } });
    expect(() => readDocument(dupKeys)).toThrow(/extensions\["com\.example\.points"\]\.gateway\.keys: must not name a key twice/);
    const yaml = path.join(dir, 'd.yaml');
    fs.writeFileSync(yaml, `version: 1\nextensions:\n  ${ID}: {}\n  ${ID}: {}\n`);
    expect(() => readDocument(yaml)).toThrow(/is not valid YAML or JSON: Map keys must be unique/);
  });
});
