import type { Router } from 'express';
import { formatLinkingState, formatLinkState } from '../../linking/linkStates.js';
import { settingsOf } from '../../linking/settings.js';
import { funnelView } from './funnelChart.js';
import { formatExtension } from '../api/formatExtension.js';
import { linkingOf, page, redirectWith, type PagesContext } from './context.js';
import { field } from './forms.js';
import { extensionTabs } from './tabs.js';
import { adminRouter } from '../pathParams.js';

/** Users shown per page, in user id order. */
const USERS_PAGE = 100;
/** Unlinked users shown (their history is kept 90 days). */
const UNLINKED_SHOWN = 20;
/** The days of the funnel chart. */
const FUNNEL_DAYS = 30;

/** `/admin/extensions/:id/users`: who is linked (never a token), and unlink. */
export function usersPages(ctx: PagesContext): Router {
  const { registry } = ctx.s;
  const router = adminRouter();

  router.get('/extensions/:id/users', async (req, res) => {
    const record = await registry.get(req.params['id']);
    const linking = linkingOf(ctx.s);
    const now = Date.now();
    const after = typeof req.query['after'] === 'string' && req.query['after'] !== '' ? req.query['after'].slice(0, 1024) : undefined;
    const listed = await linking.links(record.extensionId, { after, limit: USERS_PAGE });
    const [states, unlinked, linkingState, funnel] = await Promise.all([
      linking.linkStates(
        record.extensionId,
        listed.links.map((l) => l.userId),
      ),
      after === undefined ? linking.unlinkedUsers(record.extensionId, UNLINKED_SHOWN) : Promise.resolve([]),
      linking.linkingState(record.extensionId),
      linking.funnel(record.extensionId, FUNNEL_DAYS),
    ]);
    // Only what the admin API's links list shows: status, dates, expiry, scope, state history. The sealed tokens stay in the record.
    const users = listed.links.map(({ userId, record: r }) => ({
      history: formatLinkState(states.get(userId) ?? { v: 1, state: r.status, reason: null, since: r.linkedAt, history: [] }).history,
      userId,
      status: r.status,
      brokenReason: r.brokenReason ?? null,
      linkedAt: r.linkedAt,
      refreshedAt: r.refreshedAt,
      expiresAt: r.expiresAt,
      expired: r.expiresAt !== null && r.expiresAt <= now,
      scope: r.scope,
    }));
    await page(ctx, req, res, 200, 'users.njk', {
      title: `Linked users · ${record.name}`,
      ext: formatExtension(record, ctx.s.config.publicUrl),
      tabs: extensionTabs(record.extensionId, 'users'),
      users,
      unlinked: unlinked.map(({ userId, record: r }) => ({ userId, ...formatLinkState(r) })),
      linkingState: formatLinkingState(record.extensionId, linkingState),
      funnel: funnelView(funnel),
      paging: { after: after ?? null, next: listed.next ?? null, size: USERS_PAGE },
      linkingEnabled: settingsOf(record)?.enabled === true,
    });
  });

  router.post('/extensions/:id/users/unlink', async (req, res) => {
    const record = await registry.get(req.params['id']);
    const linking = linkingOf(ctx.s);
    const userId = field(req, 'userId');
    const to = `/admin/extensions/${record.extensionId}/users`;
    if (userId === '') {
      await redirectWith(ctx, req, res, to, { kind: 'error', text: 'No user was given to unlink.' });
      return;
    }
    const removed = await linking.unlink(record.extensionId, userId);
    await redirectWith(
      ctx,
      req,
      res,
      to,
      removed
        ? { kind: 'ok', text: `${userId} is unlinked: their tokens are deleted (and revoked at the provider when it has a revocation endpoint).` }
        : { kind: 'info', text: `${userId} had no link any more.` },
    );
  });

  return router;
}
