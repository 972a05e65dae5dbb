import { CONNECTION_NAME_RULE, isConnectionName } from '../contract/names.js';
import { type Budget, backoffDelayMs } from './budget.js';
import { classifyFailure } from './classify.js';
import { reportEndpointRefusal } from './endpoint-refusal.js';
import type { EngineDeps } from './engine.js';
import {
  describeError,
  type FailureClass,
  failureClassOf,
  SecretNotFoundError,
  TokenRefresherError,
} from './errors.js';
import type {
  Ciphertext,
  ClientAuthMethod,
  ClientCredentials,
  IssuedTokens,
  SecretVersion,
  TokenDialect,
  TokenEndpointOutcome,
} from './ports.js';
import type { ProviderBehaviour } from './provider-behaviour.js';
import {
  behaviourOf,
  type ConnectionRecord,
  type ProviderSettings,
  providerSchema,
  RECORD_SCHEMA_VERSION,
  refreshTokenContext,
  serializeRecord,
} from './record.js';
import { refreshConnection } from './refresh-connection.js';
import { refreshTokenExpiresAt } from './refresh-token-expiry.js';
import { checkCredentialsBinding, checkTokenEndpoint } from './token-origin.js';
import { type ConnectionLease, takeConnectionLease } from './write-protocol.js';

/**
 * Connecting a connection: the refresher's `connect` and `import` actions. The operator
 * CLI runs the authorization code flow with PKCE and hands the refresher the code and
 * verifier (`connect`), or a refresh token read from standard input (`import`); the
 * refresher reads the client credentials, exchanges the code, encrypts the refresh token
 * under the refresh-token key and writes the record, holding the connection's lease like
 * every writer. The client secret and the refresh token never leave AWS.
 *
 * Nothing here logs or returns the code, the verifier or a token.
 */

/** An authorization code grant with PKCE (RFC 6749 §4.1.3, RFC 7636). */
export interface CodeGrantRequest {
  tokenEndpoint: string;
  dialect: TokenDialect;
  clientAuth: ClientAuthMethod;
  credentials: ClientCredentials;
  code: string;
  codeVerifier: string;
  /** Exactly the `redirect_uri` of the authorization request. */
  redirectUri: string;
  /** Abort the request after this many milliseconds. */
  timeoutMs: number;
  /** The engine's test-only switch: plain http (to loopback) only when true (see `RefreshGrantRequest`). */
  allowInsecureLoopback?: boolean;
  /** How the provider answers (its profile's, as the record stores it); absent: `DEFAULT_BEHAVIOUR`. */
  behaviour?: ProviderBehaviour;
}

/** The token endpoint's authorization code grant (the HTTP adapter implements both grants). */
export interface AuthorizationCodeEndpoint {
  exchangeCode(request: CodeGrantRequest): Promise<TokenEndpointOutcome>;
}

export type ConnectGrant =
  | { kind: 'authorization_code'; code: string; codeVerifier: string; redirectUri: string }
  | { kind: 'refresh_token'; refreshToken: string };

export interface ConnectRequest {
  connection: string;
  provider: ProviderSettings;
  grant: ConnectGrant;
  budget: Budget;
}

export type ConnectDeps = EngineDeps & {
  codeEndpoint: AuthorizationCodeEndpoint;
};

export type ConnectResult =
  | {
      connection: string;
      status: 'connected';
      versionId: string;
      /** Epoch ms; absent when an imported token could not be validated by a refresh yet. */
      expiresAt?: number;
      /** An import: whether the follow-up refresh proved the refresh token works. */
      validated: boolean;
    }
  | { connection: string; status: 'in_progress' }
  | {
      connection: string;
      status: 'failed';
      failureClass: FailureClass;
      message: string;
      versionId?: string;
    };

