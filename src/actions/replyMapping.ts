import { TextDecoder } from 'node:util';
import { cekResponse, fitSpeechText, SPEECH_LIMITS } from '../cek/response.js';
import type { CekResponseBody, OutputSpeech, SpeechInfo, SpeechLang } from '../cek/types.js';
import { tooDeepAt } from '../http/jsonLimits.js';

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface ReplyContext {
  /** The request's `version`, echoed. */
  version: string;
  /** The extension's language: speech in the short forms, and PlainText items without a valid `lang`. */
  lang: SpeechLang;
}

/**
 * Maps a target's 2xx reply to a CEK response, or `undefined` when it is none of the accepted
 * forms (the caller then speaks the extension's `error` message):
 * - a CEK response (a JSON object with a `response` object): normalised, see `normaliseCekResponse`;
 * - `{"speech": "...", "endSession"?: boolean, "sessionAttributes"?: {}}`: SimpleSpeech;
 * - `text/plain`: the text as SimpleSpeech, session ended.
 * JSON nested deeper than MAX_JSON_DEPTH is none of them.
 */
export function mapReply(contentType: string, body: Buffer, rc: ReplyContext): CekResponseBody | undefined {
  const { mime, charset } = parseContentType(contentType);
  if (mime === 'text/plain') {
    const text = decode(body, charset);
    if (text === undefined) return undefined;
    return speechResponse(text, true, {}, rc);
  }
  if (mime !== 'application/json' && !(mime.startsWith('application/') && mime.endsWith('+json'))) return undefined;
  const text = decode(body, charset);
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  // Its sessionAttributes, card and directives are passed on to CLOVA as they are.
  if (!isObject(json) || tooDeepAt(json) !== undefined) return undefined;
  if (isObject(json['response'])) return normaliseCekResponse(json, rc);
  const speech = json['speech'];
  if (typeof speech !== 'string') return undefined;
  const endSession = json['endSession'];
  if (endSession !== undefined && typeof endSession !== 'boolean') return undefined;
  const attrs = json['sessionAttributes'];
  return speechResponse(speech, endSession ?? true, isObject(attrs) ? attrs : {}, rc);
}

function speechResponse(text: string, endSession: boolean, sessionAttributes: Obj, rc: ReplyContext): CekResponseBody {
  const value = fitSpeechText(text, rc.lang);
  return cekResponse({
    version: rc.version,
    speech: value === '' ? {} : { type: 'SimpleSpeech', values: { type: 'PlainText', lang: rc.lang, value } },
    sessionAttributes,
    shouldEndSession: endSession,
  });
}

/**
 * Normalises a CEK response from a target so CLOVA never gets garbage: `version` is the request's,
 * `sessionAttributes` an object, `card` an object, `directives` an array of directive objects,
 * `shouldEndSession` a boolean (default true); every PlainText value fitted to CEK's limits (200
 * characters a sentence, 1000 in all), URL speech with `lang: ""` and at most 2048 bytes. What is
 * invalid is dropped, not passed on.
 */
export function normaliseCekResponse(json: Obj, rc: ReplyContext): CekResponseBody {
  const r = json['response'] as Obj;
  const shouldEndSession = typeof r['shouldEndSession'] === 'boolean' ? r['shouldEndSession'] : true;
  const attrs = json['sessionAttributes'];
  const body: CekResponseBody = {
    version: rc.version,
    sessionAttributes: isObject(attrs) ? attrs : {},
    response: {
      outputSpeech: normaliseSpeech(r['outputSpeech'], rc.lang),
      card: isObject(r['card']) ? r['card'] : {},
      directives: Array.isArray(r['directives']) ? r['directives'].filter(isDirective) : [],
      shouldEndSession,
    },
  };
  const reprompt = r['reprompt'];
  if (!shouldEndSession && isObject(reprompt)) {
    const speech = normaliseSpeech(reprompt['outputSpeech'], rc.lang);
    if ('type' in speech) body.response.reprompt = { outputSpeech: speech };
  }
  return body;
}

function isDirective(d: unknown): boolean {
  if (!isObject(d) || !isObject(d['header'])) return false;
  const h = d['header'];
  return typeof h['namespace'] === 'string' && h['namespace'] !== '' && typeof h['name'] === 'string' && h['name'] !== '';
}

function normaliseSpeech(value: unknown, lang: SpeechLang): OutputSpeech {
  if (!isObject(value)) return {};
  switch (value['type']) {
    case 'SimpleSpeech': {
      const info = normaliseInfo(value['values'], lang);
      return info === undefined ? {} : { type: 'SimpleSpeech', values: info };
    }
    case 'SpeechList': {
      const list = normaliseList(value['values'], lang);
      return list.length === 0 ? {} : { type: 'SpeechList', values: list };
    }
    case 'SpeechSet': {
      const brief = normaliseInfo(value['brief'], lang);
      const verbose = value['verbose'];
      if (brief === undefined || !isObject(verbose)) return {};
      if (verbose['type'] === 'SimpleSpeech') {
        const info = normaliseInfo(verbose['values'], lang);
        return info === undefined ? {} : { type: 'SpeechSet', brief, verbose: { type: 'SimpleSpeech', values: info } };
      }
      if (verbose['type'] === 'SpeechList') {
        const list = normaliseList(verbose['values'], lang);
        return list.length === 0 ? {} : { type: 'SpeechSet', brief, verbose: { type: 'SpeechList', values: list } };
      }
      return {};
    }
    default:
      return {};
  }
}

