/**
 * The Redis Cluster hash slot of a key (CRC16/XMODEM of the key, or of its hash tag, mod 16384), as
 * the cluster computes it: keys of one slot may go into one multi-key command (MGET); keys of
 * different slots must not (CROSSSLOT). The hash tag is the text between the first `{` and the
 * first `}` after it, when not empty: `gw:quota:{ext:x}:2025-01-02` and `gw:quota:{ext:x}:2025-01-03`
 * share a slot.
 */
export const SLOTS = 16_384;

const TABLE = ((): Uint16Array => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ b) & 0xff] as number);
  return crc;
}

/** The hash slot of `key` (its UTF-8 bytes, as the server sees them). */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf(0x7b); // {
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % SLOTS;
  }
  return crc16(bytes) % SLOTS;
}
