import { errors, jwtVerify, SignJWT } from 'jose';
import { randomToken } from '../security/random.js';
import type { Store } from '../store/store.js';
import { keyOf } from '../store/keys.js';

export type TicketPurpose = 'link' | 'unlink';

export interface Ticket {
  extensionId: string;
  userId: string;
  purpose: TicketPurpose;
  jti: string;
  exp: number;
}

const ISSUER = 'cek-gateway';

/**
 * Signed one-time links (HS256 JWTs under a key derived from the encryption key): `link` tickets
 * minted by the admin API for apps that deliver the link themselves, and `unlink` tickets behind the
 * success page's "unlink" link. Single use: the first redemption records the ticket id until expiry.
 */
export class Tickets {
  readonly #key: Uint8Array;
  readonly #store: Store;

  constructor(store: Store, key: Buffer) {
    this.#store = store;
    this.#key = new Uint8Array(key);
  }

  async mint(extensionId: string, userId: string, purpose: TicketPurpose, ttlSeconds: number): Promise<{ token: string; expiresAt: number }> {
    const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
    const token = await new SignJWT({ ext: extensionId, pur: purpose })
      .setProtectedHeader({ alg: 'HS256', typ: 'cekgw-ticket' })
      .setIssuer(ISSUER)
      .setSubject(userId)
      .setJti(randomToken(16))
      .setExpirationTime(exp)
      .setIssuedAt()
      .sign(this.#key);
    return { token, expiresAt: exp * 1000 };
  }

  /** Verifies without using it up (to show a confirmation page). */
  async peek(token: string, purpose: TicketPurpose): Promise<Ticket | undefined> {
    if (token.length > 4096) return undefined;
    try {
      const { payload } = await jwtVerify(token, this.#key, { issuer: ISSUER, algorithms: ['HS256'], typ: 'cekgw-ticket' });
      const { ext, pur, sub, jti, exp } = payload as { ext?: unknown; pur?: unknown; sub?: unknown; jti?: unknown; exp?: unknown };
      if (pur !== purpose || typeof ext !== 'string' || typeof sub !== 'string' || typeof jti !== 'string' || typeof exp !== 'number') return undefined;
      return { extensionId: ext, userId: sub, purpose, jti, exp };
    } catch (err) {
      if (err instanceof errors.JOSEError) return undefined;
      throw err;
    }
  }

  /** Verifies and uses up a ticket: the second redemption gets `undefined`. */
  async redeem(token: string, purpose: TicketPurpose): Promise<Ticket | undefined> {
    const t = await this.peek(token, purpose);
    if (t === undefined) return undefined;
    const ttl = Math.max(1000, t.exp * 1000 - Date.now());
    return (await this.#store.setIfAbsent(keyOf('usedTicket', t.jti), '1', ttl)) ? t : undefined;
  }
}
