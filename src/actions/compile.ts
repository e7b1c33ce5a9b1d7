import type { CekRequest } from '../cek/types.js';
import type { ExtensionRecord } from '../extensions/model.js';
import { targetOf, type Target } from './forward.js';
import { actionsOf, type ActionDefinition } from './model.js';

/** A definition ready for the request path: target parsed, constant headers built once. */
export interface CompiledAction {
  readonly def: ActionDefinition;
  readonly target: Target;
  /**
   * Static headers plus `content-type`, as a flat `[name, value, ...]` list; each request copies it
   * and appends its own (an object spread plus added keys costs V8 about 0.5 µs a key here).
   */
  readonly baseHeaders: readonly string[];
}

/** An extension's actions indexed by what they answer. */
export interface ActionIndex {
  readonly intents: ReadonlyMap<string, CompiledAction>;
  /** Keyed `namespace\u0000name`, `*` for a part the trigger leaves open. */
  readonly events: ReadonlyMap<string, CompiledAction>;
  readonly launch: CompiledAction | undefined;
  readonly sessionEnded: CompiledAction | undefined;
}

// Keyed by the cached record object: the registry hands out the same object until the extension
// changes, so each version of an extension is compiled once, and dropped with it.
const compiled = new WeakMap<ExtensionRecord, ActionIndex | null>();

/** The action index of an extension, `undefined` when it has no actions. No store access. */
export function actionIndexOf(record: ExtensionRecord): ActionIndex | undefined {
  let index = compiled.get(record);
  if (index === undefined) {
    index = compile(actionsOf(record.sections));
    compiled.set(record, index);
  }
  return index ?? undefined;
}

function compile(actions: Record<string, ActionDefinition>): ActionIndex | null {
  const defs = Object.values(actions);
  if (defs.length === 0) return null;
  const intents = new Map<string, CompiledAction>();
  const events = new Map<string, CompiledAction>();
  let launch: CompiledAction | undefined;
  let sessionEnded: CompiledAction | undefined;
  // Sorted by name so that, should a stored section ever hold two actions with one trigger (the
  // admin API refuses that), the same one wins on every instance.
  for (const def of defs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    let action: CompiledAction;
    try {
      action = {
        def,
        target: targetOf(def.url),
        baseHeaders: ['content-type', 'application/json', ...Object.entries(def.headers).flat()],
      };
    } catch {
      continue; // an unparseable URL cannot be stored through the API; skip rather than fail every request
    }
    const t = def.trigger;
    switch (t.type) {
      case 'IntentRequest':
        if (!intents.has(t.intent)) intents.set(t.intent, action);
        break;
      case 'EventRequest': {
        const key = eventKey(t.namespace ?? '*', t.name ?? '*');
        if (!events.has(key)) events.set(key, action);
        break;
      }
      case 'LaunchRequest':
        launch ??= action;
        break;
      case 'SessionEndedRequest':
        sessionEnded ??= action;
        break;
    }
  }
  return { intents, events, launch, sessionEnded };
}

const eventKey = (namespace: string, name: string): string => `${namespace}\u0000${name}`;

/** The action that answers a request, the most specific event trigger first. */
export function matchAction(index: ActionIndex, cek: CekRequest): CompiledAction | undefined {
  switch (cek.type) {
    case 'IntentRequest':
      return cek.intentName === undefined ? undefined : index.intents.get(cek.intentName);
    case 'LaunchRequest':
      return index.launch;
    case 'SessionEndedRequest':
      return index.sessionEnded;
    case 'EventRequest': {
      if (index.events.size === 0) return undefined;
      const ns = cek.eventNamespace ?? '';
      const name = cek.eventName ?? '';
      return index.events.get(eventKey(ns, name)) ?? index.events.get(eventKey(ns, '*')) ?? index.events.get(eventKey('*', name)) ?? index.events.get(eventKey('*', '*'));
    }
  }
}
