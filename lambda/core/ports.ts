import type { ProviderBehaviour } from './provider-behaviour.js';

/**
 * The ports the refresh engine talks through. Core logic depends only on these
 * interfaces; AWS and HTTP adapters implement them at the edges, and tests or
 * the simulator can implement them in memory.
 */

/** Wall clock and sleeping, injectable so tests and the simulator control time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** A secret under the connection prefix, as `ListSecrets` reports it (no secret value). */
export interface SecretSummary {
  /** Full secret name, `<prefix><connection>`. */
  name: string;
  /** The version id holding the AWSCURRENT stage, when the listing reported it. */
  currentVersionId?: string;
}

/** One version of a secret. */
export interface SecretVersion {
  versionId: string;
  value: string;
}

/**
 * Secrets Manager, reduced to what the engine needs. Every read is of AWSCURRENT,
 * passed explicitly. Failures are domain errors (`errors.ts`): `SecretNotFoundError`,
 * `VersionConflictError`, `VersionQuotaError`, `TransientDependencyError`.
 */
export interface SecretStore {
  /** Every secret whose name starts with `prefix`, page by page. */
  list(prefix: string): AsyncIterable<SecretSummary>;
  /** The AWSCURRENT version. Throws `SecretNotFoundError` when the secret does not exist. */
  getCurrent(secretId: string): Promise<SecretVersion>;
  /**
   * Writes a new version that becomes AWSCURRENT (the replaced one becomes AWSPREVIOUS).
   * Idempotent for the same `clientRequestToken` and value; throws `VersionConflictError`
   * when that token is already used by a version with a different value, and
   * `VersionQuotaError` when the secret cannot take another version now.
   * Only the write protocol (`write-protocol.ts`) calls it.
   */
  putVersion(secretId: string, value: string, clientRequestToken: string): Promise<{ versionId: string }>;
  /**
   * Whether a version with this id exists (labelled or not). The write protocol asks it of
   * the one version a commit from an uncertain version would have created.
   */
  versionExists(secretId: string, versionId: string): Promise<boolean>;
}

/** Deletes connection secrets (the operator's `remove`; the refresher never deletes). */
/** Days a deleted secret stays restorable (7 to 30), or `'none'`: deleted at once, for good. */
export type RecoveryWindow = number | 'none';

export interface SecretRemover {
  /**
   * Schedules the secret's deletion after a recovery window (7 to 30 days), or deletes it
   * at once with `'none'` (no recovery), and returns when it will be deleted. Throws
   * `SecretNotFoundError` for a missing secret.
   */
  deleteSecret(secretId: string, recoveryWindowDays: RecoveryWindow): Promise<{ deletionDate?: Date }>;
}

/**
 * Creates a connection's secret with its first version. Optional: in AWS the operator CLI
 * creates the placeholder (with the stack's secrets key) before asking the refresher.
 */
export interface SecretCreator {
  createSecret(secretId: string, value: string, clientRequestToken: string): Promise<{ versionId: string }>;
}

/** Ciphertext produced by the key service, stored in records and rescues. */
export interface Ciphertext {
  /** Base64 of the KMS ciphertext blob. */
  ciphertext: string;
  /** The key that encrypted it (ARN), for operators; decryption does not need it. */
  keyId: string;
}

/** KMS, reduced to encrypt/decrypt with an encryption context under one key. */
export interface KeyService {
  encrypt(plaintext: string, context: Record<string, string>): Promise<Ciphertext>;
  decrypt(ciphertext: Ciphertext, context: Record<string, string>): Promise<string>;
}

/** What the client credentials secret holds. */
export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
  /**
   * The token-endpoint origins the client secret may be sent to (`token_endpoint_origins`);
   * absent in a secret written before the binding existed, which may be sent nowhere.
   */
  tokenEndpointOrigins?: readonly string[];
}

/** How the token request is encoded. `json` is the Askara dialect; `form` is RFC 6749. */
export type TokenDialect = 'json' | 'form';
/** RFC 6749 §2.3.1 client authentication methods. */
export type ClientAuthMethod = 'client_secret_post' | 'client_secret_basic';

