import { CliError } from './errors.js';
import { fieldPath } from './fieldPath.js';

/**
 * Secrets in configuration files: never written there as values, only as `${env:NAME}`
 * references, read from the CLI's environment when applying.
 */
export const ENV_REF = /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$/;

/** The name of the variable an exported secret is referenced by, e.g. `CEK_COM_EXAMPLE_WEATHER_CLIENT_SECRET`. */
export function envName(extensionId: string, ...parts: string[]): string {
  return ['CEK', extensionId, ...parts].map((p) => p.toUpperCase().replace(/[^A-Z0-9]+/g, '_')).join('_');
}

/** `${env:NAME}`, as written into an exported file. */
export const ref = (name: string): string => `\${env:${name}}`;

/** Resolves `${env:NAME}` references, remembering the missing ones so all can be named in one error. */
export class EnvResolver {
  readonly missing: string[] = [];
  readonly #lookup: (name: string) => string | undefined;
  constructor(lookup: (name: string) => string | undefined) {
    this.#lookup = lookup;
  }

  /** A literal stays as it is; a reference becomes the variable's value ('' while it is missing). */
  resolve(value: string, path: ReadonlyArray<PropertyKey>): string {
    const m = ENV_REF.exec(value);
    if (m?.[1] === undefined) return value;
    const found = this.#lookup(m[1]);
    if (found === undefined || found === '') {
      this.missing.push(`${m[1]} (${fieldPath(path)})`);
      return '';
    }
    return found;
  }

  /** Throws, before anything is changed, when a referenced variable is not set. */
  check(): void {
    if (this.missing.length > 0) throw new CliError(`missing environment variable${this.missing.length === 1 ? '' : 's'} referenced by the file: ${this.missing.join(', ')}`);
  }
}
