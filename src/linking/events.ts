/**
 * What account linking tells the rest of the instance when a link or an extension's linking changes
 * state (issue 16 item 3). Linking only knows this interface; the webhooks feature implements it and
 * `features.ts` hands it in, so linking never imports webhooks. Events carry no token, ever.
 */
export const LINK_EVENT_TYPES = ['link.created', 'link.broken', 'link.recovered', 'link.unlinked', 'linking.misconfigured', 'linking.recovered', 'provider.down', 'provider.up'] as const;

export type LinkEventType = (typeof LINK_EVENT_TYPES)[number];

export interface LinkEvent {
  type: LinkEventType;
  extensionId: string;
  /** The CEK user of a `link.*` event. */
  userId?: string;
  /** Why, in words (a classified provider refusal, who unlinked, ...). */
  reason?: string;
}

/*
 * `provider.down` / `provider.up` are reported by every instance whose circuit breaker sees the
 * change (breakers are per instance); the state recorder (`linkStates.ts`) passes each on only when
 * it changed the extension's stored linking state, so a transition is announced once in all.
 */

export interface LinkEventSink {
  /**
   * Records the event (for webhooks: queues a delivery per subscribed endpoint). Never rejects: a
   * failure to record is the sink's to log, and must not undo or fail the linking step it reports.
   */
  emit(event: LinkEvent): Promise<void>;
}

/** For parts built without a sink (unit tests, tools). */
export const NO_EVENTS: LinkEventSink = { emit: () => Promise.resolve() };
