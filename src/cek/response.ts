import type { CekResponseBody, OutputSpeech, SpeechInfo, SpeechLang } from './types.js';

/** Speech limits of docs/cek-protocol.md section 3.1. */
export const SPEECH_LIMITS = { sentence: 200, total: 1000, urlBytes: 2048 } as const;

// Sentences end at . ! ? followed by whitespace (so "3.5" stays whole), or right after 。！？.
const SENTENCE_BREAK = /(?<=[.!?])\s+|(?<=[。！？])/u;

/**
 * Fits plain text to CEK's limits: at most 200 characters per sentence and 1000 in all. A longer
 * sentence is split at the last space (or comma) before the limit and ended there; text beyond
 * 1000 characters is dropped at a sentence boundary. Characters are code points, not UTF-16 units.
 *
 * Work stops once the 1000 are reached, and a long sentence is never copied whole per piece: a
 * target may reply 256 KiB of text without a space, which cost seconds of CPU when each 200-character
 * piece re-split the rest of it.
 */
export function fitSpeechText(text: string, lang: SpeechLang | ''): string {
  const stop = lang === 'ja' ? '。' : '.';
  const sep = lang === 'ja' ? '' : ' ';
  let out = '';
  let outLength = 0;
  /** Appends one sentence; false once it does not fit (and nothing after it is wanted). */
  const add = (sentence: string): boolean => {
    const length = out === '' ? codePoints(sentence) : outLength + sep.length + codePoints(sentence);
    if (length > SPEECH_LIMITS.total) return false;
    out = out === '' ? sentence : `${out}${sep}${sentence}`;
    outLength = length;
    return true;
  };
  const normalized = text.replace(/\s+/gu, ' ').trim();
  for (const part of normalized.split(SENTENCE_BREAK)) {
    let s = part.trim();
    while (longerThan(s, SPEECH_LIMITS.sentence)) {
      const head = s.slice(0, utf16Index(s, SPEECH_LIMITS.sentence - 1));
      const cut = Math.max(head.lastIndexOf(' '), head.lastIndexOf(','), head.lastIndexOf('、'));
      const piece = cut > SPEECH_LIMITS.sentence / 2 ? head.slice(0, cut) : head;
      if (!add(`${piece.replace(/[,、\s]+$/u, '')}${stop}`)) return out;
      s = s.slice(piece.length).replace(/^[,、\s]+/u, '');
    }
    if (s !== '' && !add(s)) return out;
  }
  return out;
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** More than `max` code points, looking at no more than max + 1 of them. */
function longerThan(s: string, max: number): boolean {
  if (s.length <= max) return false;
  let n = 0;
  for (const _ of s) if (++n > max) return true;
  return false;
}

/** The UTF-16 index just after the first `count` code points of `s`. */
function utf16Index(s: string, count: number): number {
  let i = 0;
  let n = 0;
  for (const c of s) {
    if (n === count) break;
    i += c.length;
    n++;
  }
  return i;
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
