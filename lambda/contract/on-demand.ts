/**
 * The refresher's invocation contract for single connections: what a consumer (or the
 * operator CLI) sends and what it gets back. No answer carries a token: the caller
 * re-reads the secret.
 *
 * Authorization by knowledge: a consumer's request names the AWSCURRENT version id it saw
 * (`ifVersion`). Only a principal that can read the connection's secret knows it, so naming
 * it is the capability. The refresher checks it before taking the connection's lease and
 * without it; a caller that names any other version (or a connection that does not exist)
 * gets `{ connection, outcome: 'current' }` and nothing else: no version id, no status, no
 * error text. Only a caller that named the current version hears more.
 */

/**
 * The one failure a caller hears before its version is confirmed (the read of AWSCURRENT or
 * the lease failed): fixed text, whoever asked; the error itself goes to the refresher's log.
 */
export const VERSION_UNCHECKED = 'the version could not be checked; try again';

/** The longest version id a request may name (Secrets Manager's are 32 to 64 characters). */
export const VERSION_ID_MAX_LENGTH = 64;

/**
 * An on-demand refresh of one connection: a consumer that saw a 401 on version `ifVersion`
 * (refreshed only if that is still AWSCURRENT), or an operator with `force`.
 *
 * - `connection`: a connection name (`CONNECTION_NAME_PATTERN`, 1 to 128 characters),
 *   checked before any AWS call.
 * - `ifVersion`: required by the consumer-facing on-demand function (at most
 *   {@link VERSION_ID_MAX_LENGTH} characters); optional only on the operator's refresher
 *   function, where a request without it is refreshed if due.
 * - `force`: the operator's, on the refresher function only; the on-demand function refuses it.
 */
export interface OnDemandRequest {
  action: 'refresh';
  connection: string;
  ifVersion?: string;
  force?: boolean;
}

/** The answer to an on-demand refresh request. Consumers rely on `outcome` only, then re-read the secret. */
export interface OnDemandResponse {
  connection: string;
  /**
   * - `refreshed`: a new version was committed (`versionId`).
   * - `current`: the version asked about is not AWSCURRENT (or the connection does not
   *   exist); re-read the secret. Carries nothing else.
   * - `in_progress`: another invocation is refreshing this connection now; re-read shortly.
   * - `declined`: not refreshed (`reason`: `min_interval`, `version_quota`, `not_active`,
   *   `backoff` — its refreshes keep failing and the next attempt is later (core/backoff.ts) —,
   *   `no_time`, ...); `recordStatus` says why for `not_active`.
   * - `failed`: the refresh failed (`failureClass`, `message`).
   *
   * Every outcome but `current` answers a caller that named the current version (or an
   * operator without `ifVersion`), who can read all of it in the record anyway, with two
   * exceptions that carry nothing: `in_progress` (the lease is held, so the version named
   * cannot be confirmed under it yet; a stale read before the lease can pass a version a
   * commit just replaced), and `failed` with class `transient` and the fixed message
   * {@link VERSION_UNCHECKED} (the version could not be read, or the lease taken).
   */
  outcome: 'refreshed' | 'current' | 'in_progress' | 'declined' | 'failed';
  versionId?: string;
  reason?: string;
  recordStatus?: string;
  /**
   * With `declined`, ISO-8601: for `backoff`, when the refresher tries again; for
   * `version_quota` and `min_interval`, from when a refresh is allowed again. A `force`
   * (the operator's) goes through all three.
   */
  nextAttemptAt?: string;
  failureClass?: string;
  message?: string;
}

/**
 * The answer to an operator's `connect` / `import`, shaped as an on-demand answer:
 * - `refreshed`: the connection's new record was committed (`versionId`, `expiresAt`);
 * - `in_progress`: the lease is held (a refresh is running); try again shortly;
 * - `failed`: `failureClass` and `message` say why.
 */
export interface ConnectResponse extends OnDemandResponse {
  action: 'connect' | 'import';
  outcome: 'refreshed' | 'in_progress' | 'failed';
  /** ISO-8601 expiry of the new access token, when there is one. */
  expiresAt?: string;
  /** For `import`: whether the follow-up refresh proved the refresh token works. */
  validated?: boolean;
}
