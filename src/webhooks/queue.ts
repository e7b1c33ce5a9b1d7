import { decodeRecord } from '../store/json.js';
import { keyOf, prefixOf } from '../store/keys.js';
import type { Store } from '../store/store.js';
import { randomToken } from '../security/random.js';
import type { WebhookEventType } from './model.js';

/** Retries go on for this long after the event (or after a redelivery). */
export const RETRY_WINDOW_MS = 24 * 3600_000;
/** The longest wait between two tries. */
const MAX_DELAY_MS = 3600_000;
/** Finished deliveries stay this long for the admin to look at. */
const KEEP_MS = 3 * 24 * 3600_000;
/** A try's claim: longer than a try can take (sender.ts), so one instance's try is never repeated by another while it runs. */
const CLAIM_MS = 60_000;

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One message to one endpoint, at `wh:delivery:<extensionId>:<webhookId>:<deliveryId>`. */
export interface Delivery {
  v: 1;
  /** `msg_…`, time-ordered; also the `webhook-id` header (the same on every try). */
  id: string;
  extensionId: string;
  webhookId: string;
  type: WebhookEventType;
  /** The exact JSON body sent (and signed) on every try. */
  body: string;
  createdAt: string;
  status: DeliveryStatus;
  tries: number;
  nextTryAt: string | null;
  lastTryAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  /** Retries stop after this (ISO). */
  retryUntil: string;
  /** The delivery this one sends again, for a redelivery. */
  redeliveryOf?: string;
  /** The due-index key of the next try, or null when none is due. */
  due: string | null;
}

/** What one try came to; `final` when retrying cannot help (the endpoint was deleted). */
export interface TryResult {
  ok: boolean;
  statusCode: number | null;
  error?: string;
  final?: boolean;
}

/** A try that is due, found in the index. */
export interface DueEntry {
  dueKey: string;
  deliveryKey: string;
  at: number;
}

/** 36^9 ms (year 5138): the time part of a delivery id is 9 base-36 digits. */
const TIME_SPAN = 36 ** 9;
/**
 * `wh:delivery:<extensionId>:<webhookId>:<newest-first>:<deliveryId>`: the part before the id is
 * the id's time counted down (TIME_SPAN minus it, 9 base-36 digits), so a page of the store's
 * listing (which only goes up in key order) starts with the newest delivery.
 */
export function deliveryKey(extensionId: string, webhookId: string, deliveryId: string): string {
  const time = Number.parseInt(deliveryId.slice(4, 13), 36);
  return keyOf('webhookDelivery', extensionId, webhookId, (TIME_SPAN - 1 - time).toString(36).padStart(9, '0'), deliveryId);
}
/** The delivery id at the end of a delivery key. */
const deliveryIdOf = (key: string): string => key.slice(key.lastIndexOf(':') + 1);
/** Due keys sort by time: the first entries of the family are the next tries. */
const dueKey = (at: number, deliveryId: string): string => keyOf('webhookDue', String(at).padStart(15, '0'), deliveryId);
const atOf = (key: string): number => Number(key.slice(prefixOf('webhookDue').length).split(':')[0]);

/** `msg_` + the time in base 36 (so a listing is in time order) + random. */
function newDeliveryId(now: number): string {
  return `msg_${now.toString(36).padStart(9, '0')}${randomToken(12).slice(0, 15)}`;
}

/**
 * The delivery queue, all in the store, so it survives restarts and any instance works it: a
 * record per delivery, and a due-time index (`wh:due:<time>:<id>` → the record's key) that the
 * worker reads in time order. An instance takes a due try with an atomic `setIfAbsent` claim that
 * outlives the try, so two instances never send the same try; one that dies mid-try leaves the
 * index entry, and another instance takes it when the claim expires (at least once). The record
 * names the index entry of its next try: an entry it does not name is stale and dropped.
 */
export class DeliveryQueue {
  readonly #store: Store;
  readonly #firstRetryMs: number;

  constructor(o: { store: Store; firstRetrySeconds: number }) {
    this.#store = o.store;
    this.#firstRetryMs = o.firstRetrySeconds * 1000;
  }

  /** Queues a delivery, due now. The record is written before its index entry, so the entry always finds it. */
  async enqueue(extensionId: string, webhookId: string, type: WebhookEventType, body: string, redeliveryOf?: string): Promise<Delivery> {
    const now = Date.now();
    const id = newDeliveryId(now);
    const due = dueKey(now, id);
    const delivery: Delivery = {
      v: 1,
      id,
      extensionId,
      webhookId,
      type,
      body,
      createdAt: new Date(now).toISOString(),
      status: 'pending',
      tries: 0,
      nextTryAt: new Date(now).toISOString(),
      lastTryAt: null,
      lastStatusCode: null,
      lastError: null,
      retryUntil: new Date(now + RETRY_WINDOW_MS).toISOString(),
      ...(redeliveryOf === undefined ? {} : { redeliveryOf }),
      due,
    };
    const key = deliveryKey(extensionId, webhookId, id);
    await this.#store.set(key, JSON.stringify(delivery), RETRY_WINDOW_MS + KEEP_MS);
    await this.#store.set(due, key, RETRY_WINDOW_MS + KEEP_MS);
    return delivery;
  }

