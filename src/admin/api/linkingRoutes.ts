import type { Router } from 'express';
import { z } from 'zod';
import type { ExtensionRegistry } from '../../extensions/registry.js';
import { AppError } from '../../http/errors.js';
import { parseInput, wholeNumberParam } from '../../http/validate.js';
import { LinkFailure } from '../../linking/failures.js';
import { FUNNEL_MAX_DAYS } from '../../linking/funnel.js';
import { formatMisconfiguration } from '../../linking/health.js';
import { formatLinkingState, formatLinkState } from '../../linking/linkStates.js';
import type { LinkingService } from '../../linking/service.js';
import { formatSettings, settingsOf } from '../../linking/settings.js';
import type { TokenRecord } from '../../linking/vault.js';
import { MAX_PAGE } from '../../store/store.js';
import { adminRouter } from '../pathParams.js';

const ticketInput = z.object({ userId: z.string().trim().min(1, 'is required').max(256) }).strict();

const DEFAULT_LINKS_PAGE = 100;
const DEFAULT_FUNNEL_DAYS = 30;

const linksQuery = z
  .object({
    limit: wholeNumberParam(1, MAX_PAGE, DEFAULT_LINKS_PAGE),
    after: z.string().min(1, 'must not be empty').max(1024, 'must be at most 1024 characters').optional(),
  })
  .strict();

const funnelQuery = z
  .object({
    days: wholeNumberParam(1, FUNNEL_MAX_DAYS, DEFAULT_FUNNEL_DAYS),
  })
  .strict();

function formatLink(userId: string, r: TokenRecord) {
  return {
    userId,
    status: r.status,
    linkedAt: r.linkedAt,
    refreshedAt: r.refreshedAt,
    expiresAt: r.expiresAt === null ? null : new Date(r.expiresAt).toISOString(),
    scope: r.scope,
    brokenReason: r.brokenReason ?? null,
    // A synthetic link of the test-users API: left out of usage, quotas and the linking funnel.
    test: r.test === true,
  };
}

/** A user who unlinked, in the shape of a link (every field of formatLink): the token's facts went with the link. */
function formatUnlinked(userId: string) {
  return {
    userId,
    status: 'unlinked',
    linkedAt: null,
    refreshedAt: null,
    expiresAt: null,
    scope: null,
    brokenReason: null,
    // Test users leave no history (they emit no lifecycle events): one known by its history was a real user.
    test: false,
  } satisfies Record<keyof ReturnType<typeof formatLink>, unknown>;
}

/** Server settings, linked users and link tickets (DESIGN.md section 7). Tokens and the client secret never leave. */
export function linkingAdminRoutes(registry: ExtensionRegistry, linking: LinkingService, o: { publicUrl: string }): Router {
  const router = adminRouter();

  router.get('/extensions/:id/account-linking', async (req, res) => {
    const ext = await registry.get(req.params['id']);
    res.json({ ...formatSettings(settingsOf(ext), ext, o.publicUrl), misconfigured: formatMisconfiguration(await linking.misconfiguration(ext)) });
  });

  /** Merge semantics: an omitted field keeps its value, `null` clears it; `clientSecret` is write-only. */
  router.put('/extensions/:id/account-linking', async (req, res) => {
    const { extension, settings } = await linking.saveSettings(req.params['id'], req.body);
    // Saving clears the misconfigured mark: the next refresh tells whether the new settings work.
    res.json({ ...formatSettings(settings, extension, o.publicUrl), misconfigured: null });
  });

  /** A page of linked users in user id order: `?limit=` (1-1000, default 100) and `?after=<next of the previous page>`. */
  router.get('/extensions/:id/links', async (req, res) => {
    const id = req.params['id'];
    await registry.get(id); // 404 before 400
    const query = parseInput(linksQuery, req.query, 'invalid_query');
    const page = await linking.links(id, { after: query.after, limit: query.limit });
    res.json({ links: page.links.map((l) => formatLink(l.userId, l.record)), next: page.next ?? null });
  });

  /**
   * One user's link with its state and history (newest first). A user who unlinked has no link but
   * still a history (90 days): answered with `status: "unlinked"`; 404 only for one who never linked.
   */
  router.get('/extensions/:id/links/:userId', async (req, res) => {
    const ext = await registry.get(req.params['id']);
    const userId = req.params['userId'];
    const [record, state] = await Promise.all([linking.linkRecord(ext.extensionId, userId), linking.linkState(ext.extensionId, userId)]);
    if (record === undefined && state === undefined) throw new AppError('not_found', 'That user has never linked with this extension.');
    const history = state === undefined ? { state: record?.status ?? 'unlinked', reason: record?.brokenReason ?? null, since: record?.linkedAt ?? null, history: [] } : formatLinkState(state);
    if (record !== undefined) {
      res.json({ ...formatLink(userId, record), ...history, state: record.status });
      return;
    }
    res.json({ ...formatUnlinked(userId), ...history, state: 'unlinked' });
  });

  /** The extension's linking state (`ok`, `misconfigured`, `provider_down`) and its history. */
  router.get('/extensions/:id/linking/state', async (req, res) => {
    const ext = await registry.get(req.params['id']);
    res.json(formatLinkingState(ext.extensionId, await linking.linkingState(ext.extensionId)));
  });

  /** The linking funnel per day: `?days=` 1–90 (default 30), oldest first, today last. */
  router.get('/extensions/:id/linking/funnel', async (req, res) => {
    const ext = await registry.get(req.params['id']);
    const { days } = parseInput(funnelQuery, req.query, 'invalid_query');
    res.json(await linking.funnel(ext.extensionId, days));
  });

  router.delete('/extensions/:id/links/:userId', async (req, res) => {
    const ext = await registry.get(req.params['id']);
    const removed = await linking.unlink(ext.extensionId, req.params['userId']);
    if (!removed) throw new AppError('not_found', 'That user has no link with this extension.');
    res.status(204).end();
  });

  /**
   * Test users (issue 17): `{userId, accessToken, refreshToken?, expiresIn?}` stores a synthetic
   * linked user (201 new, 200 replaced); the tokens are sealed and never returned. 409
   * `real_user_linked` over a real link.
   */
  router.post('/extensions/:id/test-users', async (req, res) => {
    const ext = await registry.get(req.params['id']);
    const made = await linking.createTestUser(ext.extensionId, req.body);
    res.status(made.created ? 201 : 200).json(formatLink(made.userId, made.record));
  });

  /** Removes a test user: 204; 404 `not_found` without a link, 409 `not_test_user` for a real one. */
  router.delete('/extensions/:id/test-users/:userId', async (req, res) => {
    const ext = await registry.get(req.params['id']);
    await linking.removeTestUser(ext.extensionId, req.params['userId']);
    res.status(204).end();
  });

  router.post('/extensions/:id/link-tickets', async (req, res) => {
    const ext = await registry.get(req.params['id']);
    const { userId } = parseInput(ticketInput, req.body);
    try {
      res.status(201).json(await linking.mintLinkTicket(ext.extensionId, userId));
    } catch (err) {
      if (err instanceof LinkFailure && err.reason === 'not_configured') {
        throw new AppError('conflict', 'Account linking is not enabled for this extension: PUT its account-linking settings first.');
      }
      throw err;
    }
  });

  return router;
}
