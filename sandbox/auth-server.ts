/**
 * A real OAuth 2.0 authorization server for the tests, the demo and the benchmarks: an in-process `oidc-provider` 9.x
 * configured like a strict production provider that rotates single-use refresh tokens.
 *
 * - Every refresh consumes the presented refresh token and issues a successor
 *   (`rotateRefreshToken: true`). Presenting a consumed token again answers
 *   `invalid_grant` and revokes the whole grant, so its successors die too.
 * - Access tokens are opaque with a short, per-server TTL (`accessTokenTtlSeconds`);
 *   refresh tokens and grants live long. `clockTolerance` is 0.
 * - Two confidential clients by default, one per RFC 6749 §2.3.1 method
 *   (`client_secret_post`, `client_secret_basic`), each with a random secret. Unlike
 *   bare oidc-provider, a client must authenticate the way it is registered.
 * - `mintRefreshToken` creates a grant and its first refresh token directly through the
 *   provider's models, so no browser or authorization-code dance is needed.
 * - A proxy in front of the provider (see `auth-server/token-endpoint-proxy.ts`) records every
 *   presented refresh token, serves the Askara JSON dialect on `jsonTokenEndpoint`
 *   (see `auth-server/json-dialect.ts`), and injects faults into the next token requests.
 *
 * Token values stay in memory and are never logged. oidc-provider itself prints one
 * "unsupported runtime" warning on Node 20 when it is imported; the other notices it
 * prints for development defaults are avoided by configuring those defaults.
 *
 * @example
 * const server = await startAuthServer({ accessTokenTtlSeconds: 2 });
 * const client = server.client('client_secret_basic');
 * const refreshToken = await server.mintRefreshToken({ clientId: client.clientId });
 * // ...exercise a refresher against server.tokenEndpoint...
 * expect(server.reusedRefreshTokens()).toEqual([]);
 * await server.stop();
 */
