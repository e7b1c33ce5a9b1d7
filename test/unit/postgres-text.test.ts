import { randomInt } from 'node:crypto';
import { escapeText, unescapeText } from '../../src/store/postgresText.js';

/** Code point order, the order of COLLATE "C" on UTF-8 (and of the other stores). */
function compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const ALPHABET = ['\u0000', '\u0001', '\u0002', 'a', 'b', '\uffff', '😀'];
const randomText = (): string => Array.from({ length: randomInt(0, 6) }, () => ALPHABET[randomInt(0, ALPHABET.length)]).join('');

describe('the stored form of PostgreSQL keys and values', () => {
  test('has no U+0000, round-trips, and leaves other strings as they are', () => {
    for (const s of ['', 'plain', '\u0000', '\u0001', '\u0001\u0001', 'a\u0000\u0001b\u0002']) {
      expect(escapeText(s)).not.toContain('\u0000');
      expect(unescapeText(escapeText(s))).toBe(s);
    }
    expect(escapeText('link:com.example:user-1')).toBe('link:com.example:user-1');
  });

  test('keeps order, prefixes and equality of 2,000 random pairs', () => {
    for (let i = 0; i < 2_000; i++) {
      const a = randomText();
      const b = randomText();
      const [ea, eb] = [escapeText(a), escapeText(b)];
      expect(Math.sign(compare(ea, eb))).toBe(Math.sign(compare(a, b)));
      expect(ea.startsWith(eb)).toBe(a.startsWith(b));
      expect(ea === eb).toBe(a === b);
    }
  });
});
