import type { Request, Response, Router } from 'express';
import { VERIFICATION_MODES } from '../../cek/verify.js';
import { DEFAULT_MESSAGES, fillLoginPrompt, resolveMessages } from '../../extensions/messages.js';
import { swaggerDocument } from '../../gateway/swagger.js';
import { LANGUAGES, patchExtensionInput, type ExtensionRecord } from '../../extensions/model.js';
import { parseInput } from '../../http/validate.js';
import { AppError } from '../../http/errors.js';
import { runSelfTest } from '../selfTest.js';
import { formatMisconfiguration } from '../../linking/health.js';
import { formatSettings, settingsOf, shownUrl } from '../../linking/settings.js';
import { formatExtension } from '../api/formatExtension.js';
import { linkingOf, page, redirectWith, secretFlash, type PagesContext } from './context.js';
import { LANGUAGE_LABELS } from './extensionsPages.js';
import { applyError, checked, emptyForm, field, messageField, messageOrNull, textOrNull, type FormState } from './forms.js';
import { extensionTabs } from './tabs.js';
import { adminRouter } from '../pathParams.js';

/** The code in the preview of the login prompt, read digit by digit as CLOVA will. */
export const PREVIEW_CODE = '1 2 3, 4 5 6, 7 8 9, 0 1 2';

/** How long the old secret keeps working after a rotation (rotateSecretInput allows 0 to 7 days). */
const GRACE_OPTIONS = [
  { value: '0', label: 'stops working at once', flash: 'The old secret no longer works.' },
  { value: '3600', label: 'keeps working for 1 hour (default)', flash: 'The old secret keeps working for 1 hour.' },
  { value: '86400', label: 'keeps working for 1 day', flash: 'The old secret keeps working for 1 day.' },
  { value: '604800', label: 'keeps working for 7 days', flash: 'The old secret keeps working for 7 days.' },
];

const DEFAULT_GRACE = '3600';
const GRACE_REFUSED = 'Choose one of the periods offered (at once, 1 hour, 1 day or 7 days). No new secret was made.';

const VERIFICATION_LABELS: Record<(typeof VERIFICATION_MODES)[number], string> = {
  any: 'Either signature (default): SignatureCEK or the Chatbot Secret, at least one, every one present valid',
  cekSignature: 'SignatureCEK only: requests signed by CLOVA (the test console cannot sign these)',
  chatbotSecret: 'Chatbot Secret only: X-NCP-CHATBOT_SIGNATURE required',
  both: 'Both: SignatureCEK and the Chatbot Secret on every request (the test console cannot sign these)',
};

const SERVER_FIELDS = {
  loginUrl: 'Login URL',
  tokenUrl: 'Access Token URL',
  clientId: 'Client ID',
  clientSecret: 'Client Secret',
  scope: 'Scope',
  clientAuth: 'Client authentication',
  issuer: 'Issuer',
  revocationUrl: 'Revocation URL',
};
const LINKING_FIELDS = { enabled: 'Account linking', loginPromptMessage: 'Login prompt', loginSuccessMessage: 'Login success message', keepAliveHours: 'Keep-alive refresh' };
const GENERAL_FIELDS = { name: 'Name', language: 'Language', welcome: 'Welcome message', fallback: 'Fallback message', error: 'Error message' };
const VERIFY_FIELDS = { verification: 'Verification', allowPrivateTargets: 'Private targets' };
const SECRET_FIELDS = { graceSeconds: 'Old secret' };

type FormKey = 'secret' | 'server' | 'linking' | 'general' | 'verify';

