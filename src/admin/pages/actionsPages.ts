import type { Request, Response, Router } from 'express';
import { deleteAction, saveAction } from '../../actions/definitions.js';
import { ACTION_NAME, ACTION_NAME_RULE, actionsOf, DEFAULT_TIMEOUT_MS, describeTrigger, MAX_TIMEOUT_MS, MIN_TIMEOUT_MS, TOKEN_SOURCES, type ActionDefinition } from '../../actions/model.js';
import { AppError } from '../../http/errors.js';
import { formatExtension } from '../api/formatExtension.js';
import { page, redirectWith, type PagesContext } from './context.js';
import { applyError, checked, emptyForm, field, parseNameValueLines, type FormState } from './forms.js';
import { extensionTabs } from './tabs.js';
import { adminRouter } from '../pathParams.js';

const TRIGGER_TYPES = [
  { value: 'IntentRequest', label: 'An intent (IntentRequest)' },
  { value: 'LaunchRequest', label: 'The launch (LaunchRequest)' },
  { value: 'SessionEndedRequest', label: 'The session end (SessionEndedRequest)' },
  { value: 'EventRequest', label: 'An event (EventRequest)' },
];

const TOKEN_SOURCE_LABELS: Record<(typeof TOKEN_SOURCES)[number], string> = {
  auto: "CLOVA's token when the request has one, else the linked account's (default)",
  linked: "The linked account's token, from this gateway's vault",
  request: "CLOVA's own token from the request (user.accessToken)",
};

const FIELDS = {
  name: 'Name',
  triggerType: 'Trigger',
  intent: 'Intent name',
  eventNamespace: 'Event namespace',
  eventName: 'Event name',
  url: 'Target URL',
  useOAuthToken: "Send the user's token",
  tokenSource: 'Token source',
  timeoutMs: 'Timeout',
  headers: 'Headers',
};

/** The API's field paths → the form's fields. */
function fieldOf(path: string): string {
  if (path === 'trigger' || path === 'trigger.type') return 'triggerType';
  if (path === 'trigger.intent') return 'intent';
  if (path === 'trigger.namespace') return 'eventNamespace';
  if (path === 'trigger.name') return 'eventName';
  if (path.startsWith('headers')) return 'headers';
  return path;
}

/** Header problems name the header: `headers.X-Api-Key: is given twice` → "X-Api-Key is given twice". */
function withHeaderNames(err: unknown): unknown {
  if (!(err instanceof AppError) || err.details === undefined) return err;
  const details = err.details.map((d) => (d.path.startsWith('headers.') ? { path: 'headers', message: `${d.path.slice('headers.'.length)} ${d.message}` } : d));
  return new AppError(err.code, err.message, { details });
}

