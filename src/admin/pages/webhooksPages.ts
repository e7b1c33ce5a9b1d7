import type { Request, Response, Router } from 'express';
import { parseInput } from '../../http/validate.js';
import { z } from 'zod';
import type { WebhooksService } from '../../webhooks/service.js';
import { DELIVERY_ID, MAX_ENDPOINTS, SUBSCRIBABLE_EVENTS, isEnabled, type WebhookEndpoint } from '../../webhooks/model.js';
import { endpointsOf, formatEndpoint } from '../../webhooks/endpoints.js';
import { formatExtension } from '../api/formatExtension.js';
import { formatDelivery } from '../api/webhooksRoutes.js';
import { page, redirectWith, webhookSecretFlash, type PagesContext } from './context.js';
import { applyError, checked, emptyForm, field, fieldValues, type FormState } from './forms.js';
import { extensionTabs } from './tabs.js';
import { adminRouter } from '../pathParams.js';

/** What each event means, next to its checkbox (the README's table in short). */
const EVENT_HINTS: Record<(typeof SUBSCRIBABLE_EVENTS)[number], string> = {
  'link.created': 'a user finished linking',
  'link.broken': 'a link stopped working (refresh refused, no token left)',
  'link.recovered': 'a broken link works again',
  'link.unlinked': 'a link was removed (admin, user, or CLOVA’s SkillDisabled)',
  'linking.misconfigured': 'the OAuth provider refuses the extension’s client',
  'linking.recovered': 'the provider accepts the client again',
  'provider.down': 'the provider’s token endpoint is failing (its circuit breaker opened)',
  'provider.up': 'the provider’s token endpoint answers again',
};

const FIELDS = { url: 'Endpoint URL', events: 'Events', enabled: 'Enabled' };
/** Deliveries on one page of an endpoint's list. */
const DELIVERIES_PAGE = 20;
/** Grace periods offered on rotation (the API takes any number of seconds up to 7 days). */
const GRACE_OPTIONS = [
  { value: '0', label: 'None: the old secret stops now' },
  { value: '3600', label: '1 hour' },
  { value: '86400', label: '1 day (default)' },
  { value: '604800', label: '7 days' },
];
const DEFAULT_GRACE = '86400';

const pageQuery = z.object({ after: z.string().regex(DELIVERY_ID).optional() }).strict();

/** The form values of an endpoint (or of a new one: every event ticked but none chosen yet). */
function valuesOf(e: WebhookEndpoint | undefined): FormState['values'] {
  const values: FormState['values'] = { url: e?.url ?? '', enabled: e === undefined ? true : isEnabled(e) };
  for (const ev of e?.events ?? []) values[`ev:${ev}`] = true;
  return values;
}

/** The posted form: its values to show back, and the API body it stands for. */
function posted(req: Request): { values: FormState['values']; body: { url: string; events: string[]; enabled: boolean } } {
  const url = field(req, 'url').trim();
  const events = fieldValues(req, 'events');
  const enabled = checked(req, 'enabled');
  const values: FormState['values'] = { url, enabled };
  for (const ev of events) values[`ev:${ev}`] = true;
  return { values, body: { url, events, enabled } };
}

/** `events.0` → `events`: a problem with one event is shown at the group. */
const fieldOf = (path: string): string => (path.startsWith('events') ? 'events' : path);

/**
 * `/admin/extensions/:id/webhooks`: lifecycle webhook endpoints (issue 16): list, add (the secret
 * shown once), edit, rotate the secret, delete, send a test ping, and each endpoint's deliveries
 * (paged, with redelivery). Every change goes through the webhooks service, as the admin API does.
 */
