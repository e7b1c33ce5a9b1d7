import type { Router } from 'express';
import type { ExtensionRegistry } from '../../extensions/registry.js';
import { createExtensionInput, patchExtensionInput, rotateSecretInput } from '../../extensions/model.js';
import { parseInput } from '../../http/validate.js';
import { formatExtension } from './formatExtension.js';
import { adminRouter } from '../pathParams.js';

/** `/api/v1/extensions` (DESIGN.md section 7, first three rows). */
export function extensionsRoutes(registry: ExtensionRegistry, publicUrl: string): Router {
  const router = adminRouter();

  router.post('/extensions', async (req, res) => {
    const input = parseInput(createExtensionInput, req.body);
    const { record, chatbotSecret } = await registry.create(input);
    res.status(201).location(`/api/v1/extensions/${record.extensionId}`);
    // The only response besides a rotation that carries the secret.
    res.json({ ...formatExtension(record, publicUrl), chatbotSecret });
  });

  router.get('/extensions', async (_req, res) => {
    const { records, newer } = await registry.listReadable();
    const extensions = records.map((r) => formatExtension(r, publicUrl));
    // One extension a newer instance wrote (a rolling upgrade) must not hide the others: it is named apart.
    const skipped = newer.map(({ extensionId, error }) => ({ extensionId, error: { code: error.code, message: error.message } }));
    res.json(skipped.length === 0 ? { extensions } : { extensions, skipped });
  });

  router.get('/extensions/:id', async (req, res) => {
    res.json(formatExtension(await registry.get(req.params['id']), publicUrl));
  });

  router.patch('/extensions/:id', async (req, res) => {
    const id = req.params['id'];
    await registry.get(id); // 404 before 400: a bad body for a missing extension reports the missing extension
    const record = await registry.patch(id, parseInput(patchExtensionInput, req.body));
    res.json(formatExtension(record, publicUrl));
  });

  router.delete('/extensions/:id', async (req, res) => {
    await registry.delete(req.params['id']);
    res.status(204).end();
  });

  router.post('/extensions/:id/secret', async (req, res) => {
    const id = req.params['id'];
    await registry.get(id);
    const { graceSeconds } = parseInput(rotateSecretInput, req.body);
    const { record, chatbotSecret } = await registry.rotateSecret(id, graceSeconds);
    res.json({ ...formatExtension(record, publicUrl), chatbotSecret });
  });

  return router;
}
