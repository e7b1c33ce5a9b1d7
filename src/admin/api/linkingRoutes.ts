import { Router } from 'express';
import { z } from 'zod';
import type { ExtensionRegistry } from '../../extensions/registry.js';
import { AppError } from '../../http/errors.js';
import { parseInput } from '../../http/validate.js';
import type { Keyring } from '../../security/keyring.js';
import { LinkFailure } from '../../linking/failures.js';
import { clientSecretContext } from '../../linking/oauthClient.js';
import type { LinkingService } from '../../linking/service.js';
import { formatSettings, incompleteSettings, SECTION, settingsInput, settingsOf, type LinkingSettings } from '../../linking/settings.js';
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
export function linkingAdminRoutes(registry: ExtensionRegistry, linking: LinkingService, keyring: Keyring, o: { publicUrl: string; production: boolean }): Router {
  const router = Router();
  const schema = settingsInput(o.production);

  router.get('/extensions/:id/account-linking', async (req, res) => {
    const ext = await registry.get(req.params['id'] as string);
    res.json(formatSettings(settingsOf(ext), ext, o.publicUrl));
  });

  /** Merge semantics: an omitted field keeps its value, `null` clears it; `clientSecret` is write-only. */
  router.put('/extensions/:id/account-linking', async (req, res) => {
    const ext = await registry.get(req.params['id'] as string);
    const input = parseInput(schema, req.body);
    const prev = settingsOf(ext);
    const next: LinkingSettings = {
      enabled: input.enabled,
      scope: input.scope ?? prev?.scope ?? '',
      clientAuth: input.clientAuth ?? prev?.clientAuth ?? 'basic',
      updatedAt: new Date().toISOString(),
    };
    const keep = <K extends 'loginUrl' | 'tokenUrl' | 'revocationUrl' | 'issuer' | 'loginPromptMessage' | 'loginSuccessMessage'>(k: K): void => {
      const v = input[k];
      const value = v === undefined ? prev?.[k] : (v ?? undefined);
      if (value !== undefined) next[k] = value;
    };
    for (const k of ['loginUrl', 'tokenUrl', 'revocationUrl', 'issuer', 'loginPromptMessage', 'loginSuccessMessage'] as const) keep(k);
    const clientId = input.clientId ?? prev?.clientId;
    if (clientId !== undefined) next.clientId = clientId;
    if (input.clientSecret === undefined) {
      if (prev?.clientSecretSealed !== undefined) next.clientSecretSealed = prev.clientSecretSealed;
    } else if (input.clientSecret !== null) {
      next.clientSecretSealed = keyring.seal(input.clientSecret, clientSecretContext(ext.extensionId));
    }
    const problems = incompleteSettings(next);
    if (next.scope.split(' ').includes('openid') && next.issuer === undefined) {
      problems.push({ path: 'issuer', message: 'is required when scope includes "openid", so the id_token can be validated' });
    }
    if (problems.length > 0) {
      throw new AppError('invalid_body', `Invalid input: ${problems[0]?.path} ${problems[0]?.message}.`, { details: problems });
    }
    const saved = await registry.setSection(ext.extensionId, SECTION, next);
    res.json(formatSettings(next, saved, o.publicUrl));
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
