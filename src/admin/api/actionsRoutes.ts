import type { Router } from 'express';
import { deleteAction, saveAction } from '../../actions/definitions.js';
import { actionsOf, type ActionDefinition } from '../../actions/model.js';
import type { ExtensionRegistry } from '../../extensions/registry.js';
import { adminRouter } from '../pathParams.js';

export interface ActionsRoutesDeps {
  registry: ExtensionRegistry;
  /** Production mode: https targets only, private addresses refused unless the extension allows them. */
  production: boolean;
}

/** The API shape of an action method (the stored definition, fields in a fixed order). */
export function formatAction(d: ActionDefinition) {
  return {
    name: d.name,
    trigger: d.trigger,
    url: d.url,
    useOAuthToken: d.useOAuthToken,
    tokenSource: d.tokenSource,
    timeoutMs: d.timeoutMs,
    headers: d.headers,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

/** `/api/v1/extensions/:id/actions` (DESIGN.md sections 6 and 7); the rules are in `actions/definitions.ts`. */
export function actionsRoutes(deps: ActionsRoutesDeps): Router {
  const { registry } = deps;
  const router = adminRouter();

  router.get('/extensions/:id/actions', async (req, res) => {
    const record = await registry.get(req.params['id']);
    const actions = Object.values(actionsOf(record.sections)).sort((a, b) => (a.name < b.name ? -1 : 1));
    res.json({ actions: actions.map(formatAction) });
  });

  router.put('/extensions/:id/actions/:name', async (req, res) => {
    const id = req.params['id'];
    const { definition, created } = await saveAction(registry, id, req.params['name'], req.body, { production: deps.production });
    if (created) res.status(201).location(`/api/v1/extensions/${id}/actions/${definition.name}`);
    res.json(formatAction(definition));
  });

  router.delete('/extensions/:id/actions/:name', async (req, res) => {
    await deleteAction(registry, req.params['id'], req.params['name']);
    res.status(204).end();
  });

  return router;
}
