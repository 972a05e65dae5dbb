/**
 * Typed errors. Messages name connections and error classes, never token or secret
 * values: every message here may reach a log, a metric dimension or a CLI.
 */

/**
 * The failure classes the engine reports, each with its own behaviour
 * (docs/refresh-transaction.md, "Failure classes").
 */
export type FailureClass =
  /** The provider rejected the refresh token (`invalid_grant`): a human must reconnect. */
  | 'reauth_required'
  /** Client credentials or endpoint settings are wrong (`invalid_client`, 401, ...). */
  | 'configuration'
  /** 429, 5xx or a request that never reached the provider: safe to retry. */
  | 'transient'
  /** The request was sent but its answer was lost: the token may have rotated. */
  | 'ambiguous'
  /** A 2xx that is not a valid token response. */
  | 'invalid_response'
  /** The new token set could not be committed; it was rescued (or, at worst, logged as ciphertext). */
  | 'commit_failed'
  /** The connection record is malformed or of an unknown schema version. */
  | 'invalid_record'
  /** Not enough invocation time left to refresh and commit safely. */
  | 'no_time'
  /** Anything else: a bug or an unexpected AWS error. */
  | 'internal';

export class TokenRefresherError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A connection's secret does not exist. */
export class SecretNotFoundError extends TokenRefresherError {
  constructor(readonly secretId: string) {
    super(`secret "${secretId}" was not found`);
  }
}

/** A `ClientRequestToken` is already used by a version with another value: another writer won. */
export class VersionConflictError extends TokenRefresherError {
  constructor(readonly secretId: string) {
    super(`secret "${secretId}" was already changed from this version by another writer`);
  }
}

/** The secret is at its version quota: Secrets Manager refuses new versions until old ones age out. */
export class VersionQuotaError extends TokenRefresherError {
  constructor(
    readonly secretId: string,
    options?: { cause?: unknown },
  ) {
    super(`secret "${secretId}" is at its version quota; no new version can be written now`, options);
  }
}

/**
 * A dependency (Secrets Manager, KMS, DynamoDB) throttled or failed in a way that a later
 * attempt can get past. Adapters decide what is transient; the core only asks this class.
 */
export class TransientDependencyError extends TokenRefresherError {}

/** The connection record cannot be used. */
export class InvalidRecordError extends TokenRefresherError {
  constructor(
    readonly connection: string,
    readonly reason: string,
  ) {
    super(`connection "${connection}" has an invalid record: ${reason}`);
  }
}

/** The client credentials secret is missing or malformed. */
export class InvalidClientCredentialsError extends TokenRefresherError {
  constructor(
    readonly secretId: string,
    reason: string,
  ) {
    super(`client credentials secret "${secretId}" ${reason}`);
  }
}

/** The lease cannot be taken: the refresher (or another operator) is working on the connection right now. */
export class ConnectionBusyError extends TokenRefresherError {
  constructor(readonly connection: string) {
    super(`connection "${connection}" is being refreshed right now; try again in a minute`);
  }
}

/** The lease is held by another invocation. */
export class LeaseHeldError extends TokenRefresherError {
  constructor(
    readonly connection: string,
    readonly until: number,
  ) {
    super(`connection "${connection}" is being refreshed by another invocation`);
  }
}

/** Returns a message safe to log for any thrown value (error name and message only). */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** The failure class of an unexpected error thrown inside a transaction. */
export function failureClassOf(error: unknown): FailureClass {
  if (error instanceof InvalidRecordError) return 'invalid_record';
  if (error instanceof InvalidClientCredentialsError || error instanceof SecretNotFoundError)
    return 'configuration';
  if (error instanceof TransientDependencyError) return 'transient';
  return 'internal';
}
