import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerStore } from '../adapters/secrets-manager-store.js';
import { ConsumerEnvironment, connectionSecretName, DEFAULT_CONNECTION_PREFIX } from '../contract/names.js';
import { SecretNotFoundError } from '../core/errors.js';
import { createAuthorizedFetch } from './authorized-fetch.js';
import { type ConsumerView, readConsumerView } from './consumer-record.js';
import {
  ConnectionDisabledError,
  ConnectionNotFoundError,
  ReauthRequiredError,
  RefresherBusyError,
  RefreshFailedError,
  TokenExpiredError,
} from './errors.js';
import { LambdaRefreshRequester } from './lambda-refresh-requester.js';
import type { AccessToken, ClientClock, RefreshRequester, SecretReader } from './ports.js';

export type { AccessToken } from './ports.js';

export interface TokenClientOptions {
  /**
   * Secret-name prefix of the connections.
   * @default process.env.TOKEN_REFRESHER_PREFIX ?? 'token-refresher/'
   */
  prefix?: string;
  /**
   * Name or ARN of the refresher's on-demand function, asked for a refresh after a 401.
   * @default process.env.TOKEN_REFRESHER_FUNCTION
   */
  refresherFunction?: string;
  /**
   * A cached token is re-read this long before it expires (the refresher renews tokens
   * well before that, so one read near expiry picks up the new one).
   * @default 60 seconds
   */
  skewSeconds?: number;
  /** How long a 401 may wait for the refresher before `RefresherBusyError`. @default 10 seconds */
  maxWaitSeconds?: number;
  /** @default Secrets Manager (AWSCURRENT) */
  secrets?: SecretReader;
  /** @default a synchronous Lambda invoke of `refresherFunction` */
  requester?: RefreshRequester;
  clock?: ClientClock;
}

interface CacheEntry {
  token: AccessToken;
  /** Epoch ms after which the next call reads the secret again. */
  checkAfter: number;
}

/** After a read that found the token already inside the skew, re-read at most this often. */
const RECHECK_MS = 5_000;

const systemClock: ClientClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Hands consumer Lambdas a valid access token for a connection, and coordinates with the
 * refresher when an API still answers 401. Consumers never hold a refresh token and never
 * refresh on their own: with single-use refresh tokens, two services refreshing at once
 * revoke everything.
 *
 * @example
 * ```ts
 * import { TokenClient } from '@token-refresher/client';
 *
 * const tokens = new TokenClient(); // TOKEN_REFRESHER_PREFIX, TOKEN_REFRESHER_FUNCTION
 * const askara = tokens.fetch('askara-prod');
 *
 * export const handler = async () => {
 *   const response = await askara('https://api.askara.ai/v1/projects');
 *   return response.json();
 * };
 * ```
 */
export class TokenClient {
  private readonly prefix: string;
  private readonly skewMs: number;
  private readonly maxWaitMs: number;
  private readonly secrets: SecretReader;
  private readonly requester?: RefreshRequester;
  private readonly clock: ClientClock;
  private readonly cache = new Map<string, CacheEntry>();
  /** Concurrent callers share one read per connection... */
  private readonly reads = new Map<string, Promise<AccessToken>>();
  /** ...and one renewal per connection and rejected version. */
  private readonly renewals = new Map<string, Promise<AccessToken>>();

  constructor(options: TokenClientOptions = {}) {
    this.prefix = options.prefix ?? process.env[ConsumerEnvironment.prefix] ?? DEFAULT_CONNECTION_PREFIX;
    this.skewMs = (options.skewSeconds ?? 60) * 1000;
    this.maxWaitMs = (options.maxWaitSeconds ?? 10) * 1000;
    this.secrets = options.secrets ?? new SecretsManagerStore(new SecretsManagerClient({}));
    const functionName = options.refresherFunction ?? process.env[ConsumerEnvironment.refresherFunction];
    this.requester =
      options.requester ?? (functionName ? new LambdaRefreshRequester(functionName) : undefined);
    this.clock = options.clock ?? systemClock;
  }

  /**
   * A valid access token for `connection`: from memory while it is not near expiry,
   * otherwise one `GetSecretValue` (shared by concurrent callers). Never returns a token
   * past its expiry.
   *
   * @throws ReauthRequiredError, ConnectionDisabledError, ConnectionNotFoundError,
   *   TokenExpiredError, RefresherBusyError, RefreshFailedError
   */
  async getAccessToken(connection: string): Promise<AccessToken> {
    const entry = this.cache.get(connection);
    const now = this.clock.now();
    if (entry && now < entry.checkAfter && now < entry.token.expiresAt.getTime()) return entry.token;
    return this.shared(this.reads, connection, () => this.load(connection));
  }

  /**
   * Called when an API rejected `rejected` with 401: returns a different, valid token.
   * Re-reads the secret first (another consumer may already have caused a refresh); if
   * the version is unchanged, asks the refresher to refresh exactly that version, then
   * waits for the new one. Concurrent callers share one request.
   */
  async refreshAfterUnauthorized(connection: string, rejected: AccessToken): Promise<AccessToken> {
    return this.shared(this.renewals, `${connection}\n${rejected.versionId}`, async () => {
      const fresh = await this.readValid(connection);
      if (fresh && fresh.versionId !== rejected.versionId) return this.remember(connection, fresh);
      return this.renew(connection, rejected.versionId);
    });
  }