import { generateKeyPair, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import Provider, { type ClientMetadata, type KoaContextWithOIDC } from 'oidc-provider';
import type { ClientAuthMethod } from '../lambda/core/ports.js';
import { basicAuthorization } from './auth-server/json-dialect.js';
import { createMemoryAdapter } from './auth-server/memory-adapter.js';
import {
  type Fault,
  type Presentation,
  startTokenEndpointProxy,
} from './auth-server/token-endpoint-proxy.js';

export type { Fault, Presentation } from './auth-server/token-endpoint-proxy.js';

export interface AuthServerClient {
  clientId: string;
  clientSecret: string;
  authMethod: ClientAuthMethod;
}

export interface AuthServerOptions {
  /** Access-token lifetime. Default 60. */
  accessTokenTtlSeconds?: number;
  /** Refresh-token (and grant) lifetime. Default 30 days. */
  refreshTokenTtlSeconds?: number;
  /**
   * Registered clients; a missing secret is generated. Default: `test-client`
   * (`client_secret_post`) and `test-client-basic` (`client_secret_basic`).
   */
  clients?: { clientId: string; authMethod: ClientAuthMethod; clientSecret?: string }[];
  /**
   * Accept `client_secret_basic` and `client_secret_post` interchangeably, as bare
   * oidc-provider does. Default false: a client must authenticate the way it is
   * registered, or it gets 401 `invalid_client` (see `client-auth-method.ts`).
   */
  lenientClientAuthMethod?: boolean;
  /**
   * Serve the authorization code flow without a human, for the operator CLI's tests and
   * the demo: the authorization endpoint logs in `accountId` (default `user-1`) and grants
   * the requested scopes at once, then redirects to the client's loopback redirect URI
   * (`http://127.0.0.1/callback` or `http://localhost/callback` on any port, RFC 8252
   * §7.3). PKCE (S256) is required. Follow the redirects with `headlessAuthorize`
   * (headless-browser.ts). Default off: the authorization endpoint has no interaction.
   */
  autoApprove?: boolean | { accountId?: string };
  /**
   * Serve the authorization code flow to a person (or a real browser driven like one):
   * oidc-provider's own login page (any login and password) and consent page, then the
   * redirect to the client's loopback redirect URI. PKCE (S256) is required. Exclusive
   * with `autoApprove`. Default off.
   */
  interactive?: boolean;
}

/** A refresh token presented more than once, with every presentation in order. */
export interface ReusedRefreshToken {
  refreshToken: string;
  presentations: Presentation[];
  /**
   * True when the provider received it again after it had accepted it once: a replay of
   * a consumed token (which revokes the grant). False when only un-forwarded attempts
   * (injected `status`/`raw` faults) or rejected ones preceded it, i.e. legitimate retries.
   */
  replayedAfterConsumption: boolean;
}

/** An RFC 7662 introspection response. */
export interface Introspection {
  active: boolean;
  client_id?: string;
  sub?: string;
  scope?: string;
  exp?: number;
  iat?: number;
  token_type?: string;
  [claim: string]: unknown;
}

export interface AuthServer {
  /** `http://127.0.0.1:<port>`. */
  issuer: string;
  /** The provider's RFC 6749 (form-body) token endpoint. */
  tokenEndpoint: string;
  /** The same token endpoint, speaking the Askara JSON dialect. */
  jsonTokenEndpoint: string;
  /** The authorization endpoint (serves a flow only with `autoApprove`). */
  authorizationEndpoint: string;
  clients: readonly AuthServerClient[];
  /** The first registered client using `authMethod`. */
  client(authMethod: ClientAuthMethod): AuthServerClient;
  /** Creates a grant and its first refresh token for `clientId`; returns the token. */
  mintRefreshToken(options: { clientId: string; accountId?: string; scope?: string }): Promise<string>;
  /** Every refresh token presented to either token endpoint, in order of receipt. */
  presentedRefreshTokens(): Presentation[];
  /** The refresh tokens presented more than once. */
  reusedRefreshTokens(): ReusedRefreshToken[];
  /** Introspects a token (access or refresh) at the provider's introspection endpoint. */
  introspect(token: string): Promise<Introspection>;
  /** Revokes the grant a refresh token belongs to, as a user revoking access would. False when unknown. */
  revokeGrantOf(refreshToken: string): Promise<boolean>;
  /**
   * Revokes one access token and nothing else. False when unknown. (Revoking it at the
   * RFC 7009 endpoint instead would, in oidc-provider 9.x, also revoke every refresh
   * token of its grant.)
   */
  revokeAccessToken(accessToken: string): Promise<boolean>;
  /** Applies `fault` to the next `fault.count` (default 1) token requests; faults queue in order. */
  injectFault(fault: Fault): void;
  clearFaults(): void;
  stop(): Promise<void>;
}

export const DEFAULT_SCOPE = 'openid offline_access api:read';
const REDIRECT_URI = 'http://127.0.0.1/callback';
/** With `autoApprove`, clients are native apps: these match on any loopback port. */
const LOOPBACK_REDIRECT_URIS = [REDIRECT_URI, 'http://localhost/callback'];
const TOKEN_PATH = '/token';
const JSON_TOKEN_PATH = '/askara/token';

export async function startAuthServer(options: AuthServerOptions = {}): Promise<AuthServer> {
  const accessTokenTtl = options.accessTokenTtlSeconds ?? 60;
  const refreshTokenTtl = options.refreshTokenTtlSeconds ?? 30 * 24 * 60 * 60;
  const clients: AuthServerClient[] = (
    options.clients ?? [
      { clientId: 'test-client', authMethod: 'client_secret_post' },
      { clientId: 'test-client-basic', authMethod: 'client_secret_basic' },
    ]
  ).map((c) => ({ ...c, clientSecret: c.clientSecret ?? randomBytes(32).toString('base64url') }));

  const proxy = await startTokenEndpointProxy({
    tokenPath: TOKEN_PATH,
    jsonTokenPath: JSON_TOKEN_PATH,
    clients,
    enforceClientAuthMethod: !options.lenientClientAuthMethod,
  });
  const issuer = proxy.origin;

  const autoApprove = options.autoApprove
    ? { accountId: (typeof options.autoApprove === 'object' && options.autoApprove.accountId) || 'user-1' }
    : undefined;
  const codeFlow = autoApprove !== undefined || Boolean(options.interactive);
  const provider = new Provider(issuer, {
    adapter: createMemoryAdapter(),
    jwks: { keys: [await signingKey()] },
    clients: clients.map((client) => clientMetadata(client, codeFlow)),
    ...(codeFlow
      ? {
          cookies: { keys: [randomBytes(32).toString('base64url')] },
          pkce: { required: () => true },
        }
      : {}),
    scopes: DEFAULT_SCOPE.split(' '),
    clockTolerance: 0,
    rotateRefreshToken: true,
    issueRefreshToken: () => true,
    expiresWithSession: () => false,
    ttl: {
      AccessToken: accessTokenTtl,
      IdToken: accessTokenTtl,
      AuthorizationCode: 60,
      RefreshToken: refreshTokenTtl,
      Grant: refreshTokenTtl,
      Session: refreshTokenTtl,
      Interaction: 600,
    },
    features: {
      // oidc-provider's own login and consent pages, for `interactive`.
      devInteractions: { enabled: Boolean(options.interactive) && !autoApprove },
      introspection: { enabled: true, allowedPolicy: async () => true },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx: unknown, client: { clientId: string }, token: { clientId?: string }) =>
          token.clientId === client.clientId,
      },
    },
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    renderError: async (ctx: KoaContextWithOIDC, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
  });

  const callback = provider.callback();
  const providerServer = createServer(
    autoApprove
      ? (req, res) => {
          if (req.url?.startsWith('/interaction/')) {
            approveInteraction(provider, autoApprove.accountId, req, res).catch(() => {
              if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
              res.end(JSON.stringify({ error: 'server_error' }));
            });
            return;
          }
          callback(req, res);
        }
      : callback,
  );
  await new Promise<void>((resolve, reject) => {
    providerServer.once('error', reject);
    providerServer.listen(0, '127.0.0.1', () => resolve());
  });
  proxy.connect((providerServer.address() as AddressInfo).port);

  const introspectionEndpoint = provider.urlFor('introspection');

  return {
    issuer,
    tokenEndpoint: `${issuer}${TOKEN_PATH}`,
    jsonTokenEndpoint: `${issuer}${JSON_TOKEN_PATH}`,
    authorizationEndpoint: provider.urlFor('authorization'),
    clients,

    client(authMethod) {
      const found = clients.find((c) => c.authMethod === authMethod);
      if (!found) throw new Error(`no registered client uses ${authMethod}`);
      return found;
    },

    async mintRefreshToken({ clientId, accountId = 'user-1', scope = DEFAULT_SCOPE }) {
      const client = await provider.Client.find(clientId);
      if (!client) throw new Error(`unknown client ${clientId}`);
      const grant = new provider.Grant({ accountId, clientId });
      grant.addOIDCScope(scope);
      const grantId = await grant.save();
      const refreshToken = new provider.RefreshToken({
        accountId,
        client,
        grantId,
        scope,
        gty: 'authorization_code',
        authTime: Math.floor(Date.now() / 1000),
        expiresWithSession: false,
      });
      return refreshToken.save();
    },

    presentedRefreshTokens: () => proxy.presentations(),

    reusedRefreshTokens() {
      const byToken = new Map<string, Presentation[]>();
      for (const p of proxy.presentations()) {
        byToken.set(p.refreshToken, [...(byToken.get(p.refreshToken) ?? []), p]);
      }
      return [...byToken]
        .filter(([, presentations]) => presentations.length > 1)
        .map(([refreshToken, presentations]) => {
          const accepted = presentations.findIndex((p) => p.forwarded && p.status === 200);
          return {
            refreshToken,
            presentations,
            replayedAfterConsumption:
              accepted >= 0 && presentations.slice(accepted + 1).some((p) => p.forwarded),
          };
        });
    },

    async introspect(token) {
      const [client] = clients;
      if (!client) throw new Error('no registered client to introspect with');
      const form = new URLSearchParams({ token });
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
      if (client.authMethod === 'client_secret_basic') {
        headers.authorization = basicAuthorization(client.clientId, client.clientSecret);
      } else {
        form.set('client_id', client.clientId);
        form.set('client_secret', client.clientSecret);
      }
      const response = await fetch(introspectionEndpoint, { method: 'POST', headers, body: form });
      if (!response.ok) throw new Error(`introspection answered HTTP ${response.status}`);
      return (await response.json()) as Introspection;
    },

    async revokeGrantOf(refreshToken) {
      const token = await provider.RefreshToken.find(refreshToken, { ignoreExpiration: true });
      const grantId = token?.grantId;
      if (!grantId) return false;
      await Promise.all([
        provider.AccessToken.revokeByGrantId(grantId),
        provider.RefreshToken.revokeByGrantId(grantId),
        provider.AuthorizationCode.revokeByGrantId(grantId),
        provider.Grant.adapter.destroy(grantId),
      ]);
      return true;
    },

    async revokeAccessToken(accessToken) {
      const token = await provider.AccessToken.find(accessToken);
      if (!token) return false;
      await token.destroy();
      return true;
    },

    injectFault: (fault) => proxy.injectFault(fault),
    clearFaults: () => proxy.clearFaults(),

    async stop() {
      await Promise.all([
        proxy.close(),
        new Promise<void>((resolve) => {
          providerServer.close(() => resolve());
          providerServer.closeAllConnections();
        }),
      ]);
    },
  };
}

