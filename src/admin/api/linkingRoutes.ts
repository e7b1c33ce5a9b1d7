import { Router } from 'express';
import { z } from 'zod';
import type { ExtensionRegistry } from '../../extensions/registry.js';
import { AppError } from '../../http/errors.js';
import { parseInput } from '../../http/validate.js';
import { LinkFailure } from '../../linking/failures.js';
import type { LinkingService } from '../../linking/service.js';
import { formatSettings, settingsOf } from '../../linking/settings.js';
import type { TokenRecord } from '../../linking/vault.js';

const ticketInput = z.object({ userId: z.string().trim().min(1, 'is required').max(256) }).strict();

function formatLink(userId: string, r: TokenRecord) {
  return {
    userId,
    status: r.status,
    linkedAt: r.linkedAt,
    refreshedAt: r.refreshedAt,
    expiresAt: r.expiresAt === null ? null : new Date(r.expiresAt).toISOString(),
    scope: r.scope,
    brokenReason: r.brokenReason ?? null,
  };
}

/** Server settings, linked users and link tickets (DESIGN.md section 7). Tokens and the client secret never leave. */
export function linkingAdminRoutes(registry: ExtensionRegistry, linking: LinkingService, o: { publicUrl: string }): Router {
  const router = Router();

  router.get('/extensions/:id/account-linking', async (req, res) => {
    const ext = await registry.get(req.params['id'] as string);
    res.json(formatSettings(settingsOf(ext), ext, o.publicUrl));
  });

  /** Merge semantics: an omitted field keeps its value, `null` clears it; `clientSecret` is write-only. */
  router.put('/extensions/:id/account-linking', async (req, res) => {
    const { extension, settings } = await linking.saveSettings(req.params['id'] as string, req.body);
    res.json(formatSettings(settings, extension, o.publicUrl));
  });

  router.get('/extensions/:id/links', async (req, res) => {
    const links = await linking.links(req.params['id'] as string);
    res.json({ links: links.map((l) => formatLink(l.userId, l.record)) });
  });

  router.delete('/extensions/:id/links/:userId', async (req, res) => {
    const ext = await registry.get(req.params['id'] as string);
    const removed = await linking.unlink(ext.extensionId, req.params['userId'] as string);
    if (!removed) throw new AppError('not_found', 'That user has no link with this extension.');
    res.status(204).end();
  });

  router.post('/extensions/:id/link-tickets', async (req, res) => {
    const ext = await registry.get(req.params['id'] as string);
    const { userId } = parseInput(ticketInput, req.body);
    try {
      res.status(201).json(await linking.mintLinkTicket(ext.extensionId, userId));
    } catch (err) {
      if (err instanceof LinkFailure && err.reason === 'not_configured') {
        throw new AppError('conflict', 'Account linking is not enabled for this extension: PUT its account-linking settings first.');
      }
      throw err;
    }
  });

  return router;
}
