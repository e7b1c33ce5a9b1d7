/**
 * Every family of store keys in one table: who owns it, how long its keys live, and whether it is
 * durable (lost data hurts users: extensions, secrets, tokens, usage) or ephemeral (rebuilt or
 * harmlessly lost: locks, codes, sessions, windows). The owner builds its keys only through the
 * builders below, so a key's shape is written once; a store that splits durable from ephemeral
 * data (PostgreSQL + Redis) asks `familyOf(key)`.
 *
 * Changing a prefix orphans the keys already stored under the old one: add a migration instead.
 */

export type Durability = 'durable' | 'ephemeral';

export interface KeyFamily {
  /** The key prefix, ending in `:`. Families never share a prefix, and no prefix is a prefix of another's. */
  readonly prefix: string;
  /** The module that reads and writes the family (for readers of this table). */
  readonly owner: string;
  readonly durability: Durability;
  /** How long its keys live, in words (the owner sets the exact TTL). */
  readonly lifetime: string;
}

export const KEY_FAMILIES = {
  extension: { prefix: 'ext:', owner: 'extensions/registry.ts', durability: 'durable', lifetime: 'until deleted' },
  linkedToken: { prefix: 'tok:', owner: 'linking/vault.ts', durability: 'durable', lifetime: 'until unlinked' },
  // Ordered sets (Store.setAdd), one per extension: its linked user ids, so a page of links costs the page.
  linkIndex: { prefix: 'idx:link:', owner: 'linking/vault.ts', durability: 'durable', lifetime: 'until the extension is deleted (a member until unlinked)' },
  dataMigration: { prefix: 'migrated:', owner: 'linking/linkIndex.ts', durability: 'durable', lifetime: 'for good (marks a one-time data migration done)' },
  refreshLock: { prefix: 'lock:refresh:', owner: 'linking/refresher.ts', durability: 'ephemeral', lifetime: 'seconds (one refresh)' },
  keepAliveDue: { prefix: 'keepalive:due:', owner: 'linking/keepAliveSchedule.ts', durability: 'durable', lifetime: 'an ordered set (one member per kept-alive link, until it is met)' },
  keepAliveLease: { prefix: 'keepalive:lease:', owner: 'linking/keepAliveWorker.ts', durability: 'ephemeral', lifetime: 'seconds (renewed by the instance that sweeps)' },
  pairingCode: { prefix: 'pair:code:', owner: 'linking/pairing.ts', durability: 'ephemeral', lifetime: 'minutes (a code’s life)' },
  pairingUser: { prefix: 'pair:user:', owner: 'linking/pairing.ts', durability: 'ephemeral', lifetime: 'minutes (a code’s life)' },
  pairingFailures: { prefix: 'pair:fail:', owner: 'linking/attempts.ts', durability: 'ephemeral', lifetime: 'minutes (a lockout window)' },
  linkingHealth: { prefix: 'linking:misconfigured:', owner: 'linking/health.ts', durability: 'ephemeral', lifetime: 'until the settings change (found again on the next refusal)' },
  linkHistory: { prefix: 'link:history:', owner: 'linking/linkStates.ts', durability: 'durable', lifetime: 'while linked; 90 days after unlink' },
  unlinkedIndex: {
    prefix: 'idx:unlinked:',
    owner: 'linking/linkStates.ts',
    durability: 'durable',
    lifetime: 'until the extension is deleted (a member until its user links again or is read after the history expired)',
  },
  linkingState: { prefix: 'linking:state:', owner: 'linking/linkStates.ts', durability: 'durable', lifetime: 'until the extension is deleted' },
  linkingFunnel: { prefix: 'linking:funnel:', owner: 'linking/funnel.ts', durability: 'durable', lifetime: '100 days' },
  oauthState: { prefix: 'oauth:state:', owner: 'linking/authorizationFlow.ts', durability: 'ephemeral', lifetime: 'minutes (one sign-in at the provider)' },
  usedTicket: { prefix: 'ticket:used:', owner: 'linking/tickets.ts', durability: 'ephemeral', lifetime: 'the ticket’s life' },
  rateWindow: { prefix: 'gw:rate:', owner: 'gateway/limiter.ts', durability: 'ephemeral', lifetime: 'seconds (one window)' },
  quotaDay: { prefix: 'gw:quota:', owner: 'gateway/limiter.ts', durability: 'durable', lifetime: '35 days' },
  usage: { prefix: 'gw:usage:', owner: 'gateway/usage.ts', durability: 'durable', lifetime: '100 days (days), 400 days (months)' },
  webhookDelivery: { prefix: 'wh:delivery:', owner: 'webhooks/queue.ts', durability: 'durable', lifetime: '4 days (a day of retries, then 3 days to look at)' },
  webhookDue: { prefix: 'wh:due:', owner: 'webhooks/queue.ts', durability: 'durable', lifetime: 'until its try is made (at most a day ahead)' },
  webhookClaim: { prefix: 'wh:claim:', owner: 'webhooks/queue.ts', durability: 'ephemeral', lifetime: 'a minute (one try by one instance)' },
  adminSession: { prefix: 'adminsess:', owner: 'admin/pages/sessions.ts', durability: 'ephemeral', lifetime: 'hours (a signed-in session)' },
  consoleConversation: { prefix: 'console:conv:', owner: 'admin/pages/consoleConversation.ts', durability: 'ephemeral', lifetime: 'hours (a signed-in session)' },
  adminLoginFailures: { prefix: 'adminlogin:fail:', owner: 'admin/adminAuth.ts', durability: 'ephemeral', lifetime: 'minutes (a lockout window)' },
} as const satisfies Record<string, KeyFamily>;

export type KeyFamilyName = keyof typeof KEY_FAMILIES;

const families: ReadonlyArray<[KeyFamilyName, KeyFamily]> = Object.entries(KEY_FAMILIES) as Array<[KeyFamilyName, KeyFamily]>;

/** The family a stored key belongs to, or undefined for a key of no family (a bug, or data of another version). */
export function familyOf(key: string): KeyFamilyName | undefined {
  for (const [name, f] of families) if (key.startsWith(f.prefix)) return name;
  return undefined;
}

/** The full key of `family` with the given parts, joined by `:`. */
export function keyOf(family: KeyFamilyName, ...parts: ReadonlyArray<string | number>): string {
  return KEY_FAMILIES[family].prefix + parts.join(':');
}

/** The prefix of every key of `family` whose first parts are `parts` (for listing), ending in `:`. */
export function prefixOf(family: KeyFamilyName, ...parts: ReadonlyArray<string | number>): string {
  return parts.length === 0 ? KEY_FAMILIES[family].prefix : `${keyOf(family, ...parts)}:`;
}
