import type { Router } from 'express';
import { z } from 'zod';
import { noFields, parseInput, wholeNumberParam } from '../../http/validate.js';
import { formatEndpoint } from '../../webhooks/endpoints.js';
import { DELIVERY_ID } from '../../webhooks/model.js';
import type { Delivery } from '../../webhooks/queue.js';
import type { WebhooksService } from '../../webhooks/service.js';
import { adminRouter } from '../pathParams.js';

const deliveriesQuery = z
  .object({
    limit: wholeNumberParam(1, 200, 50),
    // The `next` of the page before: a delivery id.
    after: z.string().regex(DELIVERY_ID, 'must be the next value of the page before (a msg_ id)').optional(),
  })
  .strict();

/** The API shape of a delivery: its state and the payload it sends (which never holds a token). */
export function formatDelivery(d: Delivery) {
  const payload: unknown = JSON.parse(d.body);
  return {
    id: d.id,
    type: d.type,
    status: d.status,
    tries: d.tries,
    nextTryAt: d.nextTryAt,
    lastTryAt: d.lastTryAt,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    createdAt: d.createdAt,
    retryUntil: d.retryUntil,
    redeliveryOf: d.redeliveryOf ?? null,
    payload,
  };
}

/** `/api/v1/extensions/:id/webhooks`: lifecycle webhook endpoints, their secrets, tests and deliveries (webhooks/). */
export function webhooksRoutes(webhooks: WebhooksService): Router {
  const router = adminRouter();
  const base = '/extensions/:id/webhooks';

  router.get(base, async (req, res) => {
    res.json({ webhooks: (await webhooks.endpoints.list(req.params['id'])).map(formatEndpoint) });
  });

  // The secret is in this answer only.
  router.post(base, async (req, res) => {
    const id = req.params['id'];
    const { endpoint, secret } = await webhooks.endpoints.create(id, req.body);
    res
      .status(201)
      .location(`/api/v1${base.replace(':id', id)}/${endpoint.id}`)
      .json({ ...formatEndpoint(endpoint), secret });
  });

  router.get(`${base}/:webhookId`, async (req, res) => {
    res.json(formatEndpoint(await webhooks.endpoints.get(req.params['id'], req.params['webhookId'])));
  });

  // url, events, enabled; the secret stays (and is not in the answer).
  router.patch(`${base}/:webhookId`, async (req, res) => {
    res.json(formatEndpoint(await webhooks.endpoints.update(req.params['id'], req.params['webhookId'], req.body)));
  });

  router.delete(`${base}/:webhookId`, async (req, res) => {
    await webhooks.deleteEndpoint(req.params['id'], req.params['webhookId']);
    res.status(204).end();
  });

  // Rotation: the new secret is in this answer only; the old one signs next to it for `graceSeconds`.
  router.post(`${base}/:webhookId/secret`, async (req, res) => {
    const { endpoint, secret } = await webhooks.endpoints.rotate(req.params['id'], req.params['webhookId'], req.body ?? {});
    res.json({ ...formatEndpoint(endpoint), secret });
  });

  router.post(`${base}/:webhookId/test`, async (req, res) => {
    const id = req.params['id'];
    const webhookId = req.params['webhookId'];
    await webhooks.endpoints.get(id, webhookId); // 404 before 400
    parseInput(noFields, req.body);
    res.status(202).json(formatDelivery(await webhooks.ping(id, webhookId)));
  });

  router.get(`${base}/:webhookId/deliveries`, async (req, res) => {
    const { limit, after } = parseInput(deliveriesQuery, req.query, 'invalid_query');
    const { deliveries, next } = await webhooks.deliveries(req.params['id'], req.params['webhookId'], { after, limit });
    res.json({ deliveries: deliveries.map(formatDelivery), next: next ?? null });
  });

  router.post(`${base}/:webhookId/deliveries/:deliveryId/redeliver`, async (req, res) => {
    const id = req.params['id'];
    const webhookId = req.params['webhookId'];
    await webhooks.endpoints.get(id, webhookId); // 404 before 400
    parseInput(noFields, req.body);
    res.status(202).json(formatDelivery(await webhooks.redeliver(id, webhookId, req.params['deliveryId'])));
  });

  return router;
}
