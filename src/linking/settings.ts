import { z } from 'zod';
import type { ExtensionRecord } from '../extensions/model.js';
import type { ResolvedExtension } from '../extensions/registry.js';
import { CONTROL_CHARS_MESSAGE, noControlChars } from '../http/validate.js';
import { CREDENTIALS_REFUSED, hasCredentials } from '../security/outbound.js';
import { redactUrlsIn } from '../security/redactUrl.js';

/** The extension section that holds the account-linking server settings. */
export const SECTION = 'accountLinking';

/** What the store holds (inside the extension record); `clientSecret` only sealed. */
export interface LinkingSettings {
  enabled: boolean;
  loginUrl?: string;
  tokenUrl?: string;
  revocationUrl?: string;
  issuer?: string;
  clientId?: string;
  clientSecretSealed?: string;
  scope: string;
  clientAuth: 'basic' | 'body';
  loginPromptMessage?: string;
  loginSuccessMessage?: string;
  /** Keep-alive refresh: refresh each link at least this often even when idle; absent: off. */
  keepAliveHours?: number;
  updatedAt: string;
}

/** The longest keep-alive period accepted (90 days: refresh tokens that idle out later need no keep-alive). */
export const MAX_KEEPALIVE_HOURS = 2160;

const MAX_URL = 2048;

/** `PUT /extensions/:id/account-linking` body. `clientSecret` is write-only: omitted keeps the stored one, `null` clears it. */
export function settingsInput(production: boolean) {
  const url = z
    .string()
    .trim()
    .max(MAX_URL)
    .refine((v) => URL.canParse(v), 'must be an absolute URL')
    .refine((v) => !URL.canParse(v) || ['https:', 'http:'].includes(new URL(v).protocol), 'must be an http(s) URL')
    .refine((v) => !production || !URL.canParse(v) || new URL(v).protocol === 'https:', 'must be https:// in production mode')
    .refine((v) => !URL.canParse(v) || new URL(v).hash === '', 'must not have a #fragment')
    .refine((v) => !URL.canParse(v) || !hasCredentials(new URL(v)), `${CREDENTIALS_REFUSED} (the client ID and secret have their own fields)`);
  const message = z.string().trim().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters').refine(noControlChars(true), CONTROL_CHARS_MESSAGE);
  return z
    .object({
      enabled: z.boolean(),
      loginUrl: url.nullable().optional(),
      tokenUrl: url.nullable().optional(),
      revocationUrl: url.nullable().optional(),
      issuer: url.nullable().optional(),
      clientId: z.string().trim().min(1, 'must not be empty').max(512).optional(),
      clientSecret: z.string().min(1, 'must not be empty').max(2048).nullable().optional(),
      scope: z
        .string()
        .trim()
        .max(1024)
        .regex(/^[\x21\x23-\x5B\x5D-\x7E ]*$/, 'must be space-separated scope tokens')
        .optional(),
      clientAuth: z.enum(['basic', 'body']).optional(),
      loginPromptMessage: message.nullable().optional(),
      loginSuccessMessage: message.nullable().optional(),
      keepAliveHours: z.number().int('must be a whole number of hours').min(1).max(MAX_KEEPALIVE_HOURS).nullable().optional(),
    })
    .strict();
}
export type SettingsInput = z.infer<ReturnType<typeof settingsInput>>;

declare module '../extensions/model.js' {
  interface ExtensionSections {
    accountLinking: LinkingSettings;
  }
}

export function settingsOf(ext: ExtensionRecord | ResolvedExtension['record']): LinkingSettings | undefined {
  return ext.sections[SECTION];
}

