import { DEFAULT_MESSAGES, fillLoginPrompt, MessagePicker } from '../../src/extensions/messages.js';

describe('fillLoginPrompt', () => {
  test('fills {url} and {code}, every occurrence', () => {
    expect(fillLoginPrompt('Open {url} and enter {code}. Again: {code}.', { url: 'https://x.example/link', code: '1 2 3' })).toBe('Open https://x.example/link and enter 1 2 3. Again: 1 2 3.');
  });

  test('without a code the placeholder goes, and the space it leaves before punctuation', () => {
    expect(fillLoginPrompt(DEFAULT_MESSAGES.en.loginPrompt, { url: 'https://x.example/link', code: undefined })).toBe(
      'To use this, please link your account. On your phone, open https://x.example/link and enter the code.',
    );
    expect(fillLoginPrompt('コード {code} 。', { url: 'u', code: undefined })).toBe('コード。');
  });

  test('with a code, spacing is left as written', () => {
    expect(fillLoginPrompt('code {code} .', { url: 'u', code: '1' })).toBe('code 1 .');
  });
});

describe('MessagePicker', () => {
  const picker = (seed?: number) => new MessagePicker('ko', { welcome: ['w1', 'w2'], error: '오류' }, { 'ja-JP': { welcome: 'ようこそ' }, 'en-US': {} }, seed);

  test('a declared locale: its own message, else its language’s default, in its language', () => {
    expect(picker().pick('welcome', 'ja-JP')).toEqual({ text: 'ようこそ', lang: 'ja' });
    expect(picker().pick('error', 'ja-JP')).toEqual({ text: DEFAULT_MESSAGES.ja.error, lang: 'ja' });
    expect(picker().pick('loginPrompt', 'en-US')).toEqual({ text: DEFAULT_MESSAGES.en.loginPrompt, lang: 'en' });
  });

  test('an undeclared or unknown locale: the extension’s language, with the override standing in for its message', () => {
    expect(picker().pick('error', 'fr-FR')).toEqual({ text: '오류', lang: 'ko' });
    expect(picker().pick('error', undefined, 'custom')).toEqual({ text: 'custom', lang: 'ko' });
    expect(picker().pick('fallback', 'ko-KR')).toEqual({ text: DEFAULT_MESSAGES.ko.fallback, lang: 'ko' });
    expect(picker().langFor('ja-JP')).toBe('ja');
    expect(picker().langFor('zh-CN')).toBe('ko');
  });

  test('variants: round-robin from the seed, per key and locale; random ones are always one of them', () => {
    const p = picker(1);
    expect([p.pick('welcome', 'ko-KR').text, p.pick('welcome', 'ko-KR').text, p.pick('welcome', undefined).text]).toEqual(['w2', 'w1', 'w2']);
    const r = picker();
    for (let i = 0; i < 50; i++) expect(['w1', 'w2']).toContain(r.pick('welcome', undefined).text);
  });
});