function clientMetadata(client: AuthServerClient, loopbackNativeApp = false): ClientMetadata {
  return {
    client_id: client.clientId,
    client_secret: client.clientSecret,
    token_endpoint_auth_method: client.authMethod,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: loopbackNativeApp ? LOOPBACK_REDIRECT_URIS : [REDIRECT_URI],
    scope: DEFAULT_SCOPE,
    ...(loopbackNativeApp ? { application_type: 'native' } : {}),
  };
}

/**
 * The `autoApprove` interaction: logs the account in, then grants what the client asked
 * for, as a user clicking "Allow" would (oidc-provider's documented interaction API).
 */
async function approveInteraction(
  provider: Provider,
  accountId: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'login') {
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId } },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  const missing = details.prompt.details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId, clientId: String(details.params.client_id) });
  if (!grant) throw new Error('the interaction names an unknown grant');
  const scopes = missing.missingOIDCScope as string[] | undefined;
  if (scopes) grant.addOIDCScope(scopes.join(' '));
  const claims = missing.missingOIDCClaims as string[] | undefined;
  if (claims) grant.addOIDCClaims(claims);
  const resourceScopes = missing.missingResourceScopes as Record<string, string[]> | undefined;
  for (const [indicator, values] of Object.entries(resourceScopes ?? {})) {
    grant.addResourceScope(indicator, values.join(' '));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

/** A fresh RS256 signing key (ID tokens), so the provider does not fall back to its dev keys. */
async function signingKey(): Promise<object> {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: 'test-signing-key', use: 'sig', alg: 'RS256' };
}