function normaliseList(values: unknown, lang: SpeechLang): SpeechInfo[] {
  if (!Array.isArray(values)) return [];
  const out: SpeechInfo[] = [];
  for (const v of values) {
    const info = normaliseInfo(v, lang);
    if (info !== undefined) out.push(info);
  }
  return out;
}

const LANGS: ReadonlySet<string> = new Set(['ko', 'en', 'ja']);

function normaliseInfo(value: unknown, fallbackLang: SpeechLang): SpeechInfo | undefined {
  if (!isObject(value) || typeof value['value'] !== 'string') return undefined;
  const token = value['token'];
  const extra: Partial<SpeechInfo> = {};
  if (typeof token === 'string' && token !== '' && Buffer.byteLength(token) <= SPEECH_LIMITS.urlBytes) extra.token = token;
  if (value['type'] === 'PlainText') {
    const lang = typeof value['lang'] === 'string' && LANGS.has(value['lang']) ? (value['lang'] as SpeechLang) : fallbackLang;
    const text = fitSpeechText(value['value'], lang);
    return text === '' ? undefined : { type: 'PlainText', lang, value: text, ...extra };
  }
  if (value['type'] === 'URL') {
    const url = value['value'].trim();
    if (Buffer.byteLength(url) > SPEECH_LIMITS.urlBytes || !/^https?:\/\//i.test(url) || !URL.canParse(url)) return undefined;
    const contentType = value['contentType'];
    if (typeof contentType === 'string' && contentType !== '' && contentType.length <= 100) extra.contentType = contentType;
    return { type: 'URL', lang: '', value: url, ...extra };
  }
  return undefined;
}

/**
 * Puts `text` (the `loginSuccess` message) before the speech as a sentence of its own, limits
 * still enforced: merged into a lone PlainText value, otherwise a PlainText item in front.
 */
export function prependSentence(speech: OutputSpeech, text: string, lang: SpeechLang): OutputSpeech {
  const sentence = endSentence(text.trim(), lang);
  if (sentence === '') return speech;
  const info = (value: string): SpeechInfo => ({ type: 'PlainText', lang, value: fitSpeechText(value, lang) });
  if (!('type' in speech)) return { type: 'SimpleSpeech', values: info(sentence) };
  switch (speech.type) {
    case 'SimpleSpeech': {
      const v = speech.values;
      if (v.type === 'PlainText')
        return { type: 'SimpleSpeech', values: { ...v, lang: v.lang === '' ? lang : v.lang, value: fitSpeechText(joinSentences(sentence, v.value, lang), v.lang === '' ? lang : v.lang) } };
      return { type: 'SpeechList', values: [info(sentence), v] };
    }
    case 'SpeechList':
      return { type: 'SpeechList', values: [info(sentence), ...speech.values] };
    case 'SpeechSet': {
      const verbose = speech.verbose;
      return {
        type: 'SpeechSet',
        brief: speech.brief,
        verbose: { type: 'SpeechList', values: [info(sentence), ...(verbose.type === 'SpeechList' ? verbose.values : [verbose.values])] },
      };
    }
  }
}

function endSentence(text: string, lang: SpeechLang): string {
  if (text === '' || /[.!?。！？]$/u.test(text)) return text;
  return `${text}${lang === 'ja' ? '。' : '.'}`;
}

function joinSentences(a: string, b: string, lang: SpeechLang): string {
  return lang === 'ja' ? `${a}${b}` : `${a} ${b}`;
}

function parseContentType(value: string): { mime: string; charset: string | undefined } {
  const [type = '', ...params] = value.split(';');
  let charset: string | undefined;
  for (const p of params) {
    const [k, v] = p.split('=');
    if (k?.trim().toLowerCase() === 'charset' && v !== undefined) charset = v.trim().replace(/^"|"$/g, '').toLowerCase();
  }
  return { mime: type.trim().toLowerCase(), charset };
}

const decoders = new Map<string, TextDecoder>();

/** Decodes a body in its declared charset (UTF-8 by default); `undefined` when it is not valid in it or the charset is unknown. */
function decode(body: Buffer, charset: string | undefined): string | undefined {
  const label = charset ?? 'utf-8';
  try {
    let decoder = decoders.get(label);
    if (decoder === undefined) {
      decoder = new TextDecoder(label, { fatal: true });
      // Labels come from targets: keep the cache small.
      if (decoders.size < 32) decoders.set(label, decoder);
    }
    return decoder.decode(body);
  } catch {
    return undefined;
  }
}