export interface RefreshGrantRequest {
  tokenEndpoint: string;
  dialect: TokenDialect;
  clientAuth: ClientAuthMethod;
  credentials: ClientCredentials;
  refreshToken: string;
  scope?: string;
  /** Abort the request after this many milliseconds. */
  timeoutMs: number;
  /**
   * The engine's test-only switch (`allowInsecureLoopback`): only then may the request go
   * over plain http (to loopback). Absent or false, the adapter refuses every http endpoint.
   */
  allowInsecureLoopback?: boolean;
  /**
   * How the provider answers (`behaviourOf(record.provider)`): which token types it may
   * send, its default lifetime, where its error codes live, which fields to keep. Absent:
   * `DEFAULT_BEHAVIOUR`.
   */
  behaviour?: ProviderBehaviour;
}

/** A validated successful token response. */
export interface IssuedTokens {
  accessToken: string;
  /**
   * `token_type` as the provider sent it (`Bearer`, `bearer`, Slack's `bot` or `user`):
   * information, stored as sent; only a behaviour's `acceptedTokenTypes` narrows it.
   * Absent when the provider sent none.
   */
  tokenType?: string;
  /** Seconds, > 0: as sent, or a default when the response had no `expires_in` (see `expiresInDefault`). */
  expiresIn: number;
  /**
   * Set when the response had no `expires_in`: `profile` (the behaviour's
   * `defaultExpiresInSeconds`) or `engine` (`ENGINE_DEFAULT_EXPIRES_IN_SECONDS`).
   */
  expiresInDefault?: 'profile' | 'engine';
  /** Absent when the provider does not rotate refresh tokens. */
  refreshToken?: string;
  scope?: string;
  /** Seconds the refresh token lives, from the behaviour's `refreshTokenExpiresInField`. */
  refreshTokenExpiresIn?: number;
  /** The behaviour's `keepFields` the response carried, each checked not to look like a secret. */
  providerFields?: Record<string, string>;
}

/**
 * Every way a refresh grant can end, as the HTTP adapter observed it. The adapter
 * never throws for provider behaviour; the engine classifies these outcomes.
 */
export type TokenEndpointOutcome =
  | { kind: 'tokens'; tokens: IssuedTokens }
  /**
   * A 4xx with an OAuth error body (RFC 6749 §5.2), or a bare 401. Status 0: the adapter
   * refused to send the request (e.g. `insecure_endpoint`); nothing reached the provider.
   */
  | { kind: 'oauth_error'; status: number; error: string; description?: string }
  /** 429 or 5xx without a usable OAuth error. */
  | { kind: 'http_error'; status: number; retryAfterMs?: number }
  /**
   * A 2xx (or other status) whose body is not a valid token response. `code` is stable
   * (for code, tests and alerts to match on); `reason` is the human text. Neither ever
   * holds any part of the body.
   */
  | {
      kind: 'invalid_response';
      status: number;
      code: /** A 3xx: redirects are never followed. */
        | 'redirect'
        /** A status outside 2xx–5xx. */
        | 'unexpected_status'
        /** A 2xx whose content-type is not `application/json`. */
        | 'not_json'
        /** A 2xx body that is not strict UTF-8 JSON. */
        | 'invalid_json'
        /** A 2xx JSON body that is not an object. */
        | 'not_an_object'
        /** A body over the adapter's byte cap. */
        | 'too_large'
        | 'missing_access_token'
        /** `access_token` is not a non-empty string. */
        | 'bad_access_token'
        /** `token_type` is not one the behaviour's `acceptedTokenTypes` lists. */
        | 'bad_token_type'
        /** `expires_in` is not a positive number of seconds in range. */
        | 'bad_expires_in'
        /** `refresh_token` is present but not a non-empty string. */
        | 'bad_refresh_token'
        /** `scope` is present but not a string. */
        | 'bad_scope'
        /** A 4xx (other than 429) without an OAuth error body. */
        | 'no_oauth_error'
        /** A 4xx (other than 429) whose body could not be read. */
        | 'unreadable_body';
      reason: string;
      /**
       * A 2xx JSON or form body that was read in full: whether it carried a new refresh
       * token (`refreshToken`, which the engine then commits so it is never dropped) or
       * none (the stored one was not rotated). Absent when the body could not be read as
       * an object: a rotated token may have been in it.
       */
      readBody?: boolean;
      /** A new refresh token the invalid 2xx response still carried. */
      refreshToken?: string;
    }
  /**
   * The exchange failed at the transport level. `requestSent: false` means the request
   * provably never reached the provider (DNS, refused connection, TLS handshake);
   * `true` means it may have been processed and its answer was lost.
   */
  | { kind: 'network'; requestSent: boolean; reason: string };

