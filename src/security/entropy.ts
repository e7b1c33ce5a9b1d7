/**
 * A rough estimate of how guessable a configured secret is, to refuse the obviously weak ones
 * (`aaaa…`, an all-zero key, `0123…`, `abab…`) at start-up. It is an upper bound from the text
 * alone, not a measure of how the secret was made: a random value passes with a wide margin
 * (24 random hex characters: at least 53 bits in 200,000 draws; a random 32-byte key: at least 140).
 *
 * Estimate: the Shannon entropy of the symbol frequencies, times the number of symbols that are
 * not the continuation of a run or a step (`aaa`, `abc`, `987`: a symbol that repeats the previous
 * difference of 0 or ±1 adds nothing).
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
  let free = 1;
  for (let i = 1; i < symbols.length; i++) {
    const step = (symbols[i] ?? 0) - (symbols[i - 1] ?? 0);
    const previous = i > 1 ? (symbols[i - 1] ?? 0) - (symbols[i - 2] ?? 0) : Number.NaN;
    if (!(Math.abs(step) <= 1 && step === previous)) free++;
  }
  return free * perSymbol;
}

/** The least estimated entropy of `ADMIN_TOKEN` in production. */
export const MIN_TOKEN_BITS = 48;
/** The least estimated entropy of `ENCRYPTION_KEY`'s 32 bytes in production. */
export const MIN_KEY_BITS = 64;
