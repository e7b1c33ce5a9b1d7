import { z } from 'zod';
import { AppError } from '../http/errors.js';
import type { Logger } from '../http/logger.js';
import { CONTROL_CHARS_MESSAGE, noControlChars, parseInput } from '../http/validate.js';
import type { Pairing } from './pairing.js';
import type { TokenRecord, TokenVault } from './vault.js';

/** Ten years: a test token may be long-lived, but an expiry must still be a date. */
const MAX_EXPIRES_IN = 10 * 365 * 24 * 3600;

/** What an OAuth token may hold here: visible ASCII (RFC 6749's VSCHAR less the space). */
const TOKEN_CHARS = /^[\x21-\x7E]*$/; // empty: "is required" says it
const TOKEN_CHARS_MESSAGE = 'must be visible ASCII without spaces or line breaks (it is sent in an Authorization header)';

/** `POST /api/v1/extensions/:id/test-users` (and the users page's form). */
export const testUserInput = z
  .object({
    userId: z.string().min(1, 'is required').max(256, 'must be at most 256 characters').refine(noControlChars(false), CONTROL_CHARS_MESSAGE),
    // Sent as `Authorization: Bearer <token>`: a header value, so visible ASCII only (no CR/LF, no spaces).
    accessToken: z.string().min(1, 'is required').max(4096, 'must be at most 4096 characters').regex(TOKEN_CHARS, TOKEN_CHARS_MESSAGE),
    refreshToken: z.string().min(1, 'must not be empty').max(4096, 'must be at most 4096 characters').regex(TOKEN_CHARS, TOKEN_CHARS_MESSAGE).optional(),
    expiresIn: z.number().int('must be a whole number of seconds').min(1, 'must be at least 1').max(MAX_EXPIRES_IN, `must be at most ${MAX_EXPIRES_IN} (ten years)`).optional(),
  })
  .strict();

export type TestUserInput = z.infer<typeof testUserInput>;

export interface TestUsersDeps {
  vault: TokenVault;
  pairing: Pairing;
  log: Logger;
}

/**
 * Test users (issue 17): synthetic linked users for the test console and the scenario runner. Their
 * tokens are sealed like real ones and never shown again; they are never refreshed (their token is
 * used as given until it expires) and never revoked at a provider (no provider issued them). A real
 * link never becomes a test user, and a test user is never removed as one through here.
 */
export class TestUsers {
  readonly #d: TestUsersDeps;

  constructor(d: TestUsersDeps) {
    this.#d = d;
  }

  /** Creates (or replaces) a test user; 409 `real_user_linked` when the id has a real link. */
  async create(extensionId: string, body: unknown): Promise<{ created: boolean; userId: string; record: TokenRecord }> {
    const input = parseInput(testUserInput, body);
    const tokens = { accessToken: input.accessToken, ...(input.refreshToken === undefined ? {} : { refreshToken: input.refreshToken }) };
    const expiresAt = input.expiresIn === undefined ? null : Date.now() + input.expiresIn * 1000;
    const written = await this.#d.vault.linkTest(extensionId, input.userId, tokens, expiresAt);
    if (written.result === 'real' || written.record === undefined) {
      throw new AppError('real_user_linked', `${input.userId} has a real link with this extension: a real user is never turned into a test user. Choose another user ID.`);
    }
    // A pairing code handed out to this id before would otherwise link it for real.
    await this.#d.pairing.forget(extensionId, input.userId);
    this.#d.log.info({ extensionId, created: written.result === 'created' }, 'test user stored');
    return { created: written.result === 'created', userId: input.userId, record: written.record };
  }

  /** Removes a test user; 404 `not_found` when the id has no link, 409 `not_test_user` when it has a real one. */
  async remove(extensionId: string, userId: string): Promise<void> {
    const result = await this.#d.vault.removeTest(extensionId, userId);
    if (result === 'none') throw new AppError('not_found', 'That user is not a test user of this extension.');
    if (result === 'real') throw new AppError('not_test_user', 'That user has a real link, not a test one: unlink real users through DELETE /links/:userId.');
    this.#d.log.info({ extensionId }, 'test user removed');
  }

  /** Whether `userId` is a test user of the extension (the test sender asks, to spare their calls usage and quotas). */
  async isTestUser(extensionId: string, userId: string): Promise<boolean> {
    if (userId === '') return false;
    return (await this.#d.vault.record(extensionId, userId))?.test === true;
  }
}
