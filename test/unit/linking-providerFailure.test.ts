import type { ServerResponse } from 'node:http';
import * as oidc from 'openid-client';
import { classifyProviderFailure } from '../../src/linking/providerFailure.js';
import { closedPort, startTarget, type TestTarget } from '../helpers/targets.js';

/**
 * How refresh failures are read: real openid-client calls against a loopback token endpoint that
 * answers each way a provider does in the field. Only `invalid_grant` may break a link; the reason
 * names the cause for the log, never the body or a token.
 */
describe('classifyProviderFailure', () => {
  let target: TestTarget;
  const send =
    (status: number, type: string, body: string, headers: Record<string, string> = {}) =>
    (_call: unknown, res: ServerResponse) => {
      res.writeHead(status, { 'content-type': type, ...headers }).end(body);
    };

  beforeAll(async () => {
    target = await startTarget({
      '/invalid_grant': send(400, 'application/json', '{"error":"invalid_grant","error_description":"grant revoked"}'),
      '/invalid_client': send(401, 'application/json', '{"error":"invalid_client"}'),
      '/challenge': send(401, 'application/json', '{"error":"invalid_client"}', { 'www-authenticate': 'Basic realm="x", error="invalid_client"' }),
      '/unauthorized_client': send(400, 'application/json', '{"error":"unauthorized_client"}'),
      '/server_error': send(500, 'application/json', '{"error":"server_error"}'),
      '/html200': send(200, 'text/html', '<html><body>Sign in</body></html>'),
      '/html502': send(502, 'text/html; charset=utf-8', '<html>Bad gateway</html>'),
      '/hang': () => undefined,
    });
  });
  afterAll(async () => {
    await target.close();
  });

  async function failureOf(url: string, timeoutSeconds = 5): Promise<unknown> {
    const config = new oidc.Configuration({ issuer: new URL(url).origin, token_endpoint: url }, 'client-1', undefined, oidc.ClientSecretPost('a-client-secret-value'));
    oidc.allowInsecureRequests(config);
    config.timeout = timeoutSeconds;
    try {
      await oidc.refreshTokenGrant(config, 'a-refresh-token-value');
    } catch (err) {
      return err;
    }
    throw new Error('the refresh did not fail');
  }

  test.each([
    ['/invalid_grant', 'grant_revoked', 'invalid_grant (HTTP 400)'],
    ['/invalid_client', 'client_rejected', 'invalid_client (HTTP 401)'],
    ['/challenge', 'client_rejected', 'invalid_client (HTTP 401)'],
    ['/unauthorized_client', 'client_rejected', 'unauthorized_client (HTTP 400)'],
    ['/server_error', 'provider_error', 'unexpected reply (HTTP 500, application/json)'],
    ['/html200', 'provider_error', 'not JSON (HTTP 200, text/html)'],
  ] as const)('%s → %s, %s', async (path, kind, reason) => {
    const failure = classifyProviderFailure(await failureOf(`${target.url}${path}`));
    expect(failure).toEqual({ kind, reason });
  });

  test('an HTML error page is a provider error that names its status and type', async () => {
    const failure = classifyProviderFailure(await failureOf(`${target.url}/html502`));
    expect(failure.kind).toBe('provider_error');
    expect(failure.reason).toContain('HTTP 502');
    expect(failure.reason).toContain('text/html');
    expect(failure.reason).not.toContain('Bad gateway');
  });

  test('a refused connection is a provider error', async () => {
    const failure = classifyProviderFailure(await failureOf(`http://127.0.0.1:${await closedPort()}/token`));
    expect(failure).toEqual({ kind: 'provider_error', reason: 'ECONNREFUSED' });
  });

  test('a provider that does not answer in time is a provider error (timeout)', async () => {
    const failure = classifyProviderFailure(await failureOf(`${target.url}/hang`, 1));
    expect(failure).toEqual({ kind: 'provider_error', reason: 'timeout', timedOut: true });
  });

  test('no reason ever holds the client secret or the refresh token', async () => {
    for (const path of ['/invalid_grant', '/invalid_client', '/html200', '/server_error']) {
      const { reason } = classifyProviderFailure(await failureOf(`${target.url}${path}`));
      expect(reason).not.toMatch(/a-client-secret-value|a-refresh-token-value/);
    }
  });
});
