/**
 * URLs as messages and logs may show them. A store URL may carry a password (`user:password@`, or
 * libpq's `?password=`), and a network error may quote a URL it was given (a proxy's, when Node
 * takes one from `HTTPS_PROXY`, credentials included): none of that may be printed.
 */

/**
 * `url` with its password replaced by `***`, in the authority and in a `password` query parameter
 * (libpq takes one). The user name stays: it tells which account a failure is about. `invalid` when
 * `url` does not parse, since then nothing says where its password is.
 */
export function redactUrl(url: string, invalid = '<invalid URL>'): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.toString();
  } catch {
    return invalid;
  }
}

/**
 * `text` (an error's message) with the user and password of every `scheme://user:password@host` in
 * it replaced by `***`. Up to the last `@` before the host's end, as URL parsers read it, so a
 * password with an `@` in it is hidden whole.
 */
export function redactUrlsIn(text: string): string {
  return text.replace(/\b([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^\s/?#]*@/g, '$1***@');
}

/**
 * A user or password before the host: `http://user:pw@host`, and also `user:pw@host:3000` typed
 * without a scheme (a URL parser reads that as the scheme `user:`, with no credentials at all).
 */
const USER_INFO = /^(?:[A-Za-z][A-Za-z0-9+.-]*:\/\/)?[^/?#]*@/;

/** True when `url`, as typed, names a user or password before its host (see USER_INFO): test it before any message quotes `url`. */
export function hasUserInfo(url: string): boolean {
  return USER_INFO.test(url);
}