/** The OAuth token endpoint. */
export interface TokenEndpoint {
  refresh(request: RefreshGrantRequest): Promise<TokenEndpointOutcome>;
}

/**
 * How a lease ended; one value per transaction state (`transaction-state.ts`).
 * `not_sent`: the refresh token was not consumed (never sent, or refused without being
 * processed). `ambiguous`: it may have been consumed without the engine receiving the answer.
 * `committed`: a new version was written. `rescued`: a new token set could not be committed
 * and sits in `rescue`. `unsaved`: the provider answered but the new set could be neither
 * committed nor rescued (it was logged as ciphertext): the refresh token is spent.
 */
export type LeaseOutcome = 'committed' | 'not_sent' | 'ambiguous' | 'rescued' | 'unsaved';

/**
 * A token set that could not be committed, kept so nothing is lost
 * (docs/refresh-transaction.md, "Commit fails after rotation"). Both tokens are
 * ciphertext under the refresh-token key; nothing here is a usable token.
 */
export interface RescuedTokenSet {
  /** The secret version the token set was meant to replace. */
  fromVersionId: string;
  /** ISO-8601 time the provider issued it. */
  issuedAt: string;
  /** ISO-8601 expiry of the access token. */
  expiresAt: string;
  /** As the provider sent it; absent when it sent none, or with no access token. */
  tokenType?: string;
  /** Seconds, as the provider said (or defaulted). */
  expiresIn: number;
  scope?: string;
  /** ISO-8601 expiry of the new refresh token, when known. */
  refreshTokenExpiresAt?: string;
  /** The kept provider fields of the answer. */
  providerFields?: Record<string, string>;
  refreshToken: Ciphertext;
  /** Absent when the access token was too large for KMS Encrypt (4 KiB); restore then marks it expired. */
  accessToken?: Ciphertext;
}

/** A version a lease holder committed, and the version it replaced. */
export interface CommittedVersion {
  fromVersionId: string;
  versionId: string;
}

/**
 * The coordination state of one connection, as the lease store keeps it. The lease fields
 * change with every holder; the spent-token knowledge (`sentFromVersionId`, `sentOutcome`),
 * `lastCommit` and `rescue` outlive every acquisition and every release that does not
 * replace them (docs/refresh-transaction.md, "The marker rule").
 */
export interface LeaseState {
  connection: string;
  owner: string;
  /** Epoch ms after which the lease may be taken over. */
  leaseUntil: number;
  /** How the last lease ended. Absent while held, or when the holder died without releasing. */
  outcome?: LeaseOutcome;
  /** The last version whose refresh token was (about to be) sent. Replaced only by the next send. */
  sentFromVersionId?: string;
  /**
   * How the attempt that sent `sentFromVersionId` ended. Absent while that sender holds the
   * lease, or for good when it died or could not release: the attempt was interrupted.
   */
  sentOutcome?: LeaseOutcome;
  /**
   * Epoch ms the refresh token of `sentFromVersionId` was first sent (kept while the same
   * version is sent again): a provider's reuse window counts from it.
   */
  sentAt?: number;
  /** Requests that carried the refresh token of `sentFromVersionId`, as far as releases recorded. */
  sentAttempts?: number;
  /** The last version a holder committed. A read of the version it replaced is stale. */
  lastCommit?: CommittedVersion;
  rescue?: RescuedTokenSet;
  /** The connection's refreshes keep failing: no request before `nextAttemptAt` (`core/backoff.ts`). */
  backoff?: BackoffState;
  /**
   * The scheduling hint the last release recorded (`hint.ts`): what a run needs to skip the
   * connection without reading its record. Removed when a rescue is stored.
   */
  hint?: string;
}

