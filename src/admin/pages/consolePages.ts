import type { Request, Response, Router } from 'express';
import { actionsOf, describeTrigger, type ActionDefinition } from '../../actions/model.js';
import { spokenText } from '../../cek/sample.js';
import { LOCALE_LANGUAGES, LOCALES, type Locale } from '../../extensions/messages.js';
import type { ExtensionRecord } from '../../extensions/model.js';
import { compiledGatewayOf } from '../../gateway/gateway.js';
import { noControlChars } from '../../http/validate.js';
import { formatExtension } from '../api/formatExtension.js';
import { adminRouter } from '../pathParams.js';
import { selfBaseUrl } from '../selfUrl.js';
import { sendTestRequest, signingSecretOf } from '../testRequest.js';
import { addTurn, ConsoleConversations, MAX_TURNS, newConversation, nextRequest, saidOf, type ConsoleConversation, type ConsoleTurn, type TurnInput } from './consoleConversation.js';
import { conversationScenario } from './consoleScenario.js';
import { linkingOf, page, sessionOf, type PagesContext } from './context.js';
import { emptyForm, field, parseNameValueLines, type FormState } from './forms.js';
import { extensionTabs } from './tabs.js';

const MAX_SHOWN = 64 * 1024;

const TYPES = [
  { value: 'LaunchRequest', label: 'Launch (LaunchRequest)' },
  { value: 'IntentRequest', label: 'Intent (IntentRequest)' },
  { value: 'EventRequest', label: 'Event (EventRequest)' },
];

/** Events CLOVA sends an extension (docs/cek-protocol.md); any other is given by namespace and name. */
const EVENTS = [
  'ClovaSkill.SkillEnabled',
  'ClovaSkill.SkillDisabled',
  'AudioPlayer.PlayStarted',
  'AudioPlayer.PlayPaused',
  'AudioPlayer.PlayResumed',
  'AudioPlayer.PlayStopped',
  'AudioPlayer.PlayFinished',
  'AudioPlayer.ProgressReportDelayPassed',
  'AudioPlayer.ProgressReportIntervalPassed',
  'AudioPlayer.ProgressReportPositionPassed',
];

const LOCALE_LABELS: Record<Locale, string> = { 'ko-KR': 'ko-KR (Korean)', 'en-US': 'en-US (English)', 'ja-JP': 'ja-JP (Japanese)' };

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
  store_unavailable: 'The store did not answer: the error message was spoken.',
  record_from_newer_version: "A stored record (the user's token record) was written by a newer version of cek-gateway: the error message was spoken. Upgrade this instance.",
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

const isLocale = (v: string): v is Locale => (LOCALES as readonly string[]).includes(v);
const localeOf = (record: ExtensionRecord): Locale => LOCALES.find((l) => LOCALE_LANGUAGES[l] === record.language) ?? 'ko-KR';

/** The answer's `namespace.name` directive types, as the scenario runner reads them. */
function directivesOf(body: unknown): string[] {
  const list = (body as { response?: { directives?: unknown } } | null)?.response?.directives;
  if (!Array.isArray(list)) return [];
  return list.map((d: unknown) => {
    const header = (d as { header?: { namespace?: unknown; name?: unknown } } | null)?.header;
    return `${String(header?.namespace)}.${String(header?.name)}`;
  });
}

/** The last turn in the shape of the detailed result panel. */
function resultOf(t: ConsoleTurn) {
  return {
    status: t.status,
    ms: t.ms,
    ok: t.status === 200,
    requestId: t.requestId,
    url: t.url,
    requestJson: t.requestJson,
    requestBytes: t.requestBytes,
    signatureHeader: 'X-NCP-CHATBOT_SIGNATURE',
    signaturePreview: t.signaturePreview,
    responseJson: t.responseJson,
    speech: t.speech === null ? undefined : { speech: t.speech, endsSession: t.endsSession ?? undefined },
    cekError: t.cekError ?? undefined,
    outcome: t.outcome === null ? undefined : { code: t.outcome, text: OUTCOMES[t.outcome] ?? t.outcome },
    action: t.action ?? undefined,
  };
}

