import type { Request, Response, Router } from 'express';
import { isAppError } from '../../http/errors.js';
import { formatLinkingState, formatLinkState } from '../../linking/linkStates.js';
import { settingsOf } from '../../linking/settings.js';
import { funnelView } from './funnelChart.js';
import { formatExtension } from '../api/formatExtension.js';
import { linkingOf, page, redirectWith, type PagesContext } from './context.js';
import { emptyForm, field, type FormState } from './forms.js';
import { extensionTabs } from './tabs.js';
import { adminRouter } from '../pathParams.js';

const TEST_USER_FIELDS = ['userId', 'accessToken', 'refreshToken', 'expiresIn'] as const;

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

  const usersPage = async (req: Request, res: Response, status: number, extensionId: string, testUserForm: FormState): Promise<void> => {
    const record = await registry.get(extensionId);
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
      test: r.test === true,
    }));
    await page(ctx, req, res, status, 'users.njk', {
      title: `Linked users · ${record.name}`,
      ext: formatExtension(record, ctx.s.config.publicUrl),
      tabs: extensionTabs(record.extensionId, 'users'),
      users,
      unlinked: unlinked.map(({ userId, record: r }) => ({ userId, ...formatLinkState(r) })),
      linkingState: formatLinkingState(record.extensionId, linkingState),
      funnel: funnelView(funnel),
      paging: { after: after ?? null, next: listed.next ?? null, size: USERS_PAGE },
      linkingEnabled: settingsOf(record)?.enabled === true,
      testUserForm,
    });
  };

  router.get('/extensions/:id/users', async (req, res) => {
    await usersPage(req, res, 200, req.params['id'], emptyForm({ userId: '', accessToken: '', refreshToken: '', expiresIn: '' }));
  });

  /** The form of `POST /api/v1/extensions/:id/test-users`: the same checks, the token never shown back. */
  router.post('/extensions/:id/users/test-users', async (req, res) => {
    const record = await registry.get(req.params['id']);
    const values = { userId: field(req, 'userId').trim(), accessToken: field(req, 'accessToken').trim(), refreshToken: field(req, 'refreshToken').trim(), expiresIn: field(req, 'expiresIn').trim() };
    const body: Record<string, unknown> = { userId: values.userId, accessToken: values.accessToken };
    if (values.refreshToken !== '') body['refreshToken'] = values.refreshToken;
    if (values.expiresIn !== '') body['expiresIn'] = /^[0-9]{1,12}$/.test(values.expiresIn) ? Number(values.expiresIn) : values.expiresIn;
    const form = emptyForm({ userId: values.userId, accessToken: '', refreshToken: '', expiresIn: values.expiresIn });
    try {
      const made = await linkingOf(ctx.s).createTestUser(record.extensionId, body);
      await redirectWith(ctx, req, res, `/admin/extensions/${record.extensionId}/users`, {
        kind: 'ok',
        text: `Test user ${made.userId} ${made.created ? 'added' : 'replaced'}: the console and scenarios can call with its token; its calls are left out of usage and quotas.`,
      });
    } catch (err) {
      if (!isAppError(err) || (err.code !== 'invalid_body' && err.code !== 'real_user_linked')) throw err;
      for (const d of err.details ?? []) {
        const name = TEST_USER_FIELDS.find((f) => f === d.path);
        if (name !== undefined)
          form.errors[name] = d.path === 'expiresIn' && typeof body['expiresIn'] === 'string' ? 'Must be a whole number of seconds.' : `${d.message.charAt(0).toUpperCase()}${d.message.slice(1)}.`;
        else form.problems.push(`${d.path}: ${d.message}`);
      }
      if (err.code === 'real_user_linked') form.errors['userId'] = err.message;
      await usersPage(req, res, err.status, record.extensionId, form);
    }
  });

  router.post('/extensions/:id/users/test-users/remove', async (req, res) => {
    const record = await registry.get(req.params['id']);
    const userId = field(req, 'userId');
    const to = `/admin/extensions/${record.extensionId}/users`;
    try {
      await linkingOf(ctx.s).removeTestUser(record.extensionId, userId);
    } catch (err) {
      if (!isAppError(err) || (err.code !== 'not_found' && err.code !== 'not_test_user')) throw err;
      await redirectWith(ctx, req, res, to, { kind: 'error', text: err.message });
      return;
    }
    await redirectWith(ctx, req, res, to, { kind: 'ok', text: `Test user ${userId} removed.` });
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
