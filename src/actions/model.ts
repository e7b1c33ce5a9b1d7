import { z } from 'zod';
import { urlShapeProblem } from '../security/outbound.js';
import type { ExtensionSections } from '../extensions/model.js';

/**
 * Action Method v1.0 definitions (DESIGN.md section 6). They live in the extension's `actions`
 * section (`{ [name]: ActionDefinition }`), so the request path finds them in the registry's
 * in-process cache without a store read.
 */
export const ACTIONS_SECTION = 'actions';

/**
 * Action names are path segments of the admin API and keys of the stored section and of
 * configuration files, so not one of JavaScript's own object keys (RESERVED_NAMES: `__proto__`
 * cannot even be an own key of a plain object). The one rule: its `source` is what the admin form
 * checks as you type.
 */
export const ACTION_NAME = /^(?!(?:__proto__|constructor|prototype)$)[A-Za-z0-9_.-]{1,64}$/;

/** ACTION_NAME in words, for error messages and the admin form. */
export const ACTION_NAME_RULE = 'Action names are 1 to 64 letters, digits, "_", "." or "-", and not "__proto__", "constructor" or "prototype".';
/** ACTION_NAME in words, next to a field named `name`. */
export const ACTION_NAME_PROBLEM = 'must be 1 to 64 letters, digits, "_", "." or "-", and not "__proto__", "constructor" or "prototype"';

/** At most this many actions per extension: they are stored on the extension record, read on every cache miss. */
export const MAX_ACTIONS = 100;

export const DEFAULT_TIMEOUT_MS = 3_000;
/** CEK drops answers after 8 s; 7 s for the target leaves room for the token lookup and the reply. */
export const MAX_TIMEOUT_MS = 7_000;
export const MIN_TIMEOUT_MS = 100;

export const TOKEN_SOURCES = ['linked', 'request', 'auto'] as const;
export type TokenSource = (typeof TOKEN_SOURCES)[number];

export type ActionTrigger =
  { type: 'IntentRequest'; intent: string } | { type: 'LaunchRequest' } | { type: 'SessionEndedRequest' } | { type: 'EventRequest'; namespace?: string | undefined; name?: string | undefined };

/** What the `actions` section holds per action name. */
export interface ActionDefinition {
  name: string;
  trigger: ActionTrigger;
  url: string;
  useOAuthToken: boolean;
  tokenSource: TokenSource;
  timeoutMs: number;
  /** Static headers, names lowercased. */
  headers: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

export type ActionsSection = Record<string, ActionDefinition>;

/**
 * Header names a definition may not set: the gateway sets them itself (`authorization`, the
 * `x-cek-*` and `x-request-id` headers, `content-type`, `host`, `content-length`), or they are
 * hop-by-hop and belong to the connection, not the request (RFC 9110 section 7.6.1).
 */
const RESERVED_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'host',
  'content-length',
  'content-type',
  'x-request-id',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;
// Visible ASCII, spaces and tabs: no CR/LF (header injection), no NUL, no other controls.
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;
const MAX_HEADERS = 32;

/** JSON.parse keeps a "__proto__" key as an own property, which a record schema would drop silently. */
function refuseProtoKey(value: unknown, ctx: { addIssue: (issue: { code: 'custom'; message: string; path: string[] }) => void }): unknown {
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, '__proto__')) {
    ctx.addIssue({ code: 'custom', message: 'is not a valid header name', path: ['__proto__'] });
  }
  return value;
}

function headerNameProblem(lower: string): string | undefined {
  if (!HEADER_NAME.test(lower)) return 'is not a valid header name';
  if (lower.startsWith('x-cek-')) return 'x-cek-* headers are set by the gateway';
  if (RESERVED_HEADERS.has(lower)) {
    return lower === 'authorization'
      ? "is set by the gateway from the user's token (useOAuthToken); put other credentials in a header of their own"
      : 'is set by the gateway or is a hop-by-hop header';
  }
  return undefined;
}

const required = (what: string) => ({
  error: (i: { input?: unknown }) => (i.input === undefined ? `is required${what}` : 'must be a string'),
});

