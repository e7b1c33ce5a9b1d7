/**
 * A rough estimate of how guessable a configured secret is, to refuse the obviously weak ones
 * (`aaaa…`, an all-zero key, `0123…`, `abab…`) at start-up. It is an upper bound from the text
 * alone, not a measure of how the secret was made: a random value passes with a wide margin
 * (24 random hex characters: at least 53 bits in 200,000 draws; a random 32-byte key: at least 140).
 *
 * Estimate: the Shannon entropy of the symbol frequencies, times the number of free choices: a
 * symbol that continues a run or a step (`aaa`, `abc`, `987`) or a keyboard walk (`qwerty`) adds
 * nothing; a repeat of an earlier stretch (`adminadmin`) or a word every guesser tries first
 * (`password`, `secret`, `admin`, `changeme`) counts as one choice.
 */
export function estimatedEntropyBits(secret: string | Buffer): number {
  const symbols = typeof secret === 'string' ? Array.from(secret, (c) => c.codePointAt(0) ?? 0) : [...secret];
  if (symbols.length === 0) return 0;
  const counts = new Map<number, number>();
  for (const s of symbols) counts.set(s, (counts.get(s) ?? 0) + 1);
  let perSymbol = 0;
  for (const c of counts.values()) {
    const p = c / symbols.length;
    perSymbol -= p * Math.log2(p);
  }
  const lower = typeof secret === 'string' ? secret.toLowerCase() : undefined;
  let free = 0;
  for (let i = 0; i < symbols.length;) {
    // A word every guesser tries first, or a repeat of what came before: one choice, not one per letter.
    const covered = Math.max(lower === undefined ? 0 : commonWordAt(lower, i), repeatAt(symbols, i));
    if (covered > 0) {
      free++;
      i += covered;
      continue;
    }
    const step = (symbols[i] ?? 0) - (symbols[i - 1] ?? 0);
    const previous = i > 1 ? (symbols[i - 1] ?? 0) - (symbols[i - 2] ?? 0) : Number.NaN;
    // A walk is three keys in a row or more: one neighbouring pair happens by chance in random text.
    const walk = i > 1 && isKeyboardStep(symbols[i - 1] ?? 0, symbols[i] ?? 0) && isKeyboardStep(symbols[i - 2] ?? 0, symbols[i - 1] ?? 0);
    if (i === 0 || !((Math.abs(step) <= 1 && step === previous) || walk)) free++;
    i++;
  }
  return free * perSymbol;
}

/** Words found in guessed and default secrets (`my-super-secret-admin-token`, `changeme`): each counts as one choice. */
const COMMON_WORDS = ['password', 'passwd', 'secret', 'changeme', 'admin', 'token', 'super', 'default', 'letmein', 'welcome', 'master', 'qwerty', 'example', 'test', 'clova', 'gateway'];

function commonWordAt(text: string, i: number): number {
  for (const w of COMMON_WORDS) if (text.startsWith(w, i)) return w.length;
  return 0;
}

/** The length of the longest run of 3 or more symbols at `i` that already occurred before `i` (0 if none). */
function repeatAt(symbols: readonly number[], i: number): number {
  let best = 0;
  for (let start = 0; start < i; start++) {
    let n = 0;
    while (i + n < symbols.length && start + n < i && symbols[start + n] === symbols[i + n]) n++;
    if (n > best) best = n;
  }
  return best >= 3 ? best : 0;
}

const KEYBOARD_ROWS = ['1234567890', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm'];

/** `b` follows `a` along a keyboard row (either way): `qwerty`, `asdf`, `poiu` are walks, not choices. */
function isKeyboardStep(a: number, b: number): boolean {
  const x = String.fromCodePoint(a).toLowerCase();
  const y = String.fromCodePoint(b).toLowerCase();
  for (const row of KEYBOARD_ROWS) {
    const i = row.indexOf(x);
    if (i >= 0 && (row[i + 1] === y || row[i - 1] === y)) return true;
  }
  return false;
}

/** The least estimated entropy of `ADMIN_TOKEN` in production. */
export const MIN_TOKEN_BITS = 48;
/** The least estimated entropy of `ENCRYPTION_KEY`'s 32 bytes in production. */
export const MIN_KEY_BITS = 64;
