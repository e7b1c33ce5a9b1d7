import { z } from 'zod';

/**
 * The backup file: JSON Lines. A header line, one line per key, and an end line with the count (so
 * a cut-off file is noticed). Values are copied as they are: sealed secrets stay sealed.
 */
export const BACKUP_FORMAT = 'cek-gateway-backup';
export const BACKUP_VERSION = 1;

export const headerLine = z.object({ format: z.literal(BACKUP_FORMAT), version: z.literal(BACKUP_VERSION), createdAt: z.string(), store: z.string() }).strict();

/** `expiresAt`: epoch ms (the remaining TTL at backup time, made absolute), `null` for no TTL. */
export const entryLine = z.object({ key: z.string().min(1), value: z.string(), expiresAt: z.number().int().positive().nullable() }).strict();

export const endLine = z.object({ end: z.literal(true), entries: z.number().int().min(0) }).strict();

export type BackupEntry = z.infer<typeof entryLine>;
