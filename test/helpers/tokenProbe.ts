import { cekResponse, simpleSpeech } from '../../src/cek/response.js';
import type { CekResponder } from '../../src/cek/dispatch.js';
import type { Features } from '../../src/features.js';

/**
 * A responder for tests of account linking on its own: the intent `WhoAmI` needs the user's token
 * and speaks which one it got (`token <value>`), or the pairing prompt when there is none. Action
 * methods do the same for real; this keeps the linking tests independent of them.
 */
export function tokenProbe(features: Features): CekResponder[] {
  const linking = features.linking.service;
  const probe: CekResponder = async (ctx) => {
    if (ctx.cek.intentName !== 'WhoAmI') return undefined;
    const r = await linking.accessToken(ctx.ext, ctx.cek.userId);
    if (r.status === 'ok') {
      const text = `${r.loginSuccess === undefined ? '' : `${r.loginSuccess} `}token ${r.token}`;
      return cekResponse({ version: ctx.cek.version, speech: simpleSpeech(text, 'en'), shouldEndSession: true });
    }
    if (r.status === 'unavailable') return cekResponse({ version: ctx.cek.version, speech: simpleSpeech(ctx.ext.messages.error, 'en'), shouldEndSession: true });
    return linking.loginPrompt(ctx);
  };
  return [probe];
}

/** The speech text of a CEK response body. */
export function speechOf(body: { response: { outputSpeech: { values?: { value?: string } } } }): string {
  return body.response.outputSpeech.values?.value ?? '';
}

/** The pairing code spoken in a prompt ("… code 1 2 3, 4 5 6, 7 8 9, 0 1 2 …"), as digits. */
export function spokenCode(text: string): string {
  const m = /(\d(?:,? \d){11})/.exec(text);
  if (m?.[1] === undefined) throw new Error(`no code in: ${text}`);
  return m[1].replace(/[ ,]/g, '');
}
