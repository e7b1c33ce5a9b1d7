import { acknowledgement } from '../cek/response.js';
import { createViews } from '../http/views.js';
import type { Services } from '../services.js';
import { linkingRoutes } from './routes.js';
import { LinkingService } from './service.js';

/** Account linking: the LinkedTokens of action methods, the pages and SkillDisabled (its admin routes: `app.ts`). */
export function installLinking(s: Services): LinkingService {
  const linking = new LinkingService({
    config: s.config,
    store: s.store,
    keyring: s.keyring,
    registry: s.registry,
    log: s.log,
    metrics: s.metrics,
  });
  s.linking = linking;
  s.onStop.push(() => linking.clients.close());

  // CLOVA drops its own copy of the user's tokens when the skill is disabled; we drop ours (and revoke them).
  s.responders.push(async (ctx) => {
    const { cek } = ctx;
    if (cek.type !== 'EventRequest' || cek.eventNamespace !== 'ClovaSkill' || cek.eventName !== 'SkillDisabled') return undefined;
    const result = cek.userId === '' ? 'unlinked' : await linking.skillDisabled(ctx.ext.record.extensionId, cek.userId, cek.body.request['timestamp']);
    ctx.outcome = result === 'kept' ? 'skill_disabled_stale' : 'skill_disabled';
    return acknowledgement(cek.version);
  });

  s.publicRouters.push(linkingRoutes(linking, createViews(), s.log, s.config.publicUrl.startsWith('https:')));

  s.registry.onDelete(async (extensionId) => {
    for (const { userId } of await linking.vault.list(extensionId)) await linking.vault.remove(extensionId, userId);
    await linking.health.healed(extensionId);
  });
  return linking;
}