/** Problems that make enabled settings unusable (checked on save, after merging with the stored values). */
export function incompleteSettings(s: LinkingSettings): Array<{ path: string; message: string }> {
  if (!s.enabled) return [];
  const problems: Array<{ path: string; message: string }> = [];
  if (s.clientId === undefined) problems.push({ path: 'clientId', message: 'is required when account linking is enabled' });
  if (s.issuer === undefined) {
    if (s.loginUrl === undefined) problems.push({ path: 'loginUrl', message: 'is required when account linking is enabled (or give an issuer for discovery)' });
    if (s.tokenUrl === undefined) problems.push({ path: 'tokenUrl', message: 'is required when account linking is enabled (or give an issuer for discovery)' });
  }
  return problems;
}

/** The provider URL fields, each refused with credentials in it. */
export const PROVIDER_URL_FIELDS = ['loginUrl', 'tokenUrl', 'revocationUrl', 'issuer'] as const;

/**
 * A stored provider URL as the gateway uses it. Settings saved by a version that did not refuse
 * credentials in these URLs may hold `user:password@`: it is left out, so the password never
 * reaches an end user's browser (the login redirect), a provider call (fetch refuses such URLs and
 * quotes them in its error) or a log.
 */
export function usableUrl(url: string): string {
  if (!URL.canParse(url)) return url;
  const u = new URL(url);
  if (!hasCredentials(u)) return url;
  u.username = '';
  u.password = '';
  return u.toString();
}

/**
 * A provider URL as answers, pages and `export` show it: its user and password (in a record of an
 * earlier version, or typed into a form that refused them) as `***`. Any other URL exactly as
 * stored, so what `export` writes is applied back unchanged.
 */
export function shownUrl(url: string): string {
  if (!URL.canParse(url)) return redactUrlsIn(url);
  const u = new URL(url);
  // Through the parser first: it finds credentials however they were typed (`https:\\u:p@host`).
  return hasCredentials(u) ? redactUrlsIn(u.toString()) : url;
}

/** The API shape: never the secret, only whether one is set; URLs as `shownUrl` shows them. */
export function formatSettings(s: LinkingSettings | undefined, ext: ExtensionRecord, publicUrl: string) {
  const shown = (url: string | undefined): string | null => (url === undefined ? null : shownUrl(url));
  return {
    enabled: s?.enabled ?? false,
    loginUrl: shown(s?.loginUrl),
    tokenUrl: shown(s?.tokenUrl),
    revocationUrl: shown(s?.revocationUrl),
    issuer: shown(s?.issuer),
    clientId: s?.clientId ?? null,
    clientSecretSet: s?.clientSecretSealed !== undefined,
    scope: s?.scope ?? '',
    clientAuth: s?.clientAuth ?? 'basic',
    loginPromptMessage: s?.loginPromptMessage ?? null,
    loginSuccessMessage: s?.loginSuccessMessage ?? null,
    keepAliveHours: s?.keepAliveHours ?? null,
    /** What to register at the provider as the redirect URI. */
    redirectUri: `${publicUrl}/oauth/callback`,
    linkUrl: `${publicUrl}/link`,
    extensionId: ext.extensionId,
    updatedAt: s?.updatedAt ?? null,
  };
}

/** Who a refresh calls, as its circuit breaker knows it: the issuer, else the token URL. */
export function breakerKeyOf(ext: ExtensionRecord | ResolvedExtension['record'], s: LinkingSettings): string {
  const url = s.issuer ?? s.tokenUrl;
  return url === undefined ? ext.extensionId : usableUrl(url);
}

/** The origin of the provider's token endpoint (its issuer's, with discovery): the keep-alive rate is per origin. */
export function tokenOriginOf(ext: ExtensionRecord | ResolvedExtension['record'], s: LinkingSettings): string {
  const url = s.tokenUrl ?? s.issuer;
  return url !== undefined && URL.canParse(url) ? new URL(url).origin : ext.extensionId;
}

/** The keep-alive period in ms (`hourMs`: the length of an hour, shorter in tests), or undefined when keep-alive is off. */
export function keepAliveIntervalMs(s: LinkingSettings | undefined, hourMs: number): number | undefined {
  return s?.enabled === true && s.keepAliveHours !== undefined ? s.keepAliveHours * hourMs : undefined;
}
