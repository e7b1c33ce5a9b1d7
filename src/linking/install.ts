import { acknowledgement } from '../cek/response.js';
import type { CekResponder } from '../cek/dispatch.js';
import type { Core } from '../core.js';
import type { Feature } from '../feature.js';
import { describeError } from '../http/errorInfo.js';
import { createViews } from '../http/views.js';
import type { LinkEventSink } from './events.js';
import { linkingRoutes } from './routes.js';
import { LinkingService } from './service.js';

/** Account linking as installed: the service the admin API and pages manage, and what action methods use. */
export interface LinkingFeature extends Feature {
  readonly service: LinkingService;
}

export interface LinkingFeatureDeps {
  /** Where link and linking state changes go (lifecycle webhooks). */
  events: LinkEventSink;
}

/** Account linking: the LinkedTokens of action methods, the link pages and SkillDisabled (its admin routes: `app.ts`). */
export function installLinking(core: Core, deps: LinkingFeatureDeps): LinkingFeature {
  const linking = new LinkingService({
    config: core.config,
    store: core.store,
    keyring: core.keyring,
    registry: core.registry,
    log: core.log,
    metrics: core.metrics,
    events: deps.events,
  });
  // A store of an earlier version has links but no index of them: built once, in the background.
  void linking.ensureLinkIndex();

  // CLOVA drops its own copy of the user's tokens when the skill is disabled; we drop ours (and revoke them).
  const skillDisabled: CekResponder = async (ctx) => {
    const { cek } = ctx;
    if (cek.type !== 'EventRequest' || cek.eventNamespace !== 'ClovaSkill' || cek.eventName !== 'SkillDisabled') return undefined;
    const result = cek.userId === '' ? 'unlinked' : await linking.skillDisabled(ctx.ext.record.extensionId, cek.userId, cek.body.request['timestamp']);
    ctx.outcome = result === 'kept' ? 'skill_disabled_stale' : 'skill_disabled';
    return acknowledgement(cek.version);
  };

  const started = linking.start().catch((err: unknown) => core.log.error({ err: describeError(err) }, 'the keep-alive worker did not start'));
  const views = createViews();
  return {
    name: 'linking',
    service: linking,
    responders: [skillDisabled],
    publicRouter: () => linkingRoutes(linking, views, core.log, core.config.publicUrl.startsWith('https:'), core.keyring.deriveKey('csrf pre-session forms')),
    onExtensionDeleted: (extensionId) => linking.extensionDeleted(extensionId),
    async stop() {
      await started;
      await linking.close();
    },
  };
}
