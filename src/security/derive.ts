import { hkdfSync } from 'node:crypto';

/**
 * Every key derived from the encryption key, by use. Each use gets its own key (HKDF-SHA256, RFC
 * 5869, info `cek-gateway <use>`), so a value computed for one use (a pairing code's hash, a link
 * ticket's signature, a CSRF token) is worthless for another, and none reveals the encryption key.
 * Adding a use is adding a label here; changing a label changes its key (values made under the
 * old one stop verifying).
 */
export const DERIVED_KEY_USES = ['pairing codes', 'link tickets', 'admin session tag', 'csrf pre-session forms'] as const;
export type DerivedKeyUse = (typeof DERIVED_KEY_USES)[number];

/** The 32-byte key for `use`, derived from `master` (the current encryption key). */
export function deriveKey(master: Buffer, use: DerivedKeyUse): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `cek-gateway ${use}`, 32));
}