/**
 * `/admin/extensions/:id/console`: a conversation with the extension through this instance's real
 * CEK endpoint, turn by turn as CLOVA holds a session (one session id, `session.new` on the first
 * turn, the previous answer's `sessionAttributes` sent back), shown as a transcript that survives a
 * reload, ended with a SessionEndedRequest, and downloadable as a `cek-gateway test` scenario.
 */
export function consolePages(ctx: PagesContext): Router {
  const { registry } = ctx.s;
  const conversations = new ConsoleConversations(ctx.s.store);
  const router = adminRouter();

  /** Linked users to offer in the user field (the first 50: a datalist, not a directory), test users first. */
  const usersOf = async (extensionId: string): Promise<Array<{ userId: string; test: boolean }>> => {
    const links = (await linkingOf(ctx.s).links(extensionId, { limit: 50 })).links.map((l) => ({ userId: l.userId, test: l.record.test === true }));
    return [...links.filter((l) => l.test), ...links.filter((l) => !l.test)];
  };

  const consolePage = async (req: Request, res: Response, status: number, record: ExtensionRecord, form: FormState): Promise<void> => {
    const id = record.extensionId;
    const actions = Object.values(actionsOf(record.sections));
    const users = await usersOf(id);
    const conversation = await conversations.get(sessionOf(req).keyHash, id);
    const last = conversation?.turns.at(-1);
    await page(ctx, req, res, status, 'console.njk', {
      title: `Test console · ${record.name}`,
      ext: formatExtension(record, ctx.s.config.publicUrl),
      tabs: extensionTabs(id, 'console'),
      form,
      types: TYPES,
      events: [...EVENTS.map((value) => ({ value, label: value })), { value: '', label: 'Another event (namespace and name below)' }],
      locales: LOCALES.map((value) => ({ value, label: LOCALE_LABELS[value] })),
      intents: [...new Set(actions.flatMap((a) => (a.trigger.type === 'IntentRequest' ? [a.trigger.intent] : [])))].sort(),
      users,
      conversation:
        conversation === undefined
          ? undefined
          : {
              userId: conversation.userId,
              locale: conversation.locale,
              sessionId: conversation.sessionId,
              ended: conversation.ended,
              full: conversation.turns.length >= MAX_TURNS,
              testUser: conversation.turns.some((t) => t.testUser),
              turns: conversation.turns.map((t, i) => ({
                ...t,
                number: i + 1,
                said: saidOf(t),
                answered: t.speech !== null,
                outcomeText: t.outcome === null ? undefined : OUTCOMES[t.outcome],
                attributes: t.sessionAttributes !== null && Object.keys(t.sessionAttributes).length > 0 ? JSON.stringify(t.sessionAttributes) : undefined,
              })),
            },
      maxTurns: MAX_TURNS,
      cannotSign: record.verification === 'cekSignature' || record.verification === 'both',
      // The console cannot send an API key: they are stored hashed and shown only when made.
      needsApiKey: compiledGatewayOf(record).requireApiKey,
      result: last === undefined ? undefined : resultOf(last),
    });
  };

  const defaults = async (record: ExtensionRecord, conversation: ConsoleConversation | undefined): Promise<FormState['values']> => {
    const firstIntent = Object.values(actionsOf(record.sections)).find((a) => a.trigger.type === 'IntentRequest');
    const users = conversation === undefined ? await usersOf(record.extensionId) : [];
    return {
      type: conversation === undefined || firstIntent === undefined ? 'LaunchRequest' : 'IntentRequest',
      userId: conversation?.userId ?? users[0]?.userId ?? 'test-user-1',
      locale: conversation?.locale ?? localeOf(record),
      intent: firstIntent?.trigger.type === 'IntentRequest' ? firstIntent.trigger.intent : '',
      slots: '',
      event: EVENTS[0] ?? '',
      eventNamespace: '',
      eventName: '',
    };
  };

  router.get('/extensions/:id/console', async (req, res) => {
    const record = await registry.get(req.params['id']);
    const conversation = await conversations.get(sessionOf(req).keyHash, record.extensionId);
    await consolePage(req, res, 200, record, emptyForm(await defaults(record, conversation)));
  });

  /** One turn: `do=end` sends a SessionEndedRequest, anything else the chosen request. Then back to the transcript (post/redirect/get). */
  router.post('/extensions/:id/console', async (req, res) => {
    const record = await registry.get(req.params['id']);
    const id = record.extensionId;
    const keyHash = sessionOf(req).keyHash;
    const stored = await conversations.get(keyHash, id);
    const ending = field(req, 'do') === 'end' || field(req, 'type') === 'SessionEndedRequest';
    const values = {
      type: ending ? 'SessionEndedRequest' : field(req, 'type'),
      userId: stored?.userId ?? field(req, 'userId').trim(),
      locale: stored?.locale ?? field(req, 'locale'),
      intent: field(req, 'intent').trim(),
      slots: field(req, 'slots'),
      event: field(req, 'event'),
      eventNamespace: field(req, 'eventNamespace').trim(),
      eventName: field(req, 'eventName').trim(),
    };
    const form = emptyForm(values);
    if (stored === undefined) {
      if (values.userId === '') form.errors['userId'] = 'Give a CEK user ID (any text; a linked or test user to use their account).';
      else if (values.userId.length > 256) form.errors['userId'] = 'Must be at most 256 characters.';
      else if (!noControlChars(false)(values.userId)) form.errors['userId'] = 'Must not contain control characters (line breaks, tabs, NUL, ESC, …): a CEK user ID is one line of text.';
      if (values.locale === '') values.locale = localeOf(record);
      if (!isLocale(values.locale)) form.errors['locale'] = `Choose one of ${LOCALES.join(', ')}.`;
    }
    let input: TurnInput | undefined;
    if (ending) input = { kind: 'end' };
    else if (values.type === 'LaunchRequest') input = { kind: 'launch' };
    else if (values.type === 'IntentRequest') {
      const slots = parseNameValueLines(values.slots, { separator: '=', shape: 'name=value', noun: 'slot', unique: false });
      if (values.intent === '') form.errors['intent'] = 'Give the intent name, as in the CLOVA console.';
      if (slots.problem !== undefined) form.errors['slots'] = slots.problem;
      input = { kind: 'intent', intent: { name: values.intent, slots: slots.values } };
    } else if (values.type === 'EventRequest') {
      const [namespace = '', name = ''] = EVENTS.includes(values.event) ? values.event.split('.') : [values.eventNamespace, values.eventName];
      if (namespace === '') form.errors['eventNamespace'] = 'Give the event namespace.';
      if (name === '') form.errors['eventName'] = 'Give the event name.';
      input = { kind: 'event', event: { namespace, name } };
    } else form.errors['type'] = 'Choose a request type.';
    if (stored?.ended === true) form.problems.push('This session has ended: download the conversation as a scenario, or start a new conversation.');
    else if (stored !== undefined && stored.turns.length >= MAX_TURNS) form.problems.push(`A conversation holds at most ${MAX_TURNS} turns: download it, or start a new conversation.`);
    const secret = await signingSecretOf(registry, id);
    if (secret === undefined) form.problems.push('The Chatbot Secret of this extension cannot be opened with the configured encryption keys: generate a new one (Setup, Step 1).');
    if (input === undefined || secret === undefined || Object.keys(form.errors).length > 0 || form.problems.length > 0) {
      await consolePage(req, res, stored?.ended === true || form.problems.length > 0 ? 409 : 400, record, form);
      return;
    }

    const conversation = stored ?? newConversation(values.userId, values.locale as Locale);
    const body = nextRequest(conversation, input, { extensionId: id, language: record.language });
    const raw = JSON.stringify(body);
    const sent = await sendTestRequest(
      { tap: ctx.tap, log: ctx.s.log, isTestUser: (ext, user) => linkingOf(ctx.s).isTestUser(ext, user) },
      { extensionId: id, raw, secret, baseUrl: selfBaseUrl(req), origin: 'admin-console', reqId: req.requestId },
    );
    if (!sent.ok) {
      form.problems.push(`The request did not get an answer from this instance's CEK endpoint (${sent.reason}).`);
      await consolePage(req, res, 502, record, form);
      return;
    }
    const { status, text, ms, requestId, signature, url, json: parsed } = sent;
    const action = sent.action?.def;
    const cekError = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const spoken = status === 200 ? spokenText(parsed) : undefined;
    const attributes = (parsed as { sessionAttributes?: unknown } | undefined)?.sessionAttributes;
    addTurn(conversation, {
      ...input,
      at: new Date().toISOString(),
      requestId,
      url,
      signaturePreview: `${signature.slice(0, 12)}…`,
      status,
      ms: ms < 10 ? ms.toFixed(1) : Math.round(ms).toString(),
      speech: spoken?.speech ?? null,
      endsSession: spoken?.endsSession ?? null,
      outcome: sent.outcome ?? null,
      directives: status === 200 ? directivesOf(parsed) : [],
      sessionAttributes: status === 200 && typeof attributes === 'object' && attributes !== null && !Array.isArray(attributes) ? (attributes as Record<string, unknown>) : null,
      cekError: status !== 200 && typeof cekError?.code === 'string' ? { code: cekError.code, message: typeof cekError.message === 'string' ? cekError.message : '' } : null,
      action:
        action === undefined
          ? null
          : {
              name: action.name,
              url: action.url,
              triggerText: describeTrigger(action.trigger),
              forwarded: sent.action?.forwarded === true,
              tokenSent: sent.action?.tokenSent === true,
              headers: forwardedHeaders(action, id, conversation.userId, requestId),
            },
      testUser: sent.testUser,
      requestJson: JSON.stringify(body, null, 2),
      requestBytes: Buffer.byteLength(raw),
      responseJson: (parsed === undefined ? text : pretty(text)).slice(0, MAX_SHOWN),
    });
    await conversations.save(keyHash, id, conversation);
    res.redirect(303, `/admin/extensions/${id}/console#turn-${conversation.turns.length}`);
  });

  /** Forgets the conversation: the next turn opens a new session (and may choose another user and locale). */
  router.post('/extensions/:id/console/new', async (req, res) => {
    const record = await registry.get(req.params['id']);
    await conversations.clear(sessionOf(req).keyHash, record.extensionId);
    res.redirect(303, `/admin/extensions/${record.extensionId}/console`);
  });

  /** The conversation as a scenario file of `cek-gateway test`, as an attachment. */
  router.get('/extensions/:id/console/scenario.yaml', async (req, res) => {
    const record = await registry.get(req.params['id']);
    const conversation = await conversations.get(sessionOf(req).keyHash, record.extensionId);
    if (conversation === undefined || conversation.turns.length === 0) {
      const form = emptyForm(await defaults(record, conversation));
      form.problems.push('There is no conversation to download yet: send a first turn.');
      await consolePage(req, res, 404, record, form);
      return;
    }
    const testUser = await linkingOf(ctx.s).isTestUser(record.extensionId, conversation.userId);
    res.setHeader('content-type', 'application/yaml; charset=utf-8');
    res.setHeader('content-disposition', `attachment; filename="${record.extensionId}.console.yaml"`);
    res.send(conversationScenario(conversation, { extensionId: record.extensionId, testUser }));
  });

  return router;
}
