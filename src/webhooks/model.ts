import { z } from 'zod';
import { urlShapeProblem } from '../security/outbound.js';
import { LINK_EVENT_TYPES, type LinkEventType } from '../linking/events.js';
import type { SigningSecrets } from '../security/standardWebhooks.js';

/**
 * Lifecycle webhooks (issue 16 item 3): an extension's endpoints, kept as a section of its record
 * (so they go with the extension, and every instance's registry cache sees a change at once).
 * Each endpoint has its own Standard Webhooks secret, sealed, with the earlier ones still in
 * their grace period.
 */
export const WEBHOOKS_SECTION = 'webhooks';
/** Endpoints per extension. */
export const MAX_ENDPOINTS = 10;

/** What an endpoint can subscribe to; `ping` is sent by `…/test` only. */
export const SUBSCRIBABLE_EVENTS = LINK_EVENT_TYPES;
export type WebhookEventType = LinkEventType | 'ping';

export interface WebhookEndpoint {
  /** `wh_…` */
  id: string;
  url: string;
  events: LinkEventType[];
  /** False: no new event is queued for it (what is queued still goes out). Absent on endpoints saved before it existed: enabled. */
  enabled?: boolean;
  secrets: SigningSecrets;
  createdAt: string;
}

/** An endpoint takes new events unless it was switched off. */
export const isEnabled = (e: WebhookEndpoint): boolean => e.enabled !== false;

export interface WebhooksSection {
  /** By endpoint id. */
  endpoints: Record<string, WebhookEndpoint>;
}

declare module '../extensions/model.js' {
  interface ExtensionSections {
    webhooks: WebhooksSection;
  }
}

/** The sealing context (AAD) of an endpoint's secrets (also read by `npm run reseal`). */
export const webhookSecretContext = (extensionId: string, webhookId: string): string => `webhook-secret:${extensionId}:${webhookId}`;

/** Endpoint ids as minted (`wh_` and 16 base64url characters); checked where the path names one. */
export const WEBHOOK_ID = /^wh_[A-Za-z0-9_-]{16}$/;
/** Delivery ids (`msg_` and 24 base64url characters), also the `webhook-id` header. */
export const DELIVERY_ID = /^msg_[A-Za-z0-9_-]{24}$/;

const urlField = z
  .string({ error: 'is required' })
  .max(2048, 'must be at most 2048 characters')
  .superRefine((value, ctx) => {
    const problem = urlShapeProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

const eventsField = z
  .array(z.enum(SUBSCRIBABLE_EVENTS, { error: `must be one of ${SUBSCRIBABLE_EVENTS.join(', ')}` }), { error: 'is required: a list of event types' })
  .min(1, 'must name at least one event type')
  .refine((events) => new Set(events).size === events.length, 'must not name an event type twice');

const enabledField = z.boolean({ error: 'must be true or false' });

/** The body of `POST /extensions/:id/webhooks`. The URL's policy checks need the config and run after this. */
export const endpointInput = z.object({ url: urlField, events: eventsField, enabled: enabledField.optional() }).strict();

/** The body of `PATCH /extensions/:id/webhooks/:webhookId`: the fields to change, with the rules of create. */
export const endpointPatch = z
  .object({ url: urlField.optional(), events: eventsField.optional(), enabled: enabledField.optional() })
  .strict()
  .refine((b) => b.url !== undefined || b.events !== undefined || b.enabled !== undefined, 'must change at least one of url, events, enabled');

/** What a webhook delivery sends: never a token. */
export interface WebhookPayload {
  type: WebhookEventType;
  /** ISO 8601, when the event happened. */
  timestamp: string;
  data: { extensionId: string; userId?: string; reason?: string };
}
