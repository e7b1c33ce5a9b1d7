import type { ExtensionRecord } from '../extensions/model.js';
import type { ExtensionRegistry } from '../extensions/registry.js';
import { AppError } from '../http/errors.js';
import { parseInput } from '../http/validate.js';
import {
  ACTION_NAME,
  ACTION_NAME_PROBLEM,
  ACTION_NAME_RULE,
  ACTIONS_SECTION,
  MAX_ACTIONS,
  actionInput,
  actionsOf,
  describeTrigger,
  normaliseHeaders,
  triggerKey,
  type ActionDefinition,
} from './model.js';
import { targetUrlProblem } from '../security/outbound.js';

// Saving and deleting action methods: the rules of `PUT/DELETE /api/v1/extensions/:id/actions/:name`
// and of the admin pages' action form, in one place (DESIGN.md sections 6 and 7).

export interface ActionRules {
  /** Production mode: https targets only, private addresses refused unless the extension allows them. */
  production: boolean;
}

/** An action name as a path segment allows it; 400 `invalid_body` naming `name` otherwise. */
export function actionName(value: string | undefined): string {
  if (value === undefined || !ACTION_NAME.test(value)) {
    throw new AppError('invalid_body', ACTION_NAME_RULE, { details: [{ path: 'name', message: ACTION_NAME_PROBLEM }] });
  }
  return value;
}

/**
 * Validates and saves (creates or replaces) the action method `name` of an extension. In this order:
 * the extension (404 before 400), the name, the body (400 `invalid_body` naming each field), the
 * target URL policy, a trigger another action already answers (409 `conflict`), the per-extension
 * limit for a new one (409). `created` tells a new action from a replaced one (201 or 200).
 */
export async function saveAction(
  registry: ExtensionRegistry,
  extensionId: string,
  name: string | undefined,
  body: unknown,
  rules: ActionRules,
): Promise<{ definition: ActionDefinition; created: boolean }> {
  const record = await registry.get(extensionId);
  const checkedName = actionName(name);
  const input = parseInput(actionInput, body);
  if (input.name !== undefined && input.name !== checkedName) {
    throw new AppError('invalid_body', `Invalid input: name "${input.name}" differs from the name in the URL ("${checkedName}").`, {
      details: [{ path: 'name', message: 'must equal the name in the URL (or be left out)' }],
    });
  }
  checkTargetUrl(input.url, record, rules);

  // Checked and changed on the current record: two actions saved at once both land, and two that
  // claim one trigger at once cannot both win.
  let result: { definition: ActionDefinition; created: boolean } | undefined;
  await registry.updateSection(extensionId, ACTIONS_SECTION, (current) => {
    checkTargetUrl(input.url, current, rules);
    const actions = { ...actionsOf(current.sections) };
    const previous = Object.hasOwn(actions, checkedName) ? actions[checkedName] : undefined;
    const key = triggerKey(input.trigger);
    for (const other of Object.values(actions)) {
      if (other.name !== checkedName && triggerKey(other.trigger) === key) {
        throw new AppError('conflict', `Action "${other.name}" already answers ${describeTrigger(input.trigger)}: change or delete it first.`);
      }
    }
    if (previous === undefined && Object.keys(actions).length >= MAX_ACTIONS) {
      throw new AppError('conflict', `An extension has at most ${MAX_ACTIONS} action methods: delete one first.`);
    }
    const now = new Date().toISOString();
    const definition: ActionDefinition = {
      name: checkedName,
      trigger: input.trigger,
      url: input.url,
      useOAuthToken: input.useOAuthToken,
      tokenSource: input.tokenSource,
      timeoutMs: input.timeoutMs,
      headers: normaliseHeaders(input.headers),
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
    };
    actions[checkedName] = definition;
    result = { definition, created: previous === undefined };
    return actions;
  });
  return result as { definition: ActionDefinition; created: boolean };
}

/** 400 for a target URL the extension may not call (production: https, no private addresses unless allowed). */
function checkTargetUrl(url: string, record: ExtensionRecord, rules: ActionRules): void {
  const urlProblem = targetUrlProblem(new URL(url), { production: rules.production, allowPrivateTargets: record.allowPrivateTargets === true });
  if (urlProblem !== undefined) {
    throw new AppError('invalid_body', `Invalid input: url ${urlProblem}.`, { details: [{ path: 'url', message: urlProblem }] });
  }
}

/** Deletes the action method `name`; 404 `unknown_extension` / `not_found`. */
export async function deleteAction(registry: ExtensionRegistry, extensionId: string, name: string): Promise<void> {
  await registry.updateSection(extensionId, ACTIONS_SECTION, (record) => {
    const actions = { ...actionsOf(record.sections) };
    if (!Object.hasOwn(actions, name)) throw new AppError('not_found', `Extension "${extensionId}" has no action named "${name.slice(0, 64)}".`);
    delete actions[name];
    return Object.keys(actions).length === 0 ? undefined : actions;
  });
}
