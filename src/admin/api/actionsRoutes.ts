import { Router } from 'express';
import { ACTION_NAME, ACTIONS_SECTION, MAX_ACTIONS, actionInput, actionsOf, describeTrigger, normaliseHeaders, triggerKey, type ActionDefinition } from '../../actions/model.js';
import { targetUrlProblem } from '../../actions/targetPolicy.js';
import type { ExtensionRegistry } from '../../extensions/registry.js';
import { AppError } from '../../http/errors.js';
import { parseInput } from '../../http/validate.js';

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

function actionName(value: string | undefined): string {
  // `__proto__` passes the pattern but cannot be an own key of a plain object.
  if (value === undefined || !ACTION_NAME.test(value) || value === '__proto__') {
    throw new AppError('invalid_body', 'Action names are 1 to 64 letters, digits, "_", "." or "-".', {
      details: [{ path: 'name', message: 'must match ^[A-Za-z0-9_.-]{1,64}$' }],
    });
  }
  return value;
}

/** `/api/v1/extensions/:id/actions` (DESIGN.md sections 6 and 7). */
export function actionsRoutes(deps: ActionsRoutesDeps): Router {
  const { registry } = deps;
  const router = Router();

  router.get('/extensions/:id/actions', async (req, res) => {
    const record = await registry.get(req.params['id'] as string);
    const actions = Object.values(actionsOf(record.sections)).sort((a, b) => (a.name < b.name ? -1 : 1));
    res.json({ actions: actions.map(formatAction) });
  });

  router.put('/extensions/:id/actions/:name', async (req, res) => {
    const id = req.params['id'] as string;
    const record = await registry.get(id); // 404 before 400, as for the extension itself
    const name = actionName(req.params['name']);
    const input = parseInput(actionInput, req.body);
    if (input.name !== undefined && input.name !== name) {
      throw new AppError('invalid_body', `Invalid input: name "${input.name}" differs from the name in the URL ("${name}").`, {
        details: [{ path: 'name', message: 'must equal the name in the URL (or be left out)' }],
      });
    }
    const urlProblem = targetUrlProblem(new URL(input.url), { production: deps.production, allowPrivateTargets: record.allowPrivateTargets === true });
    if (urlProblem !== undefined) {
      throw new AppError('invalid_body', `Invalid input: url ${urlProblem}.`, { details: [{ path: 'url', message: urlProblem }] });
    }

    const actions = { ...actionsOf(record.sections) };
    const previous = Object.hasOwn(actions, name) ? actions[name] : undefined;
    const key = triggerKey(input.trigger);
    for (const other of Object.values(actions)) {
      if (other.name !== name && triggerKey(other.trigger) === key) {
        throw new AppError('conflict', `Action "${other.name}" already answers ${describeTrigger(input.trigger)}: change or delete it first.`);
      }
    }
    if (previous === undefined && Object.keys(actions).length >= MAX_ACTIONS) {
      throw new AppError('conflict', `An extension has at most ${MAX_ACTIONS} action methods: delete one first.`);
    }
    const now = new Date().toISOString();
    const def: ActionDefinition = {
      name,
      trigger: input.trigger,
      url: input.url,
      useOAuthToken: input.useOAuthToken,
      tokenSource: input.tokenSource,
      timeoutMs: input.timeoutMs,
      headers: normaliseHeaders(input.headers),
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
    };
    actions[name] = def;
    await registry.setSection(id, ACTIONS_SECTION, actions);
    if (previous === undefined) res.status(201).location(`/api/v1/extensions/${id}/actions/${name}`);
    res.json(formatAction(def));
  });

  router.delete('/extensions/:id/actions/:name', async (req, res) => {
    const id = req.params['id'] as string;
    const record = await registry.get(id);
    const name = req.params['name'] as string;
    const actions = { ...actionsOf(record.sections) };
    if (!Object.hasOwn(actions, name)) throw new AppError('not_found', `Extension "${id}" has no action named "${name.slice(0, 64)}".`);
    delete actions[name];
    await registry.setSection(id, ACTIONS_SECTION, Object.keys(actions).length === 0 ? undefined : actions);
    res.status(204).end();
  });

  return router;
}
