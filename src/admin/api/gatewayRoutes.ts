import type { Router } from 'express';
import type { ExtensionRegistry } from '../../extensions/registry.js';
import type { Gateway } from '../../gateway/gateway.js';
import { createApiKey, deleteApiKey, regenerateApiKey, saveGatewaySettings, updateApiKey, usageReport } from '../../gateway/manage.js';
import { gatewaySectionOf } from '../../gateway/model.js';
import { swaggerDocument } from '../../gateway/swagger.js';
import { formatGatewaySettings, formatKey } from './formatGateway.js';
import { adminRouter } from '../pathParams.js';

export interface GatewayRoutesDeps {
  registry: ExtensionRegistry;
  gateway: Gateway;
  publicUrl: string;
}

/**
 * `/api/v1/extensions/:id/{gateway,keys,usage,swagger.json}` (DESIGN.md sections 7 and 8). The rules
 * are in `gateway/manage.ts`, shared with the admin pages.
 */
export function gatewayRoutes(deps: GatewayRoutesDeps): Router {
  const { registry, gateway } = deps;
  const router = adminRouter();
  const view = { publicUrl: deps.publicUrl, freeMonthlyCalls: gateway.freeMonthlyCalls };

  router.get('/extensions/:id/gateway', async (req, res) => {
    const record = await registry.get(req.params['id']);
    res.json(formatGatewaySettings(record, gatewaySectionOf(record), view));
  });

  /** Sets the fields it is given; fields left out keep their value, `null` clears one. */
  router.put('/extensions/:id/gateway', async (req, res) => {
    const { record, section } = await saveGatewaySettings(registry, req.params['id'], req.body);
    res.json(formatGatewaySettings(record, section, view));
  });

  router.get('/extensions/:id/keys', async (req, res) => {
    const record = await registry.get(req.params['id']);
    res.json({ keys: gatewaySectionOf(record).keys.map(formatKey) });
  });

  router.post('/extensions/:id/keys', async (req, res) => {
    const id = req.params['id'];
    const { key, values } = await createApiKey(registry, id, req.body);
    res.status(201).location(`/api/v1/extensions/${id}/keys/${key.id}`);
    // The only response that carries the values (besides a regeneration): they are stored hashed.
    const shown = formatKey(key);
    res.json({ ...shown, primary: { ...shown.primary, value: values.primary }, secondary: { ...shown.secondary, value: values.secondary } });
  });

  router.patch('/extensions/:id/keys/:keyId', async (req, res) => {
    res.json(formatKey(await updateApiKey(registry, req.params['id'], req.params['keyId'], req.body)));
  });

  /** A new value for one side of the key; the id, and so its usage and quota counters, stay. */
  router.post('/extensions/:id/keys/:keyId/regenerate', async (req, res) => {
    const { key, which, value } = await regenerateApiKey(registry, req.params['id'], req.params['keyId'], req.body);
    const shown = formatKey(key);
    res.json({ ...shown, [which]: { ...shown[which], value } });
  });

  router.delete('/extensions/:id/keys/:keyId', async (req, res) => {
    await deleteApiKey(registry, req.params['id'], req.params['keyId']);
    res.status(204).end();
  });

  router.get('/extensions/:id/usage', async (req, res) => {
    res.json(await usageReport(gateway, registry, req.params['id']));
  });

  router.get('/extensions/:id/swagger.json', async (req, res) => {
    const record = await registry.get(req.params['id']);
    res.json(swaggerDocument(record, deps.publicUrl));
  });

  return router;
}