function valuesOf(d: ActionDefinition | undefined): FormState['values'] {
  const t = d?.trigger;
  return {
    name: d?.name ?? '',
    triggerType: t?.type ?? 'IntentRequest',
    intent: t?.type === 'IntentRequest' ? t.intent : '',
    eventNamespace: t?.type === 'EventRequest' ? (t.namespace ?? '') : '',
    eventName: t?.type === 'EventRequest' ? (t.name ?? '') : '',
    url: d?.url ?? '',
    useOAuthToken: d?.useOAuthToken ?? false,
    tokenSource: d?.tokenSource ?? 'auto',
    timeoutMs: String(d?.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    headers: Object.entries(d?.headers ?? {})
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n'),
  };
}

/** `/admin/extensions/:id/actions`: list, add, edit, delete action methods (the admin API's rules, `actions/definitions.ts`). */
export function actionsPages(ctx: PagesContext): Router {
  const { registry } = ctx.s;
  const { publicUrl, production } = ctx.s.config;
  const router = adminRouter();

  const formPage = async (req: Request, res: Response, status: number, id: string, editing: string | undefined, form: FormState): Promise<void> => {
    const record = await registry.get(id);
    await page(ctx, req, res, status, 'action-form.njk', {
      title: editing === undefined ? 'New action method' : `Action method ${editing}`,
      ext: formatExtension(record, publicUrl),
      tabs: extensionTabs(record.extensionId, 'actions'),
      editing,
      form,
      triggerTypes: TRIGGER_TYPES,
      tokenSources: TOKEN_SOURCES.map((value) => ({ value, label: TOKEN_SOURCE_LABELS[value] })),
      limits: { min: MIN_TIMEOUT_MS, max: MAX_TIMEOUT_MS, default: DEFAULT_TIMEOUT_MS },
      namePattern: ACTION_NAME.source,
      nameRule: ACTION_NAME_RULE,
    });
  };

  router.get('/extensions/:id/actions', async (req, res) => {
    const record = await registry.get(req.params['id']);
    const actions = Object.values(actionsOf(record.sections))
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((a) => ({ ...a, triggerText: describeTrigger(a.trigger), headerNames: Object.keys(a.headers) }));
    await page(ctx, req, res, 200, 'actions.njk', {
      title: `Action methods · ${record.name}`,
      ext: formatExtension(record, publicUrl),
      tabs: extensionTabs(record.extensionId, 'actions'),
      actions,
    });
  });

  router.get('/extensions/:id/actions/new', async (req, res) => {
    const values = valuesOf(undefined);
    const intent = req.query['intent'];
    if (typeof intent === 'string') values['intent'] = intent.slice(0, 128);
    await formPage(req, res, 200, req.params['id'], undefined, emptyForm(values));
  });

  router.get('/extensions/:id/actions/:name/edit', async (req, res) => {
    const record = await registry.get(req.params['id']);
    const name = req.params['name'];
    const actions = actionsOf(record.sections);
    if (!Object.hasOwn(actions, name)) throw new AppError('not_found', `${record.extensionId} has no action method named "${name.slice(0, 64)}".`);
    await formPage(req, res, 200, record.extensionId, name, emptyForm(valuesOf(actions[name])));
  });

  router.post('/extensions/:id/actions', async (req, res) => {
    const record = await registry.get(req.params['id']);
    const id = record.extensionId;
    const editing = field(req, 'editing') === '' ? undefined : field(req, 'editing');
    const values: FormState['values'] = {
      name: editing ?? field(req, 'name').trim(),
      triggerType: field(req, 'triggerType'),
      intent: field(req, 'intent').trim(),
      eventNamespace: field(req, 'eventNamespace').trim(),
      eventName: field(req, 'eventName').trim(),
      url: field(req, 'url').trim(),
      useOAuthToken: checked(req, 'useOAuthToken'),
      tokenSource: field(req, 'tokenSource') || 'auto',
      timeoutMs: field(req, 'timeoutMs').trim(),
      headers: field(req, 'headers'),
    };
    const form = emptyForm(values);
    const name = String(values['name']);
    const existing = actionsOf(record.sections);
    if (name === '') form.errors['name'] = 'Give the action method a name.';
    else if (editing === undefined && Object.hasOwn(existing, name)) form.errors['name'] = `An action method named ${name} exists already: edit it, or choose another name.`;
    const timeout = String(values['timeoutMs']);
    if (timeout !== '' && !/^\d{1,7}$/.test(timeout)) form.errors['timeoutMs'] = 'Must be a whole number of milliseconds.';
    // `Name: value` lines; the API checks the names and values.
    const parsedHeaders = parseNameValueLines(String(values['headers']), { separator: ':', shape: 'Name: value', noun: 'header', unique: true });
    if (parsedHeaders.problem !== undefined) form.errors['headers'] = parsedHeaders.problem;
    if (Object.keys(form.errors).length > 0) {
      await formPage(req, res, 400, id, editing, form);
      return;
    }

    const type = String(values['triggerType']);
    const trigger: Record<string, string> = { type };
    if (type === 'IntentRequest') trigger['intent'] = String(values['intent']);
    if (type === 'EventRequest') {
      if (values['eventNamespace'] !== '') trigger['namespace'] = String(values['eventNamespace']);
      if (values['eventName'] !== '') trigger['name'] = String(values['eventName']);
    }
    const body = {
      trigger,
      url: values['url'],
      useOAuthToken: values['useOAuthToken'],
      tokenSource: values['tokenSource'],
      ...(timeout === '' ? {} : { timeoutMs: Number(timeout) }),
      headers: parsedHeaders.values,
    };
    try {
      await saveAction(registry, id, name, body, { production });
      await redirectWith(ctx, req, res, `/admin/extensions/${id}/actions`, { kind: 'ok', text: `Action method ${name} saved.` });
    } catch (err) {
      await formPage(req, res, 400, id, editing, applyError(emptyForm(values), withHeaderNames(err), { fields: FIELDS, rename: fieldOf }));
    }
  });

  router.post('/extensions/:id/actions/:name/delete', async (req, res) => {
    const id = (await registry.get(req.params['id'])).extensionId;
    const name = req.params['name'];
    await deleteAction(registry, id, name);
    await redirectWith(ctx, req, res, `/admin/extensions/${id}/actions`, { kind: 'ok', text: `Action method ${name} deleted.` });
  });

  return router;
}
