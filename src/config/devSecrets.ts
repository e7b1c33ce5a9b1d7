import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeKey, keyIdOf } from '../security/keyring.js';
import type { DevSecrets } from './env.js';
import { messageOf, reasonOf } from '../http/errorInfo.js';

export interface DevSecretsResult extends DevSecrets {
  /** True when this call created the file: the admin token is printed this once. */
  created: boolean;
  file: string;
}

/**
 * Development only: reads `DATA_DIR/dev-secrets.json`, or creates it (mode 0600) with a random
 * encryption key and admin token. Production refuses to start without real ones instead.
 */
export function loadOrCreateDevSecrets(dataDir: string): DevSecretsResult {
  const file = devSecretsFile(dataDir);
  if (existsSync(file)) {
    let parsed: Partial<DevSecrets>;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<DevSecrets>;
    } catch (err) {
      // Not regenerated: data sealed with the key in it would become unreadable.
      throw new Error(`${file} cannot be read (${messageOf(err)}); fix it, or delete it only if nothing sealed with its key must be kept`, { cause: err });
    }
    if (typeof parsed.encryptionKey === 'string' && typeof parsed.adminToken === 'string') {
      return { encryptionKey: parsed.encryptionKey, adminToken: parsed.adminToken, created: false, file };
    }
  }
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    throw new Error(`DATA_DIR ${dataDir} cannot be used as a directory (${reasonOf(err)})`, { cause: err });
  }
  const secrets: DevSecrets = {
    encryptionKey: randomBytes(32).toString('base64'),
    adminToken: randomBytes(24).toString('base64url'),
  };
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return { ...secrets, created: true, file };
}

/** Where the development secrets are kept. */
export function devSecretsFile(dataDir: string): string {
  return join(dataDir, 'dev-secrets.json');
}

/** The key id of the development encryption key in `file`, or undefined when it cannot be read. */
export function devKeyId(file: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    const text = typeof parsed === 'object' && parsed !== null && 'encryptionKey' in parsed ? parsed.encryptionKey : undefined;
    const key = typeof text === 'string' ? decodeKey(text) : undefined;
    return key === undefined ? undefined : keyIdOf(key);
  } catch {
    return undefined;
  }
}