  async get(extensionId: string, webhookId: string, deliveryId: string): Promise<Delivery | undefined> {
    const raw = await this.#store.get(deliveryKey(extensionId, webhookId, deliveryId));
    return raw === null ? undefined : decodeRecord<Delivery>(raw);
  }

  /**
   * One page of an endpoint's deliveries, newest first, after the delivery `after` (the last one of
   * the page before); `next` is the id to pass as `after` for the following page, if there is one.
   */
  async listPage(extensionId: string, webhookId: string, page: { after?: string | undefined; limit: number }): Promise<{ deliveries: Delivery[]; next: string | undefined }> {
    const { items, next } = await this.#store.listPage(prefixOf('webhookDelivery', extensionId, webhookId), {
      after: page.after === undefined ? undefined : deliveryKey(extensionId, webhookId, page.after),
      limit: page.limit,
    });
    return { deliveries: items.map((r) => decodeRecord<Delivery>(r.value)), next: next === undefined ? undefined : deliveryIdOf(next) };
  }

  /** Drops the deliveries of an endpoint (or, without `webhookId`, of an extension) and their index entries. */
  async drop(extensionId: string, webhookId?: string): Promise<void> {
    const prefix = webhookId === undefined ? prefixOf('webhookDelivery', extensionId) : prefixOf('webhookDelivery', extensionId, webhookId);
    for (const { key, value } of await this.#store.list(prefix)) {
      const due = decodeRecord<Delivery>(value).due;
      if (due !== null) await this.#store.delete(due);
      await this.#store.delete(key);
    }
  }

  /**
   * One page of index entries due by `now`, in time order, after the cursor `after`; `nextAt` is
   * when the first later entry is due (the page stops there), `next` the cursor of the following
   * page when this one was full of due entries.
   */
  async due(now: number, limit: number, after?: string): Promise<{ entries: DueEntry[]; nextAt: number | undefined; next: string | undefined }> {
    const { items, next } = await this.#store.listPage(prefixOf('webhookDue'), { after, limit });
    const entries: DueEntry[] = [];
    for (const { key, value } of items) {
      const at = atOf(key);
      if (at > now) return { entries, nextAt: at, next: undefined };
      entries.push({ dueKey: key, deliveryKey: value, at });
    }
    return { entries, nextAt: undefined, next };
  }

  /** Takes a due try for this instance; false when another instance has it. */
  claim(entry: DueEntry, owner: string): Promise<boolean> {
    return this.#store.setIfAbsent(keyOf('webhookClaim', entry.dueKey.slice(prefixOf('webhookDue').length)), owner, CLAIM_MS);
  }

  /**
   * The delivery a claimed entry stands for, with its raw record (for `finish`), or undefined when
   * the entry is stale (the record is gone, finished, or waits on another entry): it is dropped.
   */
  async open(entry: DueEntry): Promise<{ delivery: Delivery; raw: string } | undefined> {
    const raw = await this.#store.get(entry.deliveryKey);
    const delivery = raw === null ? undefined : decodeRecord<Delivery>(raw);
    if (raw === null || delivery === undefined || delivery.status !== 'pending' || delivery.due !== entry.dueKey) {
      await this.#store.delete(entry.dueKey);
      return undefined;
    }
    return { delivery, raw };
  }

  /**
   * Records a try's outcome: delivered; or the next try after an exponential backoff (the first
   * retry after WEBHOOK_FIRST_RETRY_SECONDS, doubling, at most an hour apart, jittered); or failed
   * once the retry window is over. The next index entry is written before the record names it and
   * the old one is deleted last, so a crash in between leaves a try too many, never one too few.
   */
  async finish(entry: DueEntry, opened: { delivery: Delivery; raw: string }, result: TryResult, now = Date.now()): Promise<Delivery> {
    const d = opened.delivery;
    const tries = d.tries + 1;
    const next: Delivery = { ...d, tries, lastTryAt: new Date(now).toISOString(), lastStatusCode: result.statusCode, lastError: result.ok ? null : (result.error ?? null) };
    let nextDue: string | null = null;
    if (result.ok) {
      Object.assign(next, { status: 'delivered', nextTryAt: null, due: null });
    } else {
      const at = now + this.#delay(tries);
      if (result.final === true || at > Date.parse(d.retryUntil)) {
        Object.assign(next, { status: 'failed', nextTryAt: null, due: null });
      } else {
        nextDue = dueKey(at, d.id);
        Object.assign(next, { nextTryAt: new Date(at).toISOString(), due: nextDue });
        await this.#store.set(nextDue, entry.deliveryKey, at - now + KEEP_MS);
      }
    }
    // Only the claim's holder writes a pending record; a failed compare means it was dropped meanwhile.
    const written = await this.#store.compareAndSet(entry.deliveryKey, opened.raw, JSON.stringify(next));
    if (!written && nextDue !== null) await this.#store.delete(nextDue);
    await this.#store.delete(entry.dueKey);
    return next;
  }

  #delay(tries: number): number {
    const base = Math.min(MAX_DELAY_MS, this.#firstRetryMs * 2 ** Math.min(30, tries - 1));
    // ±10 %: endpoints that fail together do not retry in lockstep.
    return Math.round(base * (0.9 + Math.random() * 0.2));
  }
}
