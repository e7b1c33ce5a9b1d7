import { DEFAULT_MESSAGES, fillLoginPrompt } from '../../src/extensions/messages.js';

describe('fillLoginPrompt', () => {
  test('fills {url} and {code}, every occurrence', () => {
    expect(fillLoginPrompt('Open {url} and enter {code}. Again: {code}.', { url: 'https://x.example/link', code: '1 2 3' })).toBe('Open https://x.example/link and enter 1 2 3. Again: 1 2 3.');
  });

  test('without a code the placeholder goes, and the space it leaves before punctuation', () => {
    expect(fillLoginPrompt(DEFAULT_MESSAGES.en.loginPrompt, { url: 'https://x.example/link', code: undefined })).toBe('To use this, please link your account. On your phone, open https://x.example/link and enter the code.');
    expect(fillLoginPrompt('コード {code} 。', { url: 'u', code: undefined })).toBe('コード。');
  });

  test('with a code, spacing is left as written', () => {
    expect(fillLoginPrompt('code {code} .', { url: 'u', code: '1' })).toBe('code 1 .');
  });
});
