import type { Router } from 'express';
import { AppError } from '../../http/errors.js';
import { noFields, parseInput } from '../../http/validate.js';
import type { ExtensionRegistry } from '../../extensions/registry.js';
import { adminRouter } from '../pathParams.js';
import { runSelfTest } from '../selfTest.js';

/**
 * `POST /api/v1/extensions/:id/self-test`: the verification self-test (admin/selfTest.ts). Always
 * 200 with the report when the extension exists; the report says which checks failed and why.
 */
export function selfTestRoutes(registry: ExtensionRegistry, publicUrl: string): Router {
  const router = adminRouter();
  router.post('/extensions/:id/self-test', async (req, res) => {
    const id = req.params['id'];
    await registry.get(id); // 404 before 400
    parseInput(noFields, req.body);
    const ext = await registry.resolve(id);
    if (ext === undefined) throw new AppError('unknown_extension', `No extension with ID "${id.slice(0, 255)}".`);
    res.json(await runSelfTest(ext, publicUrl));
  });
  return router;
}
