import { z } from 'zod';
import type { SpeechLang } from '../cek/types.js';
import { VERIFICATION_MODES, type VerificationMode } from '../cek/verify.js';
import { CONTROL_CHARS_MESSAGE, noControlChars } from '../http/validate.js';
import { checkRecordVersion } from '../store/json.js';
import { LOCALES, MESSAGE_KEYS, type Locale, type MessageSet } from './messages.js';

/**
 * Extension IDs as CLOVA issues them (DESIGN.md section 7): dot-separated segments of ASCII letters
 * (either case), digits, `-` and `_`, at least two segments, none empty, at most 255 characters.
 * Genuine IDs have upper case and underscores (`com.keno42.worldClock`, `com.line-apps.air_quality`).
 * The one rule for creating, looking up and routing; its `source` is what the admin form checks
 * as you type, so the page cannot drift from the server.
 */
export const EXTENSION_ID = /^(?=.{1,255}$)[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+$/;

/** EXTENSION_ID in words, for error messages and the admin form. */
export const EXTENSION_ID_RULE =
  'Extension IDs are reverse-domain names as in the CLOVA developer console: letters, digits, "-" and "_" in at least two parts separated by dots, no empty part, at most 255 characters (e.g. "com.example.points").';

export function isExtensionId(value: string): boolean {
  return EXTENSION_ID.test(value);
}

export const LANGUAGES = ['ko', 'en', 'ja'] as const satisfies readonly SpeechLang[];

/** A sealed secret; the plaintext exists only in memory and in the one response that shows it. */
export interface SealedSecret {
  sealed: string;
  createdAt: string;
}

/**
 * The sections other features keep on an extension record, by name. Each feature declares its own
 * with a module augmentation (`declare module '../extensions/model.js' { interface ExtensionSections
 * { name: Type } }`), so reading and writing a section needs no cast.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by the features' augmentations
export interface ExtensionSections {}

/** What the store holds for an extension (`ext:<id>`). Never sent out as it is. */
export interface ExtensionRecord {
  /**
   * The shape's version (EXTENSION_RECORD_VERSION). Records of 0.1.0 have none; `migrateExtensionRecord`
   * brings an older record up to date when it is read, and the next write stores it so.
   */
  v?: number;
  extensionId: string;
  name: string;
  language: SpeechLang;
  verification: VerificationMode;
  /** Only the messages the developer wrote; the rest come from the language's defaults. */
  messages: MessageSet;
  /** Messages for requests in other locales (`request.locale`), each over that locale's defaults. */
  locales?: Partial<Record<Locale, MessageSet>>;
  /** Variants are picked round-robin from this index instead of at random (repeatable tests). */
  variantSeed?: number;
  secret: SealedSecret;
  /** Records written before several previous secrets were kept; read, never written. */
  previousSecret?: SealedSecret & { expiresAt: string };
  /** Earlier Chatbot Secrets still in their grace period, newest first (at most MAX_PREVIOUS_SECRETS). */
  previousSecrets?: Array<SealedSecret & { expiresAt: string }>;
  createdAt: string;
  updatedAt: string;
  /**
   * Lets action methods reach loopback, link-local and private addresses in production mode
   * (targets on the same host or network). Off by default: such targets are refused (SSRF).
   */
  allowPrivateTargets?: boolean;
  /** Sections owned by other features (account linking, action methods, gateway), stored with the extension so one cache entry serves a request. */
  sections: Partial<ExtensionSections>;
}

const messageText = z.string().trim().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters').refine(noControlChars(true), CONTROL_CHARS_MESSAGE);

/** One text, or 1 to 10 variants of which one is spoken each time. */
const messageValue = z.union([messageText, z.array(messageText).min(1, 'must hold at least one variant').max(10, 'must hold at most 10 variants')]);

export const messagesInput = z
  .object(Object.fromEntries(MESSAGE_KEYS.map((k) => [k, messageValue.nullable().optional()])) as Record<(typeof MESSAGE_KEYS)[number], z.ZodOptional<z.ZodNullable<typeof messageValue>>>)
  .strict();

/** Per-locale messages; `null` for a locale removes all of its messages. */
export const localesInput = z.partialRecord(z.enum(LOCALES as [Locale, ...Locale[]]), messagesInput.nullable());

const variantSeed = z.number().int().min(0).max(1_000_000).nullable();

const nameText = z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters').refine(noControlChars(false), CONTROL_CHARS_MESSAGE);

export const createExtensionInput = z
  .object({
    extensionId: z.string({ error: 'is required' }),
    name: nameText.optional(),
    language: z.enum(LANGUAGES).optional(),
    verification: z.enum(VERIFICATION_MODES).optional(),
    messages: messagesInput.optional(),
    locales: localesInput.optional(),
    variantSeed: variantSeed.optional(),
    allowPrivateTargets: z.boolean().optional(),
  })
  .strict();

export const patchExtensionInput = z
  .object({
    name: nameText.optional(),
    language: z.enum(LANGUAGES).optional(),
    verification: z.enum(VERIFICATION_MODES).optional(),
    /** A message set to `null` goes back to the language's default. */
    messages: messagesInput.optional(),
    locales: localesInput.optional(),
    variantSeed: variantSeed.optional(),
    allowPrivateTargets: z.boolean().optional(),
  })
  .strict();

export const rotateSecretInput = z
  .object({
    /**
     * How long the old secret keeps working; 0 ends it at once; at most 7 days. One rule for every
     * rotated secret (Chatbot Secret: default 1 hour; forwarding and webhook secrets: default 1 day).
     */
    graceSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600)
      .optional(),
  })
  .strict();

export type CreateExtensionInput = z.infer<typeof createExtensionInput>;
export type PatchExtensionInput = z.infer<typeof patchExtensionInput>;

/** How many earlier Chatbot Secrets stay valid at once (each until its own grace period ends). */
export const MAX_PREVIOUS_SECRETS = 5;

/** The earlier secrets of a record whose grace period has not ended, newest first. */
export function livePreviousSecrets(r: Pick<ExtensionRecord, 'previousSecret' | 'previousSecrets'>, now = Date.now()): Array<SealedSecret & { expiresAt: string }> {
  const all = [...(r.previousSecrets ?? []), ...(r.previousSecret === undefined ? [] : [r.previousSecret])];
  return all.filter((p) => Date.parse(p.expiresAt) > now);
}

/** The version of the stored extension record's shape that this code writes. */
export const EXTENSION_RECORD_VERSION = 1;

/**
 * An extension record as stored by any earlier version, in today's shape (upgrades need no command:
 * records are migrated when read, and written back in the new shape with their next change).
 * 0 → 1: the single `previousSecret` of 0.1.0 joins the `previousSecrets` list.
 * A record from a newer version than this code is refused (503 `record_from_newer_version`) rather than half understood.
 */
export function migrateExtensionRecord(r: ExtensionRecord): ExtensionRecord {
  checkRecordVersion(r.v, EXTENSION_RECORD_VERSION, `Extension "${r.extensionId}"`);
  if (r.v === EXTENSION_RECORD_VERSION) return r;
  const { previousSecret, ...rest } = r;
  return { ...rest, v: EXTENSION_RECORD_VERSION, ...(previousSecret === undefined ? {} : { previousSecrets: [...(r.previousSecrets ?? []), previousSecret] }) };
}