/** A failure that ends the attempt with its class; the message is safe to show. */
class ConnectFailure extends TokenRefresherError {
  constructor(
    readonly failureClass: FailureClass,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Connects (or reconnects) one connection from an authorization code or an imported
 * refresh token. Never throws: every ending is a result. A reconnect replaces the record
 * whatever its state and discards a rescued token set.
 */
export async function connectConnection(deps: ConnectDeps, request: ConnectRequest): Promise<ConnectResult> {
  const { connection, grant } = request;
  const { logger } = deps;
  // Registered first, so not even an unexpected error can echo them.
  if (grant.kind === 'authorization_code') {
    logger.registerSecret(grant.code);
    logger.registerSecret(grant.codeVerifier);
  } else {
    logger.registerSecret(grant.refreshToken);
  }

  if (!isConnectionName(connection)) {
    return failed(deps, connection, 'configuration', `the connection name must be ${CONNECTION_NAME_RULE}`);
  }
  const provider = providerSchema.safeParse(request.provider);
  if (!provider.success) {
    const fields = provider.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.code}`);
    return failed(deps, connection, 'configuration', `invalid provider settings: ${fields.join('; ')}`);
  }
  if (grant.kind === 'refresh_token' && grant.refreshToken.trim() === '') {
    return failed(deps, connection, 'configuration', 'the imported refresh token is empty');
  }

  // Pinned token endpoints (core/token-origin.ts): the event names its own provider, so it
  // is checked against the deployment's allow-list before anything is read, and the client
  // credentials it names against their binding before anything is sent or stored.
  const allowed = checkTokenEndpoint(provider.data.tokenEndpoint, deps.settings);
  if (!allowed.ok) return refused(deps, connection, allowed.message);
  const credentialsSecretId = provider.data.clientCredentialsSecretId;
  let credentials: ClientCredentials;
  try {
    credentials = await deps.credentials(credentialsSecretId);
  } catch (error) {
    return failed(deps, connection, failureClassOf(error), describeError(error));
  }
  logger.registerSecret(credentials.clientSecret);
  const bound = checkCredentialsBinding(allowed.origin, credentials, credentialsSecretId);
  if (!bound.ok) return refused(deps, connection, bound.message);

  const { settings } = deps;
  if (!request.budget.fits(settings.minRequestTimeoutMs, settings.commitReserveMs)) {
    return failed(deps, connection, 'no_time', 'not enough invocation time left to connect');
  }
  const attempt = await takeConnectionLease(deps, connection, request.budget, 'connect');
  if (attempt.kind === 'unavailable') return failed(deps, connection, 'transient', attempt.message);
  if (attempt.kind === 'held') {
    logger.info('connection is being refreshed by another invocation; connect not attempted', { connection });
    return { connection, status: 'in_progress' };
  }
  const { lease } = attempt;
  let committed: { versionId: string; record: ConnectionRecord };
  try {
    committed = await writeConnection(deps, lease, { ...request, provider: provider.data }, credentials);
  } catch (error) {
    const failureClass = error instanceof ConnectFailure ? error.failureClass : failureClassOf(error);
    const message = error instanceof ConnectFailure ? error.message : describeError(error);
    return failed(deps, connection, failureClass, message);
  } finally {
    await lease.release();
  }
  await lease.writeHint(committed.versionId, committed.record);
  const expiresAt = committed.record.expiresAt ? Date.parse(committed.record.expiresAt) : undefined;
  logger.info('connection connected', {
    connection,
    versionId: committed.versionId,
    expiresAt: committed.record.expiresAt,
    grant: grant.kind,
  });
  if (grant.kind === 'authorization_code') {
    return { connection, status: 'connected', versionId: committed.versionId, expiresAt, validated: true };
  }

  // An imported refresh token: one refresh proves it works and yields an access token.
  const refreshed = await refreshConnection(deps, { connection, budget: request.budget, force: true });
  switch (refreshed.status) {
    case 'refreshed':
    case 'restored':
      return {
        connection,
        status: 'connected',
        versionId: refreshed.versionId,
        expiresAt: refreshed.expiresAt,
        validated: true,
      };
    case 'failed':
      return {
        connection,
        status: 'failed',
        failureClass: refreshed.failureClass,
        message: `the imported refresh token was stored, but refreshing with it failed: ${refreshed.message}`,
        versionId: refreshed.versionId,
      };
    case 'skipped':
      // Another invocation took the lease in between: it refreshes the imported token itself.
      return { connection, status: 'connected', versionId: committed.versionId, validated: false };
  }
}

/** Under the lease: read, exchange (or take the imported token), encrypt, commit. */
async function writeConnection(
  deps: ConnectDeps,
  lease: ConnectionLease,
  request: ConnectRequest,
  credentials: ClientCredentials,
): Promise<{ versionId: string; record: ConnectionRecord }> {
  const { connection, provider, grant } = request;
  const { secretName } = lease;
  let current: SecretVersion | undefined;
  try {
    const read = await lease.readCurrent();
    if (read.access.kind === 'stale') {
      // Committing from a replaced version could only conflict; the code would be spent for nothing.
      throw new ConnectFailure(
        'transient',
        `AWSCURRENT of "${secretName}" was read stale (version ${read.current.versionId} was already replaced); ` +
          'nothing was sent: run connect again',
      );
    }
    current = read.current;
  } catch (error) {
    if (!(error instanceof SecretNotFoundError)) throw error;
    if (!deps.secretCreator) {
      throw new ConnectFailure(
        'configuration',
        `connection "${connection}" has no secret "${secretName}"; create it first with the stack's secrets key ` +
          '(token-refresher connect does)',
      );
    }
  }

  let record: ConnectionRecord;
  if (grant.kind === 'authorization_code') {
    const { tokens, sentAt } = await exchange(deps, request, grant, credentials);
    deps.logger.registerSecret(tokens.accessToken);
    if (!tokens.refreshToken) {
      throw new ConnectFailure(
        'configuration',
        'the provider issued no refresh token; ask for offline access (for example the scope offline_access) ' +
          'and check that the client may use the refresh_token grant',
      );
    }
    deps.logger.registerSecret(tokens.refreshToken);
    const refreshToken = await encrypt(deps, secretName, tokens.refreshToken);
    // What a refresh records of its token set, from the grant's first one (the grant is now).
    const rtExpiry = refreshTokenExpiresAt({
      behaviour: behaviourOf(provider),
      sentAt,
      refreshTokenExpiresIn: tokens.refreshTokenExpiresIn,
      grantedAt: sentAt,
      rotated: true,
    });
    // RFC 6749 §5.1: a response without a scope granted the one the authorization requested.
    const grantedScope = tokens.scope ?? provider.scope;
    record = {
      schemaVersion: RECORD_SCHEMA_VERSION,
      connection,
      provider,
      status: 'active',
      accessToken: tokens.accessToken,
      tokenType: tokens.tokenType,
      // Counted from when the request was sent: never later than the provider's view.
      expiresAt: new Date(sentAt + tokens.expiresIn * 1000).toISOString(),
      refreshToken,
      refreshedAt: new Date(deps.clock.now()).toISOString(),
      tokenLifetimeSeconds: Math.round(tokens.expiresIn),
      grantedAt: new Date(sentAt).toISOString(),
      ...(grantedScope !== undefined ? { grantedScope } : {}),
      ...(rtExpiry !== undefined ? { refreshTokenExpiresAt: rtExpiry } : {}),
      ...(tokens.providerFields !== undefined ? { providerFields: tokens.providerFields } : {}),
      lastError: null,
    };
  } else {
    // No access token yet: the follow-up refresh gets one (and proves the token works). The
    // grant's own time is unknown: an absolute refresh-token lifetime counts from the import.
    record = {
      schemaVersion: RECORD_SCHEMA_VERSION,
      connection,
      provider,
      status: 'active',
      refreshToken: await encrypt(deps, secretName, grant.refreshToken.trim()),
      grantedAt: new Date(deps.clock.now()).toISOString(),
      lastError: null,
    };
  }

  const committed = await lease.commit(current?.versionId, async () => serializeRecord(record));
  if (!committed.ok) {
    throw new ConnectFailure(
      'commit_failed',
      `the new connection record could not be written (${committed.error}); nothing was changed: run connect again`,
    );
  }
  // The new grant supersedes any token set a failed commit left behind.
  lease.discardRescueOnRelease();
  return { versionId: committed.versionId, record };
}

