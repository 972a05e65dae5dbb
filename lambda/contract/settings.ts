/**
 * Engine settings, each with its default: the one defaults table. The CDK construct
 * encodes them into the function's environment and the handler decodes them
 * (`refresher-environment.ts`).
 */
export interface EngineSettings {
  /** Secret-name prefix of connection records, e.g. `token-refresher/`. */
  prefix: string;
  /**
   * Refresh when the access token expires within this window.
   * @default 10 minutes (5 minutes of safety plus the default 5-minute schedule period)
   */
  refreshWindowMs: number;
  /**
   * Never refresh a connection more often than this, unless its access token has expired
   * or an operator forces it: guards the provider and Secrets Manager's version quota.
   * @default 15 minutes (at most 96 versions a day: Secrets Manager keeps ~100 versions
   * and deletes none younger than 24 h)
   */
  minIntervalMs: number;
  /**
   * The hard floor between two refreshes of one connection, even when its token has
   * expired (only an operator's force bypasses it): the version quota cannot be exhausted.
   * Tokens that live less than this plus the refresh window are stale part of the time.
   * @default 15 minutes
   */
  versionFloorMs: number;
  /**
   * Refresh idle grants at least this often so providers don't expire them.
   * @default 24 hours
   */
  maxAgeMs: number;
  /** Connections refreshed at once within a run. @default 8 */
  concurrency: number;
  /** Upper bound for one token request. @default 10 seconds */
  requestTimeoutMs: number;
  /** A token request is not started with less time than this for it. @default 2 seconds */
  minRequestTimeoutMs: number;
  /** Time kept back for committing (and, if that fails, rescuing) a new token set. @default 8 seconds */
  commitReserveMs: number;
  /** Attempts for transient token-endpoint failures within one run. @default 3 */
  maxTransientAttempts: number;
  /** First backoff step; later ones double, with full jitter. @default 500 ms */
  backoffBaseMs: number;
  /** Largest single backoff. @default 5 seconds */
  backoffCapMs: number;
  /** A lease outlives its holder's deadline by this much (clock skew between invocations). @default 30 seconds */
  leaseMarginMs: number;
  /**
   * Across runs, a connection whose refresh keeps failing (invalid responses, configuration
   * errors, persistent 5xx and 429) waits this long after its first failed run, doubling
   * with each further one (core/backoff.ts).
   * @default 5 minutes (the default schedule period: the next run)
   */
  failureBackoffBaseMs: number;
  /** The longest wait between two attempts of a failing connection. @default 6 hours */
  failureBackoffCapMs: number;
  /**
   * A connection whose refresh token expires (re-authentication needed) within this is
   * counted in `ConnectionsReauthDueSoon`; the `ReauthenticationDue` alarm uses the same
   * threshold (construct prop `reauthDueWithin`).
   * @default 14 days
   */
  reauthDueWithinMs: number;
  /**
   * Active connections whose access token expires within this are counted in
   * `ConnectionsNearExpiry`; the `AccessTokenNearExpiry` alarm uses the same threshold
   * (construct prop `nearExpiryThreshold`).
   * @default 300 seconds
   */
  nearExpiryMs: number;
  /**
   * Ceiling on this invocation's Secrets Manager writes (PutSecretValue: one per refresh),
   * below the account's shared 50/s per Region so other writers keep headroom.
   * @default 25 per second
   */
  writesPerSecond: number;
  /**
   * The origins (`https://host[:port]`) a refresh token and a client secret may be sent to:
   * a record or a connect event naming any other token endpoint is refused before anything
   * is decrypted. Pinned at deploy time (construct prop `allowedTokenOrigins`).
   * @default the Askara API's origin
   */
  allowedTokenOrigins: readonly string[];
  /**
   * Tests and the local sandbox only: also allow plain `http://` origins on loopback (they
   * must still be listed). The deployed stack never sets it.
   * @default false
   */
  allowInsecureLoopback: boolean;
}

/** The Askara API's origin: the default (and first) allowed token-endpoint origin. */
export const ASKARA_TOKEN_ORIGIN = 'https://api.askara.ai';

export const DEFAULT_SETTINGS: Omit<EngineSettings, 'prefix'> = {
  refreshWindowMs: 10 * 60_000,
  minIntervalMs: 15 * 60_000,
  versionFloorMs: 15 * 60_000,
  maxAgeMs: 24 * 60 * 60_000,
  concurrency: 8,
  requestTimeoutMs: 10_000,
  minRequestTimeoutMs: 2_000,
  commitReserveMs: 8_000,
  maxTransientAttempts: 3,
  backoffBaseMs: 500,
  backoffCapMs: 5_000,
  leaseMarginMs: 30_000,
  failureBackoffBaseMs: 5 * 60_000,
  failureBackoffCapMs: 6 * 60 * 60_000,
  reauthDueWithinMs: 14 * 24 * 60 * 60_000,
  nearExpiryMs: 300_000,
  writesPerSecond: 25,
  allowedTokenOrigins: [ASKARA_TOKEN_ORIGIN],
  allowInsecureLoopback: false,
};

export function settingsWith(prefix: string, overrides: Partial<EngineSettings> = {}): EngineSettings {
  return { ...DEFAULT_SETTINGS, prefix, ...overrides };
}
