import type { SpeechLang } from '../cek/types.js';

export const MESSAGE_KEYS = ['welcome', 'fallback', 'error', 'loginPrompt', 'loginSuccess'] as const;
export type MessageKey = (typeof MESSAGE_KEYS)[number];
export type Messages = Record<MessageKey, string>;

/**
 * What an extension says when its developer has not written its own words, per language.
 * `loginPrompt` has `{url}` and `{code}` placeholders, filled in by account linking.
 */
export const DEFAULT_MESSAGES: Readonly<Record<SpeechLang, Messages>> = {
  ko: {
    welcome: '안녕하세요. 무엇을 도와드릴까요?',
    fallback: '죄송해요, 잘 이해하지 못했어요. 다시 말씀해 주시겠어요?',
    error: '죄송해요, 지금은 요청을 처리할 수 없어요. 잠시 후 다시 시도해 주세요.',
    loginPrompt: '이 기능을 사용하려면 계정 연결이 필요해요. 휴대폰에서 {url} 에 접속해서 코드 {code} 를 입력해 주세요.',
    loginSuccess: '계정이 연결되었어요. 이제 모든 기능을 사용할 수 있어요.',
  },
  en: {
    welcome: 'Hello. What can I do for you?',
    fallback: "Sorry, I didn't catch that. Could you say it again?",
    error: 'Sorry, something went wrong. Please try again in a moment.',
    loginPrompt: 'To use this, please link your account. On your phone, open {url} and enter the code {code}.',
    loginSuccess: 'Your account is now linked. You are all set.',
  },
  ja: {
    welcome: 'こんにちは。何をお手伝いしましょうか？',
    fallback: 'すみません、よく聞き取れませんでした。もう一度お願いします。',
    error: 'すみません、ただいま処理できません。しばらくしてからもう一度お試しください。',
    loginPrompt: 'この機能を使うにはアカウント連携が必要です。スマートフォンで {url} を開いて、コード {code} を入力してください。',
    loginSuccess: 'アカウントを連携しました。すべての機能が使えます。',
  },
};

/** The locales CEK requests carry (`request.locale`) and the speech language of each. */
export const LOCALE_LANGUAGES = { 'ko-KR': 'ko', 'en-US': 'en', 'ja-JP': 'ja' } as const satisfies Record<string, SpeechLang>;
export type Locale = keyof typeof LOCALE_LANGUAGES;
export const LOCALES = Object.keys(LOCALE_LANGUAGES) as Locale[];

/** A message as the developer writes it: one text, or variants of which one is spoken each time. */
export type MessageText = string | readonly string[];
export type MessageSet = Partial<Record<MessageKey, MessageText>>;

/** What to say, and in which speech language. */
export interface Speakable {
  text: string;
  lang: SpeechLang;
}

const isLocale = (value: string): value is Locale => Object.hasOwn(LOCALE_LANGUAGES, value);
const firstOf = (m: MessageText): string => (typeof m === 'string' ? m : (m[0] ?? ''));

/** The developer's own messages over the defaults of the extension's language (first variant of each). */
export function resolveMessages(language: SpeechLang, overrides: MessageSet): Messages {
  const out = { ...DEFAULT_MESSAGES[language] };
  for (const key of MESSAGE_KEYS) {
    const own = overrides[key];
    if (own !== undefined) out[key] = firstOf(own);
  }
  return out;
}

/**
 * An extension's messages as the request path picks them (issue 17): the request's locale when the
 * extension declares messages for it (a key it leaves out is that locale's default), else the
 * extension's own language. A list of variants gives one at random, or round-robin from `seed`
 * (repeatable, for tests). `override` is a text that stands in for the extension-language message
 * (account linking's own prompt and success texts).
 */
export class MessagePicker {
  readonly #language: SpeechLang;
  readonly #own: MessageSet;
  readonly #locales: Partial<Record<Locale, MessageSet>>;
  readonly #seed: number | undefined;
  readonly #turns = new Map<string, number>();

  constructor(language: SpeechLang, own: MessageSet, locales: Partial<Record<Locale, MessageSet>> = {}, seed?: number) {
    this.#language = language;
    this.#own = own;
    this.#locales = locales;
    this.#seed = seed;
  }

  /** The speech language of an answer to `locale`: the locale's when the extension declares it, else its own. */
  langFor(locale: string | undefined): SpeechLang {
    return locale !== undefined && isLocale(locale) && this.#locales[locale] !== undefined ? LOCALE_LANGUAGES[locale] : this.#language;
  }

  pick(key: MessageKey, locale: string | undefined, override?: MessageText): Speakable {
    if (locale !== undefined && isLocale(locale)) {
      const set = this.#locales[locale];
      if (set !== undefined) {
        const lang = LOCALE_LANGUAGES[locale];
        return { text: this.#variant(`${locale} ${key}`, set[key] ?? DEFAULT_MESSAGES[lang][key]), lang };
      }
    }
    return { text: this.#variant(key, override ?? this.#own[key] ?? DEFAULT_MESSAGES[this.#language][key]), lang: this.#language };
  }

  #variant(slot: string, m: MessageText): string {
    if (typeof m === 'string') return m;
    if (m.length <= 1) return m[0] ?? '';
    if (this.#seed === undefined) return m[Math.floor(Math.random() * m.length)] ?? '';
    const turn = this.#turns.get(slot) ?? 0;
    this.#turns.set(slot, turn + 1);
    return m[(this.#seed + turn) % m.length] ?? '';
  }
}

/**
 * The login prompt with its placeholders filled: `{url}` the link page, `{code}` the pairing code as
 * it is spoken. Without a code (no pairing possible) the placeholder goes, and so does the space it
 * leaves before punctuation. The admin page's live preview (public/admin.js) does the same split/join.
 */
export function fillLoginPrompt(template: string, fill: { url: string; code: string | undefined }): string {
  const text = template.replaceAll('{url}', fill.url).replaceAll('{code}', fill.code ?? '');
  return fill.code === undefined || fill.code === '' ? text.replace(/\s+([.,!?。、])/gu, '$1') : text;
}
