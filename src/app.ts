import express, { type Express } from 'express';
import helmet from 'helmet';
import { actionsRoutes } from './admin/api/actionsRoutes.js';
import { extensionsRoutes } from './admin/api/extensionsRoutes.js';
import { gatewayRoutes } from './admin/api/gatewayRoutes.js';
import { forwardingRoutes } from './admin/api/forwardingRoutes.js';
import { linkingAdminRoutes } from './admin/api/linkingRoutes.js';
import { selfTestRoutes } from './admin/api/selfTestRoutes.js';
import { testRequestsRoutes } from './admin/api/testRequestsRoutes.js';
import { webhooksRoutes } from './admin/api/webhooksRoutes.js';
import { LoginLimiter, requireAdminToken } from './admin/adminAuth.js';
import { adminPages } from './admin/pages/install.js';
import { AppError } from './http/errors.js';
import { jsonErrorHandler, methodNotAllowed, notFound, requestObserver } from './http/expressGlue.js';
import { healthRoutes } from './http/health.js';
import { withBodyDeadline } from './http/readBody.js';
import { PUBLIC_DIR } from './http/views.js';
import type { Services } from './services.js';

/**
 * The Express app for everything but the CEK voice route (DESIGN.md section 2): the admin API and
 * pages of every installed feature, and the features' public routes. Does not listen.
 */
export function createApp(s: Services): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', s.config.trustProxy);
  app.set('query parser', 'simple');

  app.use(requestObserver(s.log, s.metrics));
  app.use(healthRoutes(s.store, s.metrics));
  app.use(helmet());
  app.use('/static', express.static(PUBLIC_DIR, { maxAge: '1h', index: false }));
  // Whoever opens the bare address gets the admin pages, not a JSON 404.
  app.get('/', (_req, res) => res.redirect(302, '/admin'));

  const api = express.Router();
  // Shares its counts with the admin pages' sign-in (same store keys).
  api.use(requireAdminToken(s.config.adminToken, new LoginLimiter(s.store)));
  api.use(withBodyDeadline(express.json({ limit: '64kb', type: ['application/json', 'application/*+json'] })));
  // A body in another format would otherwise read as "no fields": say what is expected instead.
  api.use((req, _res, next) => {
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (hasBody && !req.is(['application/json', 'application/*+json'])) {
      throw new AppError('unsupported_media_type', 'Send the request body as JSON (content-type: application/json).');
    }
    next();
  });
  api.use(extensionsRoutes(s.registry, s.config.publicUrl));
  api.use(selfTestRoutes(s.registry, s.config.publicUrl));
  api.use(testRequestsRoutes({ registry: s.registry, tap: s.tap, log: s.log, isTestUser: (id, user) => s.features.linking.service.isTestUser(id, user) }));
  api.use(forwardingRoutes(s.registry, s.keyring));
  api.use(actionsRoutes({ registry: s.registry, production: s.config.production }));
  api.use(linkingAdminRoutes(s.registry, s.features.linking.service, { publicUrl: s.config.publicUrl }));
  api.use(webhooksRoutes(s.features.webhooks.service));
  api.use(gatewayRoutes({ registry: s.registry, gateway: s.features.gateway.service, publicUrl: s.config.publicUrl }));
  // Last: a known path with another method is 405, not the 404 of an unknown one.
  api.use(methodNotAllowed(api));
  for (const f of s.features.all) if (f.publicRouter !== undefined) app.use(f.publicRouter(s.pipeline));
  app.use(adminPages(s));
  app.use('/api/v1', api);

  // The voice route only takes POST, which createServer hands to the CEK handler before Express. Its
  // path is matched case-sensitively, as createServer does: `/CEK/…` is no invoke URL (404), and a
  // POST there must not be told to use POST.
  const voice = express.Router({ caseSensitive: true });
  voice.all('/cek/:extensionId', (_req, res) => {
    res.setHeader('allow', 'POST');
    throw new AppError('method_not_allowed', 'The CEK endpoint only accepts POST.');
  });
  app.use(voice);

  app.use(notFound);
  app.use(jsonErrorHandler());
  return app;
}
