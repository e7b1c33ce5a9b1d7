import type { Router } from 'express';
import { z } from 'zod';
import { forwardingInfo, removeForwardingSecret, rotateForwardingSecret } from '../../actions/signing.js';
import type { ExtensionRegistry } from '../../extensions/registry.js';
import { adminRouter } from '../pathParams.js';
import { parseInput } from '../../http/validate.js';
import type { Keyring } from '../../security/keyring.js';

const rotateInput = z
  .object({
    /** How long the previous secret keeps signing; 0 ends it at once. Default 1 day, at most 7 days. */
    graceSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600)
      .optional(),
  })
  .strict();

/** `/api/v1/extensions/:id/forwarding-secret`: the secret that signs action-method forwards (actions/signing.ts). */
export function forwardingRoutes(registry: ExtensionRegistry, keyring: Keyring): Router {
  const router = adminRouter();
  const path = '/extensions/:id/forwarding-secret';

  router.get(path, async (req, res) => {
    res.json(forwardingInfo(await registry.get(req.params['id'])));
  });

  // Creates or rotates; the new secret is in this response only.
  router.post(path, async (req, res) => {
    const id = (await registry.get(req.params['id'])).extensionId;
    const { graceSeconds } = parseInput(rotateInput, req.body ?? {});
    const { secret, record } = await rotateForwardingSecret(registry, keyring, id, graceSeconds);
    res.json({ ...forwardingInfo(record), secret });
  });

  router.delete(path, async (req, res) => {
    const id = (await registry.get(req.params['id'])).extensionId;
    await removeForwardingSecret(registry, id);
    res.status(204).end();
  });

  return router;
}
