import { Router, type Request, type Response } from 'express';
import { actionsOf, describeTrigger, type ActionDefinition } from '../../actions/model.js';
import type { ExtensionRecord } from '../../extensions/model.js';
import { compiledGatewayOf } from '../../gateway/gateway.js';
import { sendTestRequest, signingSecretOf } from '../testRequest.js';
import { formatExtension } from '../api/formatExtension.js';
import { buildSampleRequest, SAMPLE_TYPES, spokenText, type SampleType } from '../../cek/sample.js';
import { linkingOf, page, type PagesContext } from './context.js';
import { emptyForm, checked, field, parseNameValueLines, type FormState } from './forms.js';
import { selfBaseUrl } from '../selfUrl.js';
import { extensionTabs } from './tabs.js';

const MAX_SHOWN = 64 * 1024;

const TYPE_LABELS: Record<SampleType, string> = {
  LaunchRequest: 'Launch (LaunchRequest)',
  IntentRequest: 'Intent (IntentRequest)',
  SessionEndedRequest: 'Session end (SessionEndedRequest)',
  EventRequest: 'Event (EventRequest)',
};

/** What each outcome of the CEK handler means, for the developer reading the result. */
const OUTCOMES: Record<string, string> = {
  action: 'An action method answered: its target replied, and the reply became this response.',
  action_error:
    "An action method matched but did not get a usable answer (the target failed, timed out or replied in an unknown shape, or the user's token could not be obtained): the extension's error message was spoken. The server log has the cause.",
  login_prompt: "The action method needs the user's token and this user has no usable linked account: the login prompt was spoken with a real pairing code (valid 10 minutes).",
  linking_unavailable: 'A token was needed but account linking is off for this extension: the error message was spoken.',
  welcome: 'No action method answers the launch: the welcome message was spoken.',
  fallback: 'No action method answers this intent: the fallback message was spoken.',
  ack: 'No action method answers this request: an empty acknowledgement was sent.',
  skill_disabled: 'ClovaSkill.SkillDisabled: the user was unlinked.',
  skill_disabled_stale: 'ClovaSkill.SkillDisabled older than the current link (replayed or late): the link was kept.',
  internal_error: 'Answering failed inside the gateway: the error message was spoken. The server log has the request id.',
};

/** The headers the gateway sends a target (DESIGN.md section 6), with every credential hidden. */
function forwardedHeaders(action: ActionDefinition, extensionId: string, userId: string, requestId: string): Array<{ name: string; value: string }> {
  const headers = [
    ...Object.keys(action.headers).map((name) => ({ name, value: '•••••• (static header, value hidden)' })),
    { name: 'content-type', value: 'application/json' },
    { name: 'x-cek-extension-id', value: extensionId },
    { name: 'x-cek-user-id', value: userId },
    { name: 'x-request-id', value: requestId },
  ];
  if (action.useOAuthToken) headers.push({ name: 'authorization', value: "Bearer •••••• (the user's token, hidden)" });
  return headers;
}

const pretty = (text: string): string => {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
};