export function webhooksPages(ctx: PagesContext): Router {
  const { registry } = ctx.s;
  const { publicUrl } = ctx.s.config;
  const webhooks: WebhooksService = ctx.s.features.webhooks.service;
  const router = adminRouter();
  const base = (id: string): string => `/admin/extensions/${id}/webhooks`;
  const events = SUBSCRIBABLE_EVENTS.map((value) => ({ value, hint: EVENT_HINTS[value] }));

  const listPage = async (req: Request, res: Response, status: number, id: string, form: FormState): Promise<void> => {
    const record = await registry.get(id);
    const endpoints = endpointsOf(record).map(formatEndpoint);
    await page(ctx, req, res, status, 'webhooks.njk', {
      title: `Webhooks · ${record.name}`,
      ext: formatExtension(record, publicUrl),
      tabs: extensionTabs(record.extensionId, 'webhooks'),
      endpoints,
      full: endpoints.length >= MAX_ENDPOINTS,
      maxEndpoints: MAX_ENDPOINTS,
      form,
      events,
    });
  };

  /** `forms`: the edit form or the rotation form as posted, with their messages. */
  const endpointPage = async (req: Request, res: Response, status: number, id: string, webhookId: string, forms: { edit?: FormState; secret?: FormState } = {}): Promise<void> => {
    const record = await registry.get(id);
    const endpoint = await webhooks.endpoints.get(record.extensionId, webhookId);
    const { after } = parseInput(pageQuery, req.method === 'GET' ? req.query : {}, 'invalid_query');
    const { deliveries, next } = await webhooks.deliveries(record.extensionId, webhookId, { after, limit: DELIVERIES_PAGE });
    await page(
      ctx,
      req,
      res,
      status,
      'webhook.njk',
      {
        title: `Webhook endpoint · ${record.name}`,
        ext: formatExtension(record, publicUrl),
        tabs: extensionTabs(record.extensionId, 'webhooks'),
        endpoint: formatEndpoint(endpoint),
        form: forms.edit ?? emptyForm(valuesOf(endpoint)),
        events,
        secretForm: forms.secret ?? emptyForm({ graceSeconds: DEFAULT_GRACE }),
        graceOptions: GRACE_OPTIONS,
        deliveries: deliveries.map((d) => ({ ...formatDelivery(d), lastResult: lastResult(d.lastStatusCode, d.lastError) })),
        older: next === undefined ? undefined : `${base(record.extensionId)}/${webhookId}?after=${next}#deliveries`,
        paged: after !== undefined,
      },
      { webhookSecretFor: { extensionId: record.extensionId, webhookId } },
    );
  };

  router.get('/extensions/:id/webhooks', async (req, res) => {
    await listPage(req, res, 200, req.params['id'], emptyForm(valuesOf(undefined)));
  });

  router.post('/extensions/:id/webhooks', async (req, res) => {
    const id = (await registry.get(req.params['id'])).extensionId;
    const { values, body } = posted(req);
    try {
      const { endpoint, secret } = await webhooks.endpoints.create(id, body);
      await redirectWith(
        ctx,
        req,
        res,
        `${base(id)}/${endpoint.id}`,
        webhookSecretFlash(ctx, req, id, endpoint.id, secret, 'Endpoint added. Copy its signing secret now: it is shown only this once.'),
      );
    } catch (err) {
      await listPage(req, res, 400, id, applyError(emptyForm(values), err, { fields: FIELDS, rename: fieldOf }));
    }
  });

  router.get('/extensions/:id/webhooks/:webhookId', async (req, res) => {
    await endpointPage(req, res, 200, req.params['id'], req.params['webhookId']);
  });

  // Edit: the API's PATCH with every field of the form.
  router.post('/extensions/:id/webhooks/:webhookId', async (req, res) => {
    const id = (await registry.get(req.params['id'])).extensionId;
    const webhookId = req.params['webhookId'];
    await webhooks.endpoints.get(id, webhookId);
    const { values, body } = posted(req);
    try {
      await webhooks.endpoints.update(id, webhookId, body);
      await redirectWith(ctx, req, res, `${base(id)}/${webhookId}#edit`, {
        kind: 'ok',
        text: body.enabled ? 'Endpoint saved.' : 'Endpoint saved. It is disabled: no new event is queued for it until you enable it again.',
      });
    } catch (err) {
      await endpointPage(req, res, 400, id, webhookId, { edit: applyError(emptyForm(values), err, { fields: FIELDS, rename: fieldOf }) });
    }
  });

  router.post('/extensions/:id/webhooks/:webhookId/secret', async (req, res) => {
    const id = (await registry.get(req.params['id'])).extensionId;
    const webhookId = req.params['webhookId'];
    // Left out: the default. Any value the select does not offer (a hand-made form) is refused on the
    // field, never replaced: the old secret must stop signing when the page said it would.
    const grace = GRACE_OPTIONS.find((o) => o.value === (field(req, 'graceSeconds') || DEFAULT_GRACE));
    if (grace === undefined) {
      const form = emptyForm({ graceSeconds: DEFAULT_GRACE });
      form.errors['graceSeconds'] = 'Choose one of the periods offered (none, 1 hour, 1 day or 7 days). No new secret was made.';
      await endpointPage(req, res, 400, id, webhookId, { secret: form });
      return;
    }
    const { secret } = await webhooks.endpoints.rotate(id, webhookId, { graceSeconds: Number(grace.value) });
    const text =
      grace.value === '0'
        ? 'New signing secret: the old one no longer signs. Copy the new one now: it is shown only this once.'
        : `New signing secret: the old one stays valid next to it for ${grace.label.replace(' (default)', '')} (both sign each delivery), so update your receiver within that time. Copy the new one now: it is shown only this once.`;
    // To the endpoint's facts: the message sits right above the new secret.
    await redirectWith(ctx, req, res, `${base(id)}/${webhookId}#endpoint`, webhookSecretFlash(ctx, req, id, webhookId, secret, text));
  });

  router.post('/extensions/:id/webhooks/:webhookId/delete', async (req, res) => {
    const id = (await registry.get(req.params['id'])).extensionId;
    const endpoint = await webhooks.endpoints.get(id, req.params['webhookId']);
    await webhooks.deleteEndpoint(id, endpoint.id);
    await redirectWith(ctx, req, res, base(id), { kind: 'ok', text: `Endpoint ${endpoint.url} deleted, with what was queued for it.` });
  });

  router.post('/extensions/:id/webhooks/:webhookId/test', async (req, res) => {
    const id = (await registry.get(req.params['id'])).extensionId;
    const webhookId = req.params['webhookId'];
    await webhooks.ping(id, webhookId);
    await redirectWith(ctx, req, res, `${base(id)}/${webhookId}#deliveries`, { kind: 'ok', text: 'Test ping queued: it shows below as pending until the first try. Reload to see how it went.' });
  });

  router.post('/extensions/:id/webhooks/:webhookId/deliveries/:deliveryId/redeliver', async (req, res) => {
    const id = (await registry.get(req.params['id'])).extensionId;
    const webhookId = req.params['webhookId'];
    const d = await webhooks.redeliver(id, webhookId, req.params['deliveryId']);
    await redirectWith(ctx, req, res, `${base(id)}/${webhookId}#deliveries`, { kind: 'ok', text: `Sent again as a new delivery (${d.id}).` });
  });

  return router;
}

/** "204", "HTTP 500", "timeout", or nothing before the first try. */
function lastResult(statusCode: number | null, error: string | null): string {
  if (error !== null) return error;
  return statusCode === null ? '' : `HTTP ${statusCode}`;
}