  /**
   * A `fetch` for one connection: adds `Authorization: <type> <token>`; on 401, asks for a
   * refresh (see {@link refreshAfterUnauthorized}) and retries once. A second 401 throws
   * `UnauthorizedAfterRefreshError`; there is never a second retry.
   */
  fetch(connection: string, options: { fetch?: typeof fetch } = {}): typeof fetch {
    return createAuthorizedFetch(this, connection, options.fetch ?? fetch);
  }

  private async load(connection: string): Promise<AccessToken> {
    const { versionId, view } = await this.read(connection);
    const token = this.validToken(view, versionId);
    if (token) return this.remember(connection, token);
    // The secret holds no valid token (the refresher is behind): ask for this version's refresh.
    return this.renew(connection, versionId);
  }

  /** Asks the refresher until AWSCURRENT moves past `versionId` with a valid token, within the wait. */
  private async renew(connection: string, versionId: string): Promise<AccessToken> {
    if (!this.requester) {
      throw new RefresherBusyError(
        connection,
        'no refresher function is configured (TOKEN_REFRESHER_FUNCTION)',
      );
    }
    const deadline = this.clock.now() + this.maxWaitMs;
    let detail = 'no answer';
    while (this.clock.now() < deadline) {
      const response = await this.requester.requestRefresh(connection, versionId);
      if (response.outcome === 'failed') {
        if (response.failureClass === 'reauth_required')
          throw new ReauthRequiredError(connection, response.message);
        throw new RefreshFailedError(
          connection,
          response.failureClass ?? 'unknown',
          response.message ?? 'no detail',
        );
      }
      if (response.outcome === 'declined') {
        if (response.reason === 'not_active') await this.read(connection); // throws the status's error
        detail =
          response.reason === 'min_interval' || response.reason === 'version_quota'
            ? 'the token was refreshed moments ago and may not be refreshed again yet (minimum interval)'
            : `the refresher declined (${response.reason ?? 'no reason'})`;
        break;
      }
      detail =
        response.outcome === 'in_progress'
          ? 'a refresh is still in progress'
          : 'the new version is not readable yet';
      const fresh = await this.waitForNewVersion(connection, versionId, deadline);
      if (fresh) return this.remember(connection, fresh);
    }
    const current = await this.readValid(connection);
    if (current && current.versionId !== versionId) return this.remember(connection, current);
    if (!current) throw new TokenExpiredError(connection);
    throw new RefresherBusyError(connection, detail);
  }

  /** Polls the secret with growing pauses until a new version with a valid token appears. */
  private async waitForNewVersion(
    connection: string,
    versionId: string,
    deadline: number,
  ): Promise<AccessToken | undefined> {
    // Re-ask the refresher after ~2 s: an in-progress refresh that failed will not commit.
    const askAgainAt = Math.min(deadline, this.clock.now() + 2_000);
    for (let pause = 50; ; pause = Math.min(pause * 2, 500)) {
      const fresh = await this.readValid(connection);
      if (fresh && fresh.versionId !== versionId) return fresh;
      const remaining = askAgainAt - this.clock.now();
      if (remaining <= 0) return undefined;
      await this.clock.sleep(Math.min(pause, remaining));
    }
  }

  private async readValid(connection: string): Promise<AccessToken | undefined> {
    const { versionId, view } = await this.read(connection);
    return this.validToken(view, versionId);
  }

  private async read(connection: string): Promise<{ versionId: string; view: ConsumerView }> {
    const secretId = connectionSecretName(this.prefix, connection);
    let secret: { versionId: string; value: string };
    try {
      secret = await this.secrets.getCurrent(secretId);
    } catch (error) {
      if (error instanceof SecretNotFoundError) throw new ConnectionNotFoundError(connection, secretId);
      throw error;
    }
    const view = readConsumerView(connection, secret.value);
    if (view.status === 'reauth_required') throw new ReauthRequiredError(connection, view.lastErrorMessage);
    if (view.status === 'disabled') throw new ConnectionDisabledError(connection);
    return { versionId: secret.versionId, view };
  }

  private validToken(view: ConsumerView, versionId: string): AccessToken | undefined {
    if (!view.accessToken || view.expiresAt === undefined || view.expiresAt <= this.clock.now())
      return undefined;
    return {
      accessToken: view.accessToken,
      tokenType: view.tokenType,
      expiresAt: new Date(view.expiresAt),
      versionId,
    };
  }

  private remember(connection: string, token: AccessToken): AccessToken {
    const now = this.clock.now();
    const expiresAt = token.expiresAt.getTime();
    const beforeSkew = expiresAt - this.skewMs;
    // Inside the skew already (the refresher is late): check again soon, never past expiry.
    const checkAfter = beforeSkew > now ? beforeSkew : Math.min(now + RECHECK_MS, expiresAt);
    this.cache.set(connection, { token, checkAfter });
    return token;
  }

  private shared<T>(map: Map<string, Promise<T>>, key: string, work: () => Promise<T>): Promise<T> {
    let pending = map.get(key);
    if (!pending) {
      pending = work().finally(() => map.delete(key));
      map.set(key, pending);
    }
    return pending;
  }
}