/** The code exchange: retried only when the code provably did not reach the provider. */
async function exchange(
  deps: ConnectDeps,
  request: ConnectRequest,
  grant: Extract<ConnectGrant, { kind: 'authorization_code' }>,
  credentials: ClientCredentials,
): Promise<{ tokens: IssuedTokens; sentAt: number }> {
  const { settings, clock } = deps;
  for (let attempt = 1; ; attempt += 1) {
    const timeoutMs = Math.min(
      settings.requestTimeoutMs,
      request.budget.remainingMs() - settings.commitReserveMs,
    );
    if (timeoutMs < settings.minRequestTimeoutMs) {
      throw new ConnectFailure('no_time', 'not enough invocation time left for the code exchange');
    }
    const sentAt = clock.now();
    const outcome = await deps.codeEndpoint.exchangeCode({
      tokenEndpoint: request.provider.tokenEndpoint,
      dialect: request.provider.dialect,
      clientAuth: request.provider.clientAuth,
      credentials,
      code: grant.code,
      codeVerifier: grant.codeVerifier,
      redirectUri: grant.redirectUri,
      timeoutMs,
      allowInsecureLoopback: settings.allowInsecureLoopback,
      // Read as a refresh's answer is: a default lifetime, the token types, fields to keep.
      behaviour: behaviourOf(request.provider),
    });
    if (outcome.kind === 'tokens') return { tokens: outcome.tokens, sentAt };
    // A code is single-use: only a request that never reached the provider, or a 429 it
    // did not process, may be sent again.
    const retryable =
      (outcome.kind === 'network' && !outcome.requestSent) ||
      (outcome.kind === 'http_error' && outcome.status === 429);
    if (retryable && attempt < settings.maxTransientAttempts) {
      const delayMs = Math.max(
        outcome.kind === 'http_error' ? (outcome.retryAfterMs ?? 0) : 0,
        backoffDelayMs(attempt - 1, settings.backoffBaseMs, settings.backoffCapMs, deps.random),
      );
      if (request.budget.fits(delayMs + settings.minRequestTimeoutMs, settings.commitReserveMs)) {
        await clock.sleep(delayMs);
        continue;
      }
    }
    throw codeExchangeFailure(outcome);
  }
}

