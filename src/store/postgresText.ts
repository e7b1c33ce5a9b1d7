// PostgreSQL `text` cannot hold U+0000, which the other stores keep like any character (a key is
// built from ids that come from requests). Keys and values are therefore stored with an escape that
// keeps order and prefixes: U+0000 → U+0001 U+0001, U+0001 → U+0001 U+0002, everything else as is.
// The codes form a prefix-free set ordered like the characters they stand for, so escaped strings
// compare (byte order, COLLATE "C") and start with one another exactly as the originals do; equality
// is kept too, which compare-and-set relies on.

const NUL = '\u0000';
const ESC = '\u0001';

/** The stored form of a key or value. */
export function escapeText(s: string): string {
  if (!s.includes(NUL) && !s.includes(ESC)) return s;
  // U+0001 first: the codes for U+0000 contain it.
  return s.replaceAll(ESC, `${ESC}\u0002`).replaceAll(NUL, `${ESC}${ESC}`);
}

/** The original of a stored key or value. */
export function unescapeText(s: string): string {
  if (!s.includes(ESC)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === ESC) {
      i++;
      out += s[i] === ESC ? NUL : ESC;
    } else {
      out += c;
    }
  }
  return out;
}
