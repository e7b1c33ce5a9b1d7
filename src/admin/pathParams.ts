import { Router, type Request } from 'express';
import { EXTENSION_ID_RULE, isExtensionId } from '../extensions/model.js';
import { AppError } from '../http/errors.js';
import { DELIVERY_ID, WEBHOOK_ID } from '../webhooks/model.js';

/**
 * The path parameters of the admin API and pages, checked once where a router matches them
 * (issue 12, "types at the edge"), so no handler reads an unchecked or untyped value:
 * - `:id`, an Extension ID: 400 `invalid_extension_id` with the rule in words;
 * - `:webhookId`, `:deliveryId`: ids as the gateway mints them (`wh_…`, `msg_…`), else 400 `invalid_request`;
 * - `:name`, `:keyId`, `:userId` are looked up as they are (an unknown one is a 404 of its own
 *   service; a bad action name in a PUT is reported with the body's fields).
 */
const CHECKS: Readonly<Record<string, (value: string) => AppError | undefined>> = {
  id: (value) => (isExtensionId(value) ? undefined : new AppError('invalid_extension_id', EXTENSION_ID_RULE)),
  webhookId: (value) => (WEBHOOK_ID.test(value) ? undefined : new AppError('invalid_request', 'A webhook id is "wh_" and 16 letters, digits, "-" or "_", as the create answer gave it.')),
  deliveryId: (value) => (DELIVERY_ID.test(value) ? undefined : new AppError('invalid_request', 'A delivery id is "msg_" and 24 letters, digits, "-" or "_", as the deliveries list gives it.')),
};

/** A Router whose routes' path parameters go through CHECKS before any handler runs. */
export function adminRouter(): Router {
  const router = Router();
  for (const [name, check] of Object.entries(CHECKS)) {
    router.param(name, (_req, _res, next, value: unknown) => {
      next(typeof value === 'string' ? check(value) : new AppError('invalid_request', `The path parameter "${name}" is missing.`));
    });
  }
  return router;
}

/** A path parameter, for code that takes the request as a plain `Request` (route params untyped there). */
export function pathParam(req: Request, name: 'id' | 'name' | 'keyId' | 'userId'): string {
  const value = req.params[name];
  if (typeof value !== 'string') throw new AppError('invalid_request', `The path parameter "${name}" is missing.`);
  return value;
}
