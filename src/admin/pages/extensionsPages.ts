import type { Request, Response, Router } from 'express';
import { actionsOf } from '../../actions/model.js';
import { createExtensionInput, EXTENSION_ID, EXTENSION_ID_RULE, LANGUAGES } from '../../extensions/model.js';
import { parseInput } from '../../http/validate.js';
import { settingsOf } from '../../linking/settings.js';
import { formatExtension } from '../api/formatExtension.js';
import { page, redirectWith, secretFlash, type PagesContext } from './context.js';
import { applyError, emptyForm, field, type FormState } from './forms.js';
import { adminRouter } from '../pathParams.js';

export const LANGUAGE_LABELS: Record<(typeof LANGUAGES)[number], string> = { ko: 'Korean (ko)', en: 'English (en)', ja: 'Japanese (ja)' };

const CREATE_FIELDS = { extensionId: 'Extension ID', name: 'Name', language: 'Language' };

/** `/admin/extensions`: the list, create, and delete with confirmation. */
export function extensionsPages(ctx: PagesContext): Router {
  const { registry } = ctx.s;
  const publicUrl = ctx.s.config.publicUrl;
  const router = adminRouter();

  const listPage = async (req: Request, res: Response, status: number, form: FormState): Promise<void> => {
    const { records: readable, newer } = await registry.listReadable();
    const records = readable.sort((a, b) => a.extensionId.localeCompare(b.extensionId));
    const extensions = records.map((r) => ({
      ...formatExtension(r, publicUrl),
      actionCount: Object.keys(actionsOf(r.sections)).length,
      linkingEnabled: settingsOf(r)?.enabled === true,
    }));
    await page(ctx, req, res, status, 'extensions.njk', {
      title: 'Extensions',
      extensions,
      newer: newer.map((n) => n.error.message),
      form,
      languages: LANGUAGES.map((value) => ({ value, label: LANGUAGE_LABELS[value] })),
      idPattern: EXTENSION_ID.source,
      idRule: EXTENSION_ID_RULE,
    });
  };

  router.get('/extensions', async (req, res) => {
    await listPage(req, res, 200, emptyForm({ language: 'ko' }));
  });

  router.post('/extensions', async (req, res) => {
    const values = { extensionId: field(req, 'extensionId').trim(), name: field(req, 'name').trim(), language: field(req, 'language') };
    const form = emptyForm(values);
    try {
      const input = parseInput(createExtensionInput, {
        extensionId: values.extensionId,
        ...(values.name === '' ? {} : { name: values.name }),
        ...(values.language === '' ? {} : { language: values.language }),
      });
      const { record, chatbotSecret } = await registry.create(input);
      const flash = secretFlash(ctx, req, record.extensionId, chatbotSecret, `Extension ${record.extensionId} created. Copy its Chatbot Secret now: it is shown only this once.`);
      await redirectWith(ctx, req, res, `/admin/extensions/${record.extensionId}#secret`, flash);
    } catch (err) {
      applyError(form, err, { fields: CREATE_FIELDS });
      // The registry's invalid_extension_id and extension_exists carry no field: they are about the ID.
      if (form.problems.length > 0 && Object.keys(form.errors).length === 0) form.errors['extensionId'] = form.problems.shift() ?? '';
      await listPage(req, res, 400, form);
    }
  });

  router.get('/extensions/:id/delete', async (req, res) => {
    const record = await registry.get(req.params['id']);
    await page(ctx, req, res, 200, 'extension-delete.njk', { title: `Delete ${record.extensionId}`, ext: formatExtension(record, publicUrl), form: emptyForm() });
  });

  router.post('/extensions/:id/delete', async (req, res) => {
    const record = await registry.get(req.params['id']);
    const typed = field(req, 'confirmId').trim();
    if (typed !== record.extensionId) {
      const form = emptyForm({ confirmId: typed });
      form.errors['confirmId'] = `Type ${record.extensionId} exactly to confirm.`;
      await page(ctx, req, res, 400, 'extension-delete.njk', { title: `Delete ${record.extensionId}`, ext: formatExtension(record, publicUrl), form });
      return;
    }
    await registry.delete(record.extensionId);
    await redirectWith(ctx, req, res, '/admin/extensions', { kind: 'ok', text: `Extension ${record.extensionId} deleted, with its secrets, settings, action methods and linked users.` });
  });

  return router;
}
