/**
 * The one place the service trusts the shape of stored JSON: records it wrote itself, through the
 * owners' own types (the store holds nothing written by anyone else). Reading a record back is then
 * `decodeRecord<TokenRecord>(raw)` instead of a cast at every read.
 */
export function decodeRecord<T>(raw: string): T {
  return JSON.parse(raw) as T;
}
