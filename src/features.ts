import { installActions } from './actions/install.js';
import { installAdminPages } from './admin/pages/install.js';
import { installGateway } from './gateway/install.js';
import { installLinking } from './linking/install.js';
import type { Services } from './services.js';

/**
 * Installs the feature modules on the shared services: each adds its CEK responders, gates, admin
 * and public routers. The order of responders is the order of installation.
 */
export async function installFeatures(s: Services): Promise<void> {
  // Features register here, one line each.
  installLinking(s);
  await installActions(s);
  installGateway(s);
  installAdminPages(s);
}
