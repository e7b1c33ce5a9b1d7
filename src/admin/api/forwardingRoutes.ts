import type { Router } from 'express';
import { forwardingInfo, removeForwardingSecret, rotateForwardingSecret } from '../../actions/signing.js';
import { rotateSecretInput } from '../../extensions/model.js';
import type { ExtensionRegistry } from '../../extensions/registry.js';
import { adminRouter } from '../pathParams.js';
import { parseInput } from '../../http/validate.js';
import type { Keyring } from '../../security/keyring.js';

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
    const { graceSeconds } = parseInput(rotateSecretInput, req.body ?? {});
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
