import { AsyncLocalStorage } from 'node:async_hooks';
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { policyConnect } from '../security/outbound.js';
import type { ExtensionRecord } from '../extensions/model.js';
import type { Keyring } from '../security/keyring.js';
import { PROVIDER_URL_FIELDS, usableUrl, type LinkingSettings } from './settings.js';

/** Seconds openid-client waits for the provider: short, because a refresh can sit on a voice request. */
const PROVIDER_TIMEOUT_S = 5;

/** The cut-off of the provider calls made inside `withProviderDeadline` (openid-client only knows a fixed timeout per configuration). */
const callDeadline = new AsyncLocalStorage<AbortSignal>();

/**
 * Runs `work` with every provider call it makes aborted at `deadline` (epoch ms), on top of the
 * configuration's own timeout: a refresh on a voice request gets only the time the request has left.
 */
export function withProviderDeadline<T>(deadline: number, work: () => Promise<T>): Promise<T> {
  return callDeadline.run(AbortSignal.timeout(Math.max(1, deadline - Date.now())), work);
}

export const clientSecretContext = (extensionId: string): string => `oauth-client-secret:${extensionId}`;

/**
 * openid-client `Configuration`s per extension, built from its server settings and cached until the
 * settings change (their `updatedAt`). With an `issuer`, the provider's metadata is discovered (OIDC,
 * then RFC 8414) so id_tokens are validated against its keys; typed URLs then override what was
 * discovered. Without one, the typed URLs are used as they are.
 */
export class OAuthClients {
  readonly #keyring: Keyring;
  readonly #production: boolean;
  readonly #cache = new Map<string, { version: string; config: Promise<oidc.Configuration> }>();
  /** Provider calls in production mode: refused on loopback/private addresses, like action targets. */
  #strictAgent: Agent | undefined;

  constructor(keyring: Keyring, production: boolean) {
    this.#keyring = keyring;
    this.#production = production;
  }

  /** Closes the provider connections of the strict agent. */
  async close(): Promise<void> {
    await this.#strictAgent?.close();
  }

  /**
   * The fetch openid-client uses for this extension: in production mode (unless the extension
   * allows private targets) through an agent that refuses loopback, link-local and private
   * addresses on the address actually dialled, so the token, revocation and discovery URLs cannot
   * be used to reach the gateway's own network.
   */
  #fetchFor(ext: ExtensionRecord): oidc.CustomFetch {
    let send: oidc.CustomFetch = (url, { body, ...rest }) => fetch(url, body === undefined ? rest : { ...rest, body });
    if (this.#production && ext.allowPrivateTargets !== true) {
      this.#strictAgent ??= new Agent({ connect: policyConnect(true, () => undefined, PROVIDER_TIMEOUT_S * 1000) });
      const dispatcher = this.#strictAgent;
      send = (url, options) => undiciFetch(url, { ...options, dispatcher } as Parameters<typeof undiciFetch>[1]);
    }
    return (url, options) => {
      const deadline = callDeadline.getStore();
      return send(url, deadline === undefined ? options : { ...options, signal: options.signal === undefined ? deadline : AbortSignal.any([options.signal, deadline]) });
    };
  }

  configFor(ext: ExtensionRecord, s: LinkingSettings): Promise<oidc.Configuration> {
    // The settings' version, and the extension's allowPrivateTargets (it picks the fetch used).
    const version = `${s.updatedAt}|${ext.allowPrivateTargets === true}`;
    const hit = this.#cache.get(ext.extensionId);
    if (hit !== undefined && hit.version === version) return hit.config;
    const config = this.#build(ext, s);
    this.#cache.set(ext.extensionId, { version, config });
    // A failed discovery is not cached: the next attempt tries again.
    config.catch(() => {
      if (this.#cache.get(ext.extensionId)?.config === config) this.#cache.delete(ext.extensionId);
    });
    return config;
  }

  /** True when the configured issuer is a real one (discovery), so `iss` in callbacks can be checked. */
  static hasIssuer(s: LinkingSettings): boolean {
    return s.issuer !== undefined;
  }

  async #build(ext: ExtensionRecord, stored: LinkingSettings): Promise<oidc.Configuration> {
    const s = withUsableUrls(stored);
    const clientId = s.clientId ?? '';
    const secret = s.clientSecretSealed === undefined ? undefined : this.#keyring.open(s.clientSecretSealed, clientSecretContext(ext.extensionId));
    const auth = secret === undefined ? oidc.None() : s.clientAuth === 'body' ? oidc.ClientSecretPost(secret) : oidc.ClientSecretBasic(secret);
    const urls = [s.issuer, s.loginUrl, s.tokenUrl, s.revocationUrl].filter((u): u is string => u !== undefined);
    // openid-client refuses http by default; we allow it only outside production (loopback test
    // providers, local development), where settings validation already let it through.
    const insecure = !this.#production && urls.some((u) => u.startsWith('http:'));

    // Without an issuer we name the token endpoint's origin. Callbacks then have their `iss` removed
    // before the check (see AuthorizationFlow.complete), since it could not match a guessed issuer.
    const customFetch = this.#fetchFor(ext);
    const base: oidc.ServerMetadata =
      s.issuer !== undefined
        ? (await discover(new URL(s.issuer), clientId, auth, insecure, customFetch)).serverMetadata()
        : { issuer: new URL(s.tokenUrl ?? s.loginUrl ?? 'https://invalid.example').origin };
    const server: oidc.ServerMetadata = {
      ...base,
      ...(s.loginUrl === undefined ? {} : { authorization_endpoint: s.loginUrl }),
      ...(s.tokenUrl === undefined ? {} : { token_endpoint: s.tokenUrl }),
      ...(s.revocationUrl === undefined ? {} : { revocation_endpoint: s.revocationUrl }),
    };
    const config = new oidc.Configuration(server, clientId, undefined, auth);
    config.timeout = PROVIDER_TIMEOUT_S;
    if (insecure) oidc.allowInsecureRequests(config);
    config[oidc.customFetch] = customFetch;
    return config;
  }
}

/** `s` with each provider URL as the gateway uses it (an older version's record may hold credentials in one). */
function withUsableUrls(s: LinkingSettings): LinkingSettings {
  const copy = { ...s };
  for (const k of PROVIDER_URL_FIELDS) {
    const url = s[k];
    if (url !== undefined) copy[k] = usableUrl(url);
  }
  return copy;
}

async function discover(issuer: URL, clientId: string, auth: oidc.ClientAuth, insecure: boolean, customFetch: oidc.CustomFetch): Promise<oidc.Configuration> {
  const options: oidc.DiscoveryRequestOptions = {
    timeout: PROVIDER_TIMEOUT_S,
    ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
    [oidc.customFetch]: customFetch,
  };
  try {
    return await oidc.discovery(issuer, clientId, undefined, auth, options);
  } catch (first) {
    try {
      return await oidc.discovery(issuer, clientId, undefined, auth, { ...options, algorithm: 'oauth2' });
    } catch {
      throw first;
    }
  }
}