/**
 * Across-run backoff of a connection whose refreshes keep failing. It holds only while
 * `versionId` is AWSCURRENT: any new version (a reconnect, an operator's change, a refresh)
 * ends it.
 */
export interface BackoffState {
  /** Consecutive runs whose refresh failed in a class that backs off. */
  failureStreak: number;
  /** Epoch ms before which no scheduled or on-demand request is sent. */
  nextAttemptAt: number;
  /** The version the backoff applies to. */
  versionId: string;
}

export type AcquireResult =
  | { acquired: true; previous?: LeaseState }
  | { acquired: false; holder: LeaseState };

/** What a release records besides the lease's outcome. */
export interface ReleaseDetails {
  /** This holder marked sending: the outcome is also the marker's (`sentOutcome`). */
  sent?: boolean;
  /** The version this holder committed (becomes `lastCommit`). */
  committed?: CommittedVersion;
  /** Drop the rescue (it was restored, superseded or replaced by a new grant). */
  clearRescue?: boolean;
  /** With `sent`: the marker's request count after this holder's requests. */
  sentAttempts?: number;
  /** Record this backoff (`null`: clear it; absent: leave it as it is). */
  backoff?: BackoffState | null;
  /**
   * The scheduling hint to record (`hint.ts`), written by this same release so a hint costs
   * no call of its own (`null`: remove it; absent: leave it as it is).
   */
  hint?: string | null;
}

/** A connection's scheduling hint, as the lease store's pages return it. */
export interface ConnectionHint {
  connection: string;
  hint: string;
}

/**
 * Per-connection mutual exclusion across invocations (a conditional write), plus a durable
 * place for what must outlive a lease: the spent-token marker, the last commit and token
 * sets whose commit failed. Every writer of a connection's record holds its lease, so the
 * record cannot change under a holder.
 */
export interface LeaseStore {
  /**
   * Takes the connection's lease when nobody holds it, the holder released it, or the
   * holder's lease expired. Clears only the previous lease's `outcome`; the marker, the
   * last commit and any rescue are kept. Returns the previous state.
   */
  acquire(connection: string, lease: { owner: string; leaseUntil: number }): Promise<AcquireResult>;
  /**
   * Records, while `owner` holds a live lease, that the refresh token of `fromVersionId` is
   * about to be sent (replacing the marker, with no outcome until release), with when it was
   * first sent and how many requests carried it so far, this one included.
   */
  markSending(
    connection: string,
    owner: string,
    fromVersionId: string,
    marker?: { sentAt: number; sentAttempts: number },
  ): Promise<void>;
  /**
   * Ends the lease held by `owner`, recording its outcome and `details`. Returns false (and
   * changes nothing) when `owner` no longer holds it.
   */
  release(
    connection: string,
    owner: string,
    outcome: LeaseOutcome,
    details?: ReleaseDetails,
  ): Promise<boolean>;
  /**
   * Durably stores a token set that could not be committed; the lease stays with `owner`.
   * Removes the scheduling hint in the same write, so the next run reads the record and
   * restores the set.
   */
  storeRescue(connection: string, owner: string, rescue: RescuedTokenSet): Promise<void>;
  get(connection: string): Promise<LeaseState | undefined>;
  /**
   * Every connection's scheduling hint, page by page (a run's only read of the store when
   * nothing is due). Connections without a hint are left out.
   */
  hints(): AsyncIterable<ConnectionHint>;
}

/** Metric units the engine emits. */
export type MetricUnit = 'Count' | 'Seconds' | 'Milliseconds';

/**
 * Metrics sink. Implementations must never throw into the engine; the engine also
 * guards every call (a metrics failure never fails a refresh).
 */
export interface Metrics {
  add(name: string, unit: MetricUnit, value: number, dimensions?: Record<string, string>): void;
  /** Sends what was buffered. */
  flush(): Promise<void> | void;
}

/** Structured logger. Never pass token values; the adapter also scrubs registered secrets. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** Registers a value that must never appear in output (scrubbed if it ever does). */
  registerSecret(value: string): void;
}
