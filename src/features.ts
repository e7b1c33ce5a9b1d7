import { installActions } from './actions/install.js';
import { installGateway } from './gateway/install.js';
import { installLinking } from './linking/install.js';
import type { Services } from './services.js';

/**
 * Installs the feature modules on the shared services: each adds its CEK responders, gates and
 * public routers. The order of responders is the order of installation. Their admin API routes
 * and the admin pages are mounted by `app.ts` (DESIGN.md section 2: only it imports `admin/`).
 */
export async function installFeatures(s: Services): Promise<void> {
  // Features register here, one line each.
  installLinking(s);
  await installActions(s);
  installGateway(s);
}
