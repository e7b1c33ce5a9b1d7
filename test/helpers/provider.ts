import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/**
 * A real OAuth 2.0 / OpenID Connect authorization server (oidc-provider) on a loopback port, with
 * PKCE required and refresh tokens issued. It counts what it is asked, so tests can assert the
 * token endpoint saw exactly one refresh.
 */
export interface TestProvider {
  issuer: string;
  authorizationUrl: string;
  tokenUrl: string;
  revocationUrl: string;
  clientId: string;
  clientSecret: string;
  counts: { authorizationCode: number; refresh: number; revocation: number };
  close(): Promise<void>;
}

export interface ProviderOptions {
  clientAuth: 'basic' | 'body';
  redirectUri: string;
  /** Access token lifetime in seconds (default 3600). */
  accessTokenTtl?: number;
  /** Refresh token lifetime in seconds (default 86400); with `rotateRefreshToken`, each refresh issues one that lives this long again. */
  refreshTokenTtl?: number;
  /** Issue a new refresh token on every refresh (default false: the same one, like many real providers). */
  rotateRefreshToken?: boolean;
}

export async function startProvider(o: ProviderOptions): Promise<TestProvider> {
  const counts = { authorizationCode: 0, refresh: 0, revocation: 0 };
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = `client-${o.clientAuth}`;
  const clientSecret = `secret-${o.clientAuth}-0123456789abcdef0123456789`;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [o.redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: o.clientAuth === 'basic' ? 'client_secret_basic' : 'client_secret_post',
      },
    ],
    scopes: ['openid', 'offline_access', 'api'],
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true }, revocation: { enabled: true } },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    cookies: { keys: ['test-cookie-key-0123456789'] },
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: { AccessToken: o.accessTokenTtl ?? 3600, IdToken: 3600, AuthorizationCode: 60, Interaction: 600, Session: 600, Grant: 3600, RefreshToken: o.refreshTokenTtl ?? 86400 },
    // Refresh tokens stay the same on refresh when not rotated, like many real providers.
    rotateRefreshToken: o.rotateRefreshToken ?? false,
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session?.grantIdFor(ctx.oidc.client!.clientId);
      return grantId === undefined ? undefined : ctx.oidc.provider.Grant.find(grantId);
    },
  });
  provider.on('server_error', () => undefined);
  // Count what the token and revocation endpoints are asked (after the provider parsed the request).
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.method !== 'POST') return;
    const grant = (ctx as unknown as { oidc?: { params?: { grant_type?: string } } }).oidc?.params?.grant_type;
    if (ctx.path === '/token' && grant === 'refresh_token') counts.refresh++;
    if (ctx.path === '/token' && grant === 'authorization_code') counts.authorizationCode++;
    if (ctx.path === '/token/revocation') counts.revocation++;
  });
  server.on('request', provider.callback());

  return {
    issuer,
    authorizationUrl: `${issuer}/auth`,
    tokenUrl: `${issuer}/token`,
    revocationUrl: `${issuer}/token/revocation`,
    clientId,
    clientSecret,
    counts,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