/** `/admin/extensions/:id/console`: sends a signed sample request through the real CEK endpoint of this instance. */
export function consolePages(ctx: PagesContext): Router {
  const { registry } = ctx.s;
  const router = Router();

  /** Linked users to offer in the user field (the first 50: a datalist, not a directory). */
  const linkedUsersOf = async (extensionId: string): Promise<string[]> => {
    const linking = linkingOf(ctx.s);
    return (await linking.links(extensionId, { limit: 50 })).links.map((l) => l.userId);
  };

  const consolePage = async (req: Request, res: Response, status: number, record: ExtensionRecord, form: FormState, result?: Record<string, unknown>, users?: string[]): Promise<void> => {
    const actions = Object.values(actionsOf(record.sections));
    const linkedUsers = users ?? (await linkedUsersOf(record.extensionId));
    await page(ctx, req, res, status, 'console.njk', {
      title: `Test console · ${record.name}`,
      ext: formatExtension(record, ctx.s.config.publicUrl),
      tabs: extensionTabs(record.extensionId, 'console'),
      form,
      types: SAMPLE_TYPES.map((value) => ({ value, label: TYPE_LABELS[value] })),
      intents: [...new Set(actions.flatMap((a) => (a.trigger.type === 'IntentRequest' ? [a.trigger.intent] : [])))].sort(),
      linkedUsers,
      cannotSign: record.verification === 'cekSignature' || record.verification === 'both',
      // The console cannot send an API key: they are stored hashed and shown only when made.
      needsApiKey: compiledGatewayOf(record).requireApiKey,
      result,
    });
  };

  router.get('/extensions/:id/console', async (req, res) => {
    const record = await registry.get(req.params['id']);
    const actions = Object.values(actionsOf(record.sections));
    const firstIntent = actions.find((a) => a.trigger.type === 'IntentRequest');
    const users = await linkedUsersOf(record.extensionId);
    await consolePage(
      req,
      res,
      200,
      record,
      emptyForm({
        type: firstIntent === undefined ? 'LaunchRequest' : 'IntentRequest',
        userId: users[0] ?? 'test-user-1',
        intent: firstIntent?.trigger.type === 'IntentRequest' ? firstIntent.trigger.intent : '',
        slots: '',
        eventNamespace: '',
        eventName: '',
        newSession: true,
      }),
      undefined,
      users,
    );
  });

  router.post('/extensions/:id/console', async (req, res) => {
    const record = await registry.get(req.params['id']);
    const id = record.extensionId;
    const values = {
      type: field(req, 'type'),
      userId: field(req, 'userId').trim(),
      intent: field(req, 'intent').trim(),
      slots: field(req, 'slots'),
      eventNamespace: field(req, 'eventNamespace').trim(),
      eventName: field(req, 'eventName').trim(),
      newSession: checked(req, 'newSession'),
    };
    const form = emptyForm(values);
    const type = (SAMPLE_TYPES as readonly string[]).includes(values.type) ? (values.type as SampleType) : undefined;
    if (type === undefined) form.errors['type'] = 'Choose a request type.';
    if (values.userId === '') form.errors['userId'] = 'Give a CEK user ID (any text; a linked user to use their account).';
    else if (values.userId.length > 256) form.errors['userId'] = 'Must be at most 256 characters.';
    if (type === 'IntentRequest' && values.intent === '') form.errors['intent'] = 'Give the intent name, as in the CLOVA console.';
    if (type === 'EventRequest' && values.eventNamespace === '') form.errors['eventNamespace'] = 'Give the event namespace.';
    if (type === 'EventRequest' && values.eventName === '') form.errors['eventName'] = 'Give the event name.';
    const slots = parseNameValueLines(values.slots, { separator: '=', shape: 'name=value', noun: 'slot', unique: false });
    if (type === 'IntentRequest' && slots.problem !== undefined) form.errors['slots'] = slots.problem;
    const secret = await signingSecretOf(registry, id);
    if (secret === undefined) form.problems.push('The Chatbot Secret of this extension cannot be opened with the configured encryption keys: generate a new one (Setup, Step 1).');
    if (type === undefined || secret === undefined || Object.keys(form.errors).length > 0) {
      await consolePage(req, res, 400, record, form);
      return;
    }

    const body = buildSampleRequest({
      type,
      extensionId: id,
      userId: values.userId,
      language: record.language,
      ...(type === 'IntentRequest' ? { intent: values.intent, slots: slots.values } : {}),
      ...(type === 'EventRequest' ? { eventNamespace: values.eventNamespace, eventName: values.eventName } : {}),
      newSession: values.newSession,
    });
    const raw = JSON.stringify(body);
    const sent = await sendTestRequest({ tap: ctx.tap, log: ctx.s.log }, { extensionId: id, raw, secret, baseUrl: selfBaseUrl(req), origin: 'admin-console', reqId: req.requestId });
    if (!sent.ok) {
      form.problems.push(`The request did not get an answer from this instance's CEK endpoint (${sent.reason}).`);
      await consolePage(req, res, 502, record, form);
      return;
    }
    const { status, text, ms, requestId, signature, url, json: parsed } = sent;
    const action = sent.action?.def;
    const cekError = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const result = {
      status,
      ms: ms < 10 ? ms.toFixed(1) : Math.round(ms).toString(),
      ok: status === 200,
      requestId,
      url,
      requestJson: JSON.stringify(body, null, 2),
      requestBytes: Buffer.byteLength(raw),
      signatureHeader: 'X-NCP-CHATBOT_SIGNATURE',
      signaturePreview: `${signature.slice(0, 12)}…`,
      responseJson: (parsed === undefined ? text : pretty(text)).slice(0, MAX_SHOWN),
      speech: status === 200 ? spokenText(parsed) : undefined,
      cekError: status !== 200 && typeof cekError?.code === 'string' ? { code: cekError.code, message: typeof cekError.message === 'string' ? cekError.message : '' } : undefined,
      outcome: sent.outcome === undefined ? undefined : { code: sent.outcome, text: OUTCOMES[sent.outcome] ?? sent.outcome },
      action:
        action === undefined
          ? undefined
          : {
              name: action.name,
              url: action.url,
              triggerText: describeTrigger(action.trigger),
              forwarded: sent.action?.forwarded === true,
              headers: forwardedHeaders(action, id, values.userId, requestId),
            },
    };
    await consolePage(req, res, 200, record, form, result);
  });

  return router;
}