/** `/admin/extensions/:id`: the setup page, in the order of an integration (steps 1 to 4, then messages and verification). */
export function setupPages(ctx: PagesContext): Router {
  const { registry } = ctx.s;
  const { publicUrl } = ctx.s.config;
  const router = adminRouter();

  const current = (record: ExtensionRecord): Record<FormKey, FormState> => {
    const s = formatSettings(settingsOf(record), record, publicUrl);
    return {
      secret: emptyForm({ graceSeconds: DEFAULT_GRACE }),
      server: emptyForm({
        loginUrl: s.loginUrl ?? '',
        tokenUrl: s.tokenUrl ?? '',
        clientId: s.clientId ?? '',
        clientSecret: '',
        removeClientSecret: false,
        scope: s.scope,
        clientAuth: s.clientAuth,
        issuer: s.issuer ?? '',
        revocationUrl: s.revocationUrl ?? '',
      }),
      linking: emptyForm({
        enabled: s.enabled,
        loginPromptMessage: s.loginPromptMessage ?? '',
        loginSuccessMessage: s.loginSuccessMessage ?? '',
        keepAliveHours: s.keepAliveHours === null ? '' : String(s.keepAliveHours),
      }),
      general: emptyForm({
        name: record.name,
        language: record.language,
        welcome: messageField(record.messages.welcome),
        fallback: messageField(record.messages.fallback),
        error: messageField(record.messages.error),
      }),
      verify: emptyForm({ verification: record.verification, allowPrivateTargets: record.allowPrivateTargets === true }),
    };
  };

  const setupPage = async (req: Request, res: Response, status: number, id: string, posted: Partial<Record<FormKey, FormState>> = {}): Promise<void> => {
    const record = await registry.get(id);
    const ext = formatExtension(record, publicUrl);
    const linking = formatSettings(settingsOf(record), record, publicUrl);
    const misconfigured = formatMisconfiguration(await linkingOf(ctx.s)?.misconfiguration(record));
    const forms = { ...current(record), ...posted };
    const defaultPrompt = resolveMessages(record.language, record.messages).loginPrompt;
    const promptTemplate = String(forms.linking.values['loginPromptMessage'] ?? '').trim() || defaultPrompt;
    await page(
      ctx,
      req,
      res,
      status,
      'extension-setup.njk',
      {
        title: record.name,
        ext,
        tabs: extensionTabs(record.extensionId, 'setup'),
        linking,
        misconfigured,
        forms,
        defaults: DEFAULT_MESSAGES[record.language],
        preview: { code: PREVIEW_CODE, text: fillLoginPrompt(promptTemplate, { url: linking.linkUrl, code: PREVIEW_CODE }), defaultPrompt },
        graceOptions: GRACE_OPTIONS,
        languages: LANGUAGES.map((value) => ({ value, label: LANGUAGE_LABELS[value] })),
        verificationModes: VERIFICATION_MODES.map((value) => ({ value, label: VERIFICATION_LABELS[value] })),
        production: ctx.s.config.production,
      },
      { secretFor: record.extensionId },
    );
  };

  router.get('/extensions/:id', async (req, res) => {
    await setupPage(req, res, 200, req.params['id']);
  });

  // Step 2: the Swagger 2.0 document for an external API gateway, built by the gateway's own function
  // (the same as GET /api/v1/extensions/:id/swagger.json, which needs the bearer token a browser does not have).
  router.get('/extensions/:id/swagger.json', async (req, res) => {
    const record = await registry.get(req.params['id']);
    res.setHeader('content-disposition', `attachment; filename="${record.extensionId}.swagger.json"`);
    res.json(swaggerDocument(record, publicUrl));
  });

  // Step 1: a new Chatbot Secret; the old one keeps working for the chosen grace period.
  router.post('/extensions/:id/secret', async (req, res) => {
    const id = (await registry.get(req.params['id'])).extensionId;
    // Left out: the default, as in the API. Any value the select does not offer (a hand-made form) is
    // refused on the field, never replaced: the old secret must stop when the page said it would.
    const grace = GRACE_OPTIONS.find((g) => g.value === (field(req, 'graceSeconds') || DEFAULT_GRACE));
    if (grace === undefined) {
      const form = emptyForm({ graceSeconds: DEFAULT_GRACE });
      form.errors['graceSeconds'] = GRACE_REFUSED;
      await setupPage(req, res, 400, id, { secret: form });
      return;
    }
    const form = emptyForm({ graceSeconds: grace.value });
    try {
      const { chatbotSecret } = await registry.rotateSecret(id, Number(grace.value));
      await redirectWith(
        ctx,
        req,
        res,
        `/admin/extensions/${id}#secret`,
        secretFlash(ctx, req, id, chatbotSecret, `New Chatbot Secret generated. ${grace.flash} Copy the new one now: it is shown only this once.`),
      );
    } catch (err) {
      await setupPage(req, res, 400, id, { secret: applyError(form, err, { fields: SECRET_FIELDS }) });
    }
  });

  // Step 2: the verification self-test, the same as POST /api/v1/extensions/:id/self-test.
  router.post('/extensions/:id/self-test', async (req, res) => {
    const record = await registry.get(req.params['id']);
    const ext = await registry.resolve(record.extensionId);
    if (ext === undefined) throw new AppError('unknown_extension', `No extension with ID "${record.extensionId}".`);
    const report = await runSelfTest(ext, ctx.s.config.publicUrl);
    await page(ctx, req, res, 200, 'self-test.njk', {
      title: `Self-test · ${record.name}`,
      ext: formatExtension(record, ctx.s.config.publicUrl),
      tabs: extensionTabs(record.extensionId, 'setup'),
      report,
      failed: report.checks.filter((c) => c.result === 'fail').length,
    });
  });

  // Step 3: the OAuth server settings (through the admin API: its merge semantics and checks).
  router.post('/extensions/:id/account-linking', async (req, res) => {
    const record = await registry.get(req.params['id']);
    const id = record.extensionId;
    const secret = field(req, 'clientSecret');
    // What is shown again after a mistake; a URL's credentials are not (refused, like in the API).
    const values = {
      loginUrl: shownUrl(field(req, 'loginUrl').trim()),
      tokenUrl: shownUrl(field(req, 'tokenUrl').trim()),
      clientId: field(req, 'clientId').trim(),
      clientSecret: '', // write-only: never sent back to the browser, not even after a mistake
      removeClientSecret: checked(req, 'removeClientSecret'),
      scope: field(req, 'scope').trim(),
      clientAuth: field(req, 'clientAuth'),
      issuer: shownUrl(field(req, 'issuer').trim()),
      revocationUrl: shownUrl(field(req, 'revocationUrl').trim()),
    };
    const body: Record<string, unknown> = {
      enabled: settingsOf(record)?.enabled === true,
      loginUrl: textOrNull(req, 'loginUrl'),
      tokenUrl: textOrNull(req, 'tokenUrl'),
      issuer: textOrNull(req, 'issuer'),
      revocationUrl: textOrNull(req, 'revocationUrl'),
      scope: values.scope,
      ...(values.clientAuth === '' ? {} : { clientAuth: values.clientAuth }),
      ...(values.clientId === '' ? {} : { clientId: values.clientId }),
    };
    if (values.removeClientSecret) body['clientSecret'] = null;
    else if (secret.trim() !== '') body['clientSecret'] = secret;
    try {
      await linkingOf(ctx.s).saveSettings(id, body);
      const secretNote = body['clientSecret'] === null ? ' The client secret was removed.' : typeof body['clientSecret'] === 'string' ? ' The new client secret is stored encrypted.' : '';
      await redirectWith(ctx, req, res, `/admin/extensions/${id}#step-3`, { kind: 'ok', text: `Server settings saved.${secretNote}` });
    } catch (err) {
      const form = applyError(emptyForm(values), err, { fields: SERVER_FIELDS });
      if (typeof body['clientSecret'] === 'string') form.problems.push('The client secret you typed was discarded: type it again.');
      await setupPage(req, res, 400, id, { server: form });
    }
  });

  // Step 4: linking on/off and what the user hears and sees.
  router.post('/extensions/:id/account-linking/messages', async (req, res) => {
    const id = (await registry.get(req.params['id'])).extensionId;
    const values = {
      enabled: checked(req, 'enabled'),
      loginPromptMessage: field(req, 'loginPromptMessage').trim(),
      loginSuccessMessage: field(req, 'loginSuccessMessage').trim(),
      keepAliveHours: field(req, 'keepAliveHours').trim(),
    };
    try {
      // Blank: keep-alive off. Anything but a whole number is refused here, in the form's words.
      if (values.keepAliveHours !== '' && !/^\d{1,6}$/.test(values.keepAliveHours)) {
        throw new AppError('invalid_body', 'Invalid input: keepAliveHours must be a whole number of hours.', {
          details: [{ path: 'keepAliveHours', message: 'must be a whole number of hours (blank: off)' }],
        });
      }
      await linkingOf(ctx.s).saveSettings(id, {
        enabled: values.enabled,
        loginPromptMessage: textOrNull(req, 'loginPromptMessage'),
        loginSuccessMessage: textOrNull(req, 'loginSuccessMessage'),
        keepAliveHours: values.keepAliveHours === '' ? null : Number(values.keepAliveHours),
      });
      await redirectWith(ctx, req, res, `/admin/extensions/${id}#step-4`, { kind: 'ok', text: values.enabled ? 'Account linking is on.' : 'Account linking settings saved (linking is off).' });
    } catch (err) {
      const otherLabels = Object.fromEntries(Object.entries(SERVER_FIELDS).map(([k, v]) => [k, `${v} (Step 3)`]));
      await setupPage(req, res, 400, id, { linking: applyError(emptyForm(values), err, { fields: LINKING_FIELDS, otherLabels }) });
    }
  });

  // Name, language and the messages the extension speaks without action methods.
  router.post('/extensions/:id/general', async (req, res) => {
    const id = (await registry.get(req.params['id'])).extensionId;
    const values = {
      name: field(req, 'name').trim(),
      language: field(req, 'language'),
      welcome: field(req, 'welcome').trim(),
      fallback: field(req, 'fallback').trim(),
      error: field(req, 'error').trim(),
    };
    try {
      const input = parseInput(patchExtensionInput, {
        name: values.name,
        language: values.language,
        // Blank: back to the language's default sentence.
        messages: { welcome: messageOrNull(req, 'welcome'), fallback: messageOrNull(req, 'fallback'), error: messageOrNull(req, 'error') },
      });
      await registry.patch(id, input);
      await redirectWith(ctx, req, res, `/admin/extensions/${id}#general`, { kind: 'ok', text: 'Name, language and messages saved.' });
    } catch (err) {
      await setupPage(req, res, 400, id, { general: applyError(emptyForm(values), err, { fields: GENERAL_FIELDS, rename: (p) => p.replace(/^messages\./, '') }) });
    }
  });

  router.post('/extensions/:id/verification', async (req, res) => {
    const id = (await registry.get(req.params['id'])).extensionId;
    const values = { verification: field(req, 'verification'), allowPrivateTargets: checked(req, 'allowPrivateTargets') };
    try {
      await registry.patch(id, parseInput(patchExtensionInput, values));
      await redirectWith(ctx, req, res, `/admin/extensions/${id}#verification`, { kind: 'ok', text: 'Verification settings saved.' });
    } catch (err) {
      await setupPage(req, res, 400, id, { verify: applyError(emptyForm(values), err, { fields: VERIFY_FIELDS }) });
    }
  });

  return router;
}
