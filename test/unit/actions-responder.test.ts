import { randomBytes } from 'node:crypto';
import { ForwardSigner } from '../../src/actions/signing.js';
import { Keyring } from '../../src/security/keyring.js';
import { Forwarder } from '../../src/actions/forward.js';
import { createActionResponder } from '../../src/actions/responder.js';
import type { CekContext } from '../../src/cek/dispatch.js';
import { parseCekRequest } from '../../src/cek/parse.js';
import { MessagePicker, resolveMessages } from '../../src/extensions/messages.js';
import type { ExtensionRecord } from '../../src/extensions/model.js';
import { createLogger } from '../../src/http/logger.js';
import { createMetrics } from '../../src/http/metrics.js';
import type { LinkedTokens } from '../../src/linking/linkedTokens.js';
import { intentRequest } from '../helpers/cek.js';
import { reply, startTarget, type TestTarget } from '../helpers/targets.js';

/** The responder against a real loopback target, with a context whose deadline is close. */

const picker = new MessagePicker('en', {});

// No extension in these tests has a forwarding secret: the signer adds nothing.
const signer = new ForwardSigner(new Keyring([randomBytes(32)]));
describe('action responder deadlines', () => {
  let target: TestTarget;
  const log = createLogger('silent');
  const forwarder = new Forwarder({ production: false, log });
  beforeAll(async () => {
    target = await startTarget({ '/slow': reply.slow(5_000) });
  });
  afterAll(async () => {
    await forwarder.close();
    await target.close();
  });

  const ctxFor = (deadlineInMs: number, useOAuthToken: boolean): CekContext => {
    const record = {
      extensionId: 'com.example.deadline',
      language: 'en',
      messages: {},
      sections: {
        actions: {
          slow: {
            name: 'slow',
            trigger: { type: 'IntentRequest', intent: 'Slow' },
            url: `${target.url}/slow`,
            useOAuthToken,
            tokenSource: 'linked',
            timeoutMs: 7000,
            headers: {},
            createdAt: '',
            updatedAt: '',
          },
        },
      },
    } as unknown as ExtensionRecord;
    const raw = Buffer.from(JSON.stringify(intentRequest({ extensionId: 'com.example.deadline', intent: 'Slow' })));
    return {
      cek: parseCekRequest(raw),
      ext: { record, messages: resolveMessages('en', {}), say: (key, locale) => picker.pick(key, locale), langFor: (locale) => picker.langFor(locale), liveSecrets: () => [] },
      requestId: 'req-1',
      log,
      deadline: Date.now() + deadlineInMs,
      outcome: 'ok',
    };
  };

  test('the forward is cut before the request deadline (leaving 500 ms to write the answer) when that comes before the action timeout', async () => {
    const responder = createActionResponder({ config: { publicUrl: 'http://x' }, metrics: createMetrics({ defaultMetrics: false }), forwarder, signer, linking: undefined });
    const ctx = ctxFor(900, false);
    const answer = await responder(ctx);
    // The contract is the deadline itself (the target never answers, the action's own timeout is longer).
    expect(Date.now()).toBeLessThanOrEqual(ctx.deadline);
    expect(ctx.outcome).toBe('action_error');
    expect(answer?.response.shouldEndSession).toBe(true);
  });

  test('a token lookup that hangs does not hold the answer past the deadline', async () => {
    const hanging: LinkedTokens = {
      accessToken: () => new Promise(() => undefined),
      refreshAfterRejection: () => new Promise(() => undefined),
      markBroken: () => Promise.resolve(),
      loginPrompt: () => new Promise(() => undefined),
    };
    const responder = createActionResponder({ config: { publicUrl: 'http://x' }, metrics: createMetrics({ defaultMetrics: false }), forwarder, signer, linking: hanging });
    const ctx = ctxFor(300, true);
    const answer = await responder(ctx);
    expect(Date.now()).toBeLessThanOrEqual(ctx.deadline + 100);
    expect(ctx.outcome).toBe('action_error');
    expect(answer?.response.outputSpeech).toMatchObject({ values: { value: 'Sorry, something went wrong. Please try again in a moment.' } });
  });

  test('without account linking a token-needing action speaks loginPrompt with the link page and no code', async () => {
    const responder = createActionResponder({ config: { publicUrl: 'https://cek.example.com' }, metrics: createMetrics({ defaultMetrics: false }), forwarder, signer, linking: undefined });
    const ctx = ctxFor(1000, true);
    const answer = await responder(ctx);
    expect(ctx.outcome).toBe('login_prompt');
    expect(answer?.response.outputSpeech).toEqual({
      type: 'SimpleSpeech',
      values: { type: 'PlainText', lang: 'en', value: 'To use this, please link your account. On your phone, open https://cek.example.com/link and enter the code.' },
    });
  });
});
