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

/** The developer's own messages over the defaults of the extension's language. */
export function resolveMessages(language: SpeechLang, overrides: Partial<Messages>): Messages {
  return { ...DEFAULT_MESSAGES[language], ...overrides };
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
