import type { CekResponseBody, OutputSpeech, SpeechInfo, SpeechLang } from './types.js';

/** Speech limits of docs/cek-protocol.md section 3.1. */
export const SPEECH_LIMITS = { sentence: 200, total: 1000, urlBytes: 2048 } as const;

// Sentences end at . ! ? followed by whitespace (so "3.5" stays whole), or right after 。！？.
const SENTENCE_BREAK = /(?<=[.!?])\s+|(?<=[。！？])/u;

/**
 * Fits plain text to CEK's limits: at most 200 characters per sentence and 1000 in all. A longer
 * sentence is split at the last space (or comma) before the limit and ended there; text beyond
 * 1000 characters is dropped at a sentence boundary. Characters are code points, not UTF-16 units.
 */
export function fitSpeechText(text: string, lang: SpeechLang | ''): string {
  const stop = lang === 'ja' ? '。' : '.';
  const sentences: string[] = [];
  const normalized = text.replace(/\s+/gu, ' ').trim();
  for (const part of normalized.split(SENTENCE_BREAK)) {
    let s = part.trim();
    while ([...s].length > SPEECH_LIMITS.sentence) {
      const chars = [...s];
      const head = chars.slice(0, SPEECH_LIMITS.sentence - 1).join('');
      const cut = Math.max(head.lastIndexOf(' '), head.lastIndexOf(','), head.lastIndexOf('、'));
      const piece = cut > SPEECH_LIMITS.sentence / 2 ? head.slice(0, cut) : head;
      sentences.push(`${piece.replace(/[,、\s]+$/u, '')}${stop}`);
      s = s.slice(piece.length).replace(/^[,、\s]+/u, '');
    }
    if (s !== '') sentences.push(s);
  }
  let out = '';
  for (const s of sentences) {
    const next = out === '' ? s : `${out}${lang === 'ja' ? '' : ' '}${s}`;
    if ([...next].length > SPEECH_LIMITS.total) break;
    out = next;
  }
  return out;
}

export function plainText(text: string, lang: SpeechLang): SpeechInfo {
  return { type: 'PlainText', lang, value: fitSpeechText(text, lang) };
}

/** Speech of one text, or `{}` for an empty text (CEK accepts an empty outputSpeech). */
export function simpleSpeech(text: string, lang: SpeechLang): OutputSpeech {
  const values = plainText(text, lang);
  return values.value === '' ? {} : { type: 'SimpleSpeech', values };
}

export interface ResponseOptions {
  version: string;
  speech?: OutputSpeech;
  reprompt?: OutputSpeech;
  sessionAttributes?: Record<string, unknown>;
  shouldEndSession: boolean;
}

/** A CEK response: `version` echoed, `card: {}` and `directives: []` always present. */
export function cekResponse(o: ResponseOptions): CekResponseBody {
  const body: CekResponseBody = {
    version: o.version,
    sessionAttributes: o.shouldEndSession ? {} : (o.sessionAttributes ?? {}),
    response: {
      outputSpeech: o.speech ?? {},
      card: {},
      directives: [],
      shouldEndSession: o.shouldEndSession,
    },
  };
  if (o.reprompt !== undefined && !o.shouldEndSession) body.response.reprompt = { outputSpeech: o.reprompt };
  return body;
}

/** An empty acknowledgement (events, SessionEndedRequest): nothing said, session ended. */
export function acknowledgement(version: string): CekResponseBody {
  return cekResponse({ version, shouldEndSession: true });
}
