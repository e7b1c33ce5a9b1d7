import { hasUserInfo, redactUrl, redactUrlsIn } from '../../src/security/redactUrl.js';

describe('redactUrl', () => {
  test('hides the password, in the authority and as a password query parameter; keeps the user', () => {
    expect(redactUrl('postgres://app:hunter2@db:5432/cek')).toBe('postgres://app:***@db:5432/cek');
    expect(redactUrl('redis://:hunter2@h:6379/2')).toBe('redis://:***@h:6379/2');
    expect(redactUrl('postgres://db/cek?user=app&password=hunter2')).toBe('postgres://db/cek?user=app&password=***');
    expect(redactUrl('https://cek.example.com/api')).toBe('https://cek.example.com/api');
  });

  test('a password with an encoded @ is hidden whole; what does not parse is not shown at all', () => {
    expect(redactUrl('redis://app:s%40cret@h:6379')).toBe('redis://app:***@h:6379');
    expect(redactUrl('not a url hunter2')).toBe('<invalid URL>');
    expect(redactUrl('not a url hunter2', '<invalid Redis URL>')).toBe('<invalid Redis URL>');
  });
});

describe('redactUrlsIn', () => {
  test('hides the user and password of every URL in a message, up to the last @ before the host', () => {
    expect(redactUrlsIn('Request cannot be constructed from a URL that includes credentials: http://admin:hunter2@127.0.0.1:1/api/v1/extensions')).toBe(
      'Request cannot be constructed from a URL that includes credentials: http://***@127.0.0.1:1/api/v1/extensions',
    );
    expect(redactUrlsIn('proxy http://u:p@ss@proxy:8080 and https://tok@host refused')).toBe('proxy http://***@proxy:8080 and https://***@host refused');
  });

  test('leaves an @ after the host, and text without a URL, as it is', () => {
    expect(redactUrlsIn('GET https://host/users/@me?by=a@b failed')).toBe('GET https://host/users/@me?by=a@b failed');
    expect(redactUrlsIn('connect ECONNREFUSED 127.0.0.1:6379')).toBe('connect ECONNREFUSED 127.0.0.1:6379');
  });
});

describe('hasUserInfo', () => {
  test('a user or password before the host, also typed without a scheme', () => {
    for (const url of ['http://user:pw@host', 'https://:pw@host/x', 'https://token@host', 'user:pw@host:3000', 'ftp://u:p@ss@host']) expect(hasUserInfo(url)).toBe(true);
  });

  test('an @ after the host, or none at all, is no credential', () => {
    for (const url of ['https://host/@me', 'https://host/x?by=a@b', 'https://host#a@b', 'host:3000/@x', 'http://localhost:3000']) expect(hasUserInfo(url)).toBe(false);
  });
});
