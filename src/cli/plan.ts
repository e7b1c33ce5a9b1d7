import { desiredState, type Desired } from './desired.js';
import type { ConfigDocument } from './document.js';
import type { EnvResolver } from './secrets.js';
import { newExtensionState, type ExtensionState, type InstanceExtension } from './state.js';

/** One difference between the instance and the file, at a path inside an extension. */
export interface Change {
  path: string[];
  kind: 'add' | 'remove' | 'change';
  from?: unknown;
  to?: unknown;
  /** Removes an action or an API key: done only with `--prune`. */
  deletion: boolean;
}

export interface ExtensionPlan {
  id: string;
  /** `extra`: on the instance, not in the file (deleted with `--prune`). */
  action: 'create' | 'update' | 'extra';
  changes: Change[];
  desired?: Desired;
  current?: InstanceExtension;
}

/**
 * What `apply` would do: per extension of the file and of the instance, the changes. Computed
 * completely (every `${env:NAME}` resolved) before anything is changed.
 */
export function planAll(doc: ConfigDocument, instance: readonly InstanceExtension[], env: EnvResolver, o: { replaceSecrets?: boolean } = {}): ExtensionPlan[] {
  const byId = new Map(instance.map((e) => [e.id, e]));
  const plans: ExtensionPlan[] = [];
  for (const [id, d] of Object.entries(doc.extensions)) {
    const current = byId.get(id);
    const desired = desiredState(id, d, current?.state ?? newExtensionState(id), env);
    const changes = diffState(current?.state ?? newExtensionState(id), desired.state);
    if (o.replaceSecrets === true && current !== undefined) changes.push(...secretReplacements(current.state, desired));
    plans.push(current === undefined ? { id, action: 'create', changes, desired } : { id, action: 'update', changes, desired, current });
  }
  for (const e of instance) if (!Object.hasOwn(doc.extensions, e.id)) plans.push({ id: e.id, action: 'extra', changes: [], current: e });
  env.check();
  return plans.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * With `--replace-secrets`: the write-only secrets the file references and the instance already has,
 * sent again (the API cannot tell whether they differ).
 */
export function secretReplacements(current: ExtensionState, desired: Desired): Change[] {
  const out: Change[] = [];
  if (desired.secrets.clientSecret !== undefined && current.accountLinking?.clientSecret === true && desired.state.accountLinking?.clientSecret === true) {
    out.push({ path: ['accountLinking', 'clientSecret'], kind: 'change', from: true, to: true, deletion: false });
  }
  if (desired.secrets.messengerVerifyToken !== undefined && current.gateway.messengerVerifyToken && desired.state.gateway.messengerVerifyToken) {
    out.push({ path: ['gateway', 'messengerVerifyToken'], kind: 'change', from: true, to: true, deletion: false });
  }
  return out;
}

export function diffState(current: ExtensionState, desired: ExtensionState): Change[] {
  const out: Change[] = [];
  diffValue([], current, desired, out);
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An entry of a record by name, never one inherited from Object (`constructor`, `toString`). */
const own = (r: Record<string, unknown>, k: string): unknown => (Object.hasOwn(r, k) ? r[k] : undefined);

/** Equal as JSON values, whatever the key order. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && sameValue(own(a, k), own(b, k)));
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  return a === b;
}

/** Records of named things: a difference inside one of them is reported per field. */
const isDeletionPath = (path: readonly string[]): boolean => (path.length === 2 && path[0] === 'actions') || (path.length === 3 && path[0] === 'gateway' && path[1] === 'keys');

function diffValue(path: string[], a: unknown, b: unknown, out: Change[]): void {
  if (sameValue(a, b)) return;
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...Object.keys(b), ...Object.keys(a).filter((k) => !Object.hasOwn(b, k))];
    for (const k of keys) diffValue([...path, k], own(a, k), own(b, k), out);
    return;
  }
  if (a === undefined) out.push({ path, kind: 'add', to: b, deletion: false });
  else if (b === undefined) out.push({ path, kind: 'remove', from: a, deletion: isDeletionPath(path) });
  else out.push({ path, kind: 'change', from: a, to: b, deletion: false });
}

/** True when `apply` would change something for this plan. */
export function hasWork(p: ExtensionPlan, prune: boolean): boolean {
  if (p.action === 'extra') return prune;
  return p.action === 'create' || p.changes.some((c) => !c.deletion || prune);
}

/** A value for a diff line; static header values and secrets are never shown. */
function shown(path: readonly string[], value: unknown): string {
  if (path[0] === 'actions' && path.includes('headers')) {
    if (path.length > 3) return '(hidden)';
    return JSON.stringify(redactHeaders(value));
  }
  if (path[path.length - 1] === 'clientSecret' || path[path.length - 1] === 'messengerVerifyToken') return value === true ? '(set)' : '(not set)';
  return JSON.stringify(path[0] === 'actions' && path.length === 2 ? redactHeaders(value) : value);
}

function redactHeaders(value: unknown): unknown {
  if (!isPlainObject(value)) return value;
  if (isPlainObject(value['headers'])) return { ...value, headers: Object.fromEntries(Object.keys(value['headers']).map((h) => [h, '(hidden)'])) };
  if (Object.values(value).every((v) => typeof v === 'string')) return Object.fromEntries(Object.keys(value).map((h) => [h, '(hidden)']));
  return value;
}

/** Human-readable lines, per extension and field. */
export function renderPlans(plans: readonly ExtensionPlan[], prune: boolean): string[] {
  const lines: string[] = [];
  for (const p of plans) {
    if (p.action === 'extra') {
      lines.push(prune ? `- ${p.id}: extension deleted (not in the file)` : `  ${p.id}: only on the instance, kept (--prune deletes it)`);
      continue;
    }
    if (!hasWork(p, prune) && p.changes.length === 0) continue;
    lines.push(p.action === 'create' ? `+ ${p.id}: new extension` : `~ ${p.id}`);
    for (const c of p.changes) {
      const at = c.path.join('.');
      if (c.deletion && !prune) lines.push(`    ${at}: only on the instance, kept (--prune deletes it)`);
      else if (c.kind === 'add') lines.push(`    + ${at}: ${shown(c.path, c.to)}`);
      else if (c.kind === 'remove') lines.push(`    - ${at}${c.deletion ? ' (deleted)' : ''}`);
      else if (shown(c.path, c.from) === shown(c.path, c.to)) lines.push(`    ${at}: changed (value hidden)`);
      else lines.push(`    ${at}: ${shown(c.path, c.from)} → ${shown(c.path, c.to)}`);
    }
  }
  return lines;
}