const label = z.string(required('')).trim().min(1, 'must not be empty').max(128, 'must be at most 128 characters');

const triggerInput = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('IntentRequest'), intent: z.string(required(' for an IntentRequest trigger')).trim().min(1, 'must not be empty').max(128, 'must be at most 128 characters') }).strict(),
    z.object({ type: z.literal('LaunchRequest') }).strict(),
    z.object({ type: z.literal('SessionEndedRequest') }).strict(),
    z.object({ type: z.literal('EventRequest'), namespace: label.optional(), name: label.optional() }).strict(),
  ],
  {
    error: (i) => (i.code === 'invalid_union' ? 'must be one of IntentRequest, LaunchRequest, SessionEndedRequest, EventRequest' : undefined),
  },
);

/** The body of `PUT /extensions/:id/actions/:name`. The URL's policy checks need the config and run after this. */
export const actionInput = z
  .object({
    /** Optional; when given it must equal the name in the path (lets a GET result be sent back). */
    name: z.string().optional(),
    trigger: triggerInput,
    url: z
      .string(required(''))
      .max(2048, 'must be at most 2048 characters')
      .superRefine((value, ctx) => {
        const problem = urlShapeProblem(value);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      }),
    useOAuthToken: z.boolean().default(false),
    /** Ignored unless `useOAuthToken`. */
    tokenSource: z.enum(TOKEN_SOURCES).default('auto'),
    timeoutMs: z
      .number()
      .int('must be a whole number of milliseconds')
      .min(MIN_TIMEOUT_MS, `must be at least ${MIN_TIMEOUT_MS}`)
      .max(MAX_TIMEOUT_MS, `must be at most ${MAX_TIMEOUT_MS} (CEK drops answers after 8 s)`)
      .default(DEFAULT_TIMEOUT_MS),
    headers: z.preprocess(
      refuseProtoKey,
      z
        .record(z.string(), z.string('must be a string'))
        .superRefine((headers, ctx) => {
          const seen = new Set<string>();
          const entries = Object.entries(headers);
          if (entries.length > MAX_HEADERS) ctx.addIssue({ code: 'custom', message: `at most ${MAX_HEADERS} headers` });
          for (const [name, value] of entries) {
            const lower = name.toLowerCase();
            const problem = headerNameProblem(lower);
            if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: problem });
            else if (seen.has(lower)) ctx.addIssue({ code: 'custom', path: [name], message: 'is given twice (header names are case-insensitive)' });
            if (!HEADER_VALUE.test(value) || value.length > 4096) {
              ctx.addIssue({ code: 'custom', path: [name], message: 'must be printable ASCII without line breaks, at most 4096 characters' });
            }
            seen.add(lower);
          }
        })
        .default({}),
    ),
  })
  .strict();

export type ActionInput = z.infer<typeof actionInput>;

/** Lowercases header names (validation has already refused duplicates and reserved names). */
export function normaliseHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  return out;
}

/**
 * A trigger as a comparable key: two actions with the same key would answer the same requests.
 * Event triggers without namespace or name match more broadly, so they get their own keys.
 */
export function triggerKey(t: ActionTrigger): string {
  switch (t.type) {
    case 'IntentRequest':
      return `IntentRequest:${t.intent}`;
    case 'EventRequest':
      return `EventRequest:${t.namespace ?? '*'}:${t.name ?? '*'}`;
    default:
      return t.type;
  }
}

export function describeTrigger(t: ActionTrigger): string {
  switch (t.type) {
    case 'IntentRequest':
      return `IntentRequest for intent "${t.intent}"`;
    case 'EventRequest':
      return `EventRequest${t.namespace === undefined ? '' : ` in namespace "${t.namespace}"`}${t.name === undefined ? '' : ` named "${t.name}"`}`;
    default:
      return t.type;
  }
}

declare module '../extensions/model.js' {
  interface ExtensionSections {
    actions: ActionsSection;
  }
}

/** The `actions` section of an extension record, tolerating a missing or malformed one. */
export function actionsOf(sections: Partial<ExtensionSections>): ActionsSection {
  const value = sections[ACTIONS_SECTION];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
}
