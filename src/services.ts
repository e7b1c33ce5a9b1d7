import type { CekResponder } from './cek/dispatch.js';
import { createCekPipeline, type CekPipeline } from './cek/pipeline.js';
import { CekTap } from './cek/tap.js';
import { createCore, type Core, type CoreOptions } from './core.js';
import { installFeatures, type Features } from './features.js';
import type { Gateway } from './gateway/gateway.js';
import type { LinkingService } from './linking/service.js';

/**
 * One instance, composed: the core, the features on it, and the CEK pipeline they answer through.
 * Built once and never written to afterwards; `createServer`/`createApp` only read it.
 */
export interface Services extends Core {
  readonly features: Features;
  /** Shortcuts to the features' services. */
  readonly linking: LinkingService;
  readonly gateway: Gateway;
  /** The one CEK pipeline behind the voice door and the messenger door. */
  readonly pipeline: CekPipeline;
  /** Sees the test console's own requests inside the pipeline (the first responder; it never answers). */
  readonly tap: CekTap;
  stop(): Promise<void>;
}

export interface ServiceOptions extends CoreOptions {
  /** Responders placed after the tap and before the features' (tests add probes here), given the features. */
  extraResponders?: (features: Features) => readonly CekResponder[];
}

export async function createServices(o: ServiceOptions): Promise<Services> {
  const core = await createCore(o);
  const features = installFeatures(core);
  for (const f of features.all) if (f.onExtensionDeleted !== undefined) core.registry.onDelete(f.onExtensionDeleted);
  const tap = new CekTap();
  const pipeline = createCekPipeline({
    registry: core.registry,
    log: core.log,
    metrics: core.metrics,
    responders: [tap.responder, ...(o.extraResponders?.(features) ?? []), ...features.all.flatMap((f) => f.responders ?? [])],
    gates: features.all.flatMap((f) => f.gates ?? []),
    isTestUserCall: (requestId) => tap.isTestUserCall(requestId),
  });
  return Object.freeze({
    ...core,
    features,
    linking: features.linking.service,
    gateway: features.gateway.service,
    pipeline,
    tap,
    async stop() {
      for (const f of [...features.all].reverse()) await f.stop?.();
      await core.registry.stop();
    },
  });
}