function codeExchangeFailure(outcome: Exclude<TokenEndpointOutcome, { kind: 'tokens' }>): ConnectFailure {
  if (outcome.kind === 'oauth_error' && outcome.error === 'invalid_grant') {
    const described = outcome.description ? ` (${outcome.description})` : '';
    return new ConnectFailure(
      'reauth_required',
      `the provider rejected the authorization code: invalid_grant${described}; it expired or was used ` +
        'already, or the redirect URI or PKCE verifier did not match; run connect again',
    );
  }
  const classified = classifyFailure(outcome);
  // The operator's answer (never a record) may carry the provider's sanitized description.
  const described = classified.providerDescription
    ? ` (the provider said: ${classified.providerDescription})`
    : '';
  return new ConnectFailure(
    classified.failureClass,
    `the code exchange failed: ${classified.message}${described}`,
  );
}

async function encrypt(deps: ConnectDeps, secretName: string, refreshToken: string): Promise<Ciphertext> {
  return deps.keys.encrypt(refreshToken, refreshTokenContext(secretName));
}

/** A token endpoint refused by the pin: nothing was read from the key, nothing sent or stored. */
function refused(deps: ConnectDeps, connection: string, message: string): ConnectResult {
  reportEndpointRefusal(deps, connection, message, { log: false });
  return failed(deps, connection, 'configuration', message);
}

function failed(
  deps: ConnectDeps,
  connection: string,
  failureClass: FailureClass,
  message: string,
): ConnectResult {
  deps.logger.error('connect failed', { connection, failureClass, reason: message });
  return { connection, status: 'failed', failureClass, message };
}
