/**
 * The refresher's invocation contract for single connections: what a consumer (or the
 * operator CLI) sends and what it gets back. No answer carries a token: the caller
 * re-reads the secret.
 */

/**
 * An on-demand refresh of one connection: a consumer that saw a 401 on version `ifVersion`
 * (refreshed only if that is still AWSCURRENT), or an operator with `force`.
 */
export interface OnDemandRequest {
  action: 'refresh';
  connection: string;
  ifVersion?: string;
  force?: boolean;
}

/** The answer to an on-demand refresh request. Consumers rely on `outcome` and `versionId`. */
export interface OnDemandResponse {
  connection: string;
  /**
   * - `refreshed`: a new version was committed (`versionId`).
   * - `current`: AWSCURRENT is no longer the version asked about; re-read it (`versionId`).
   * - `in_progress`: another invocation is refreshing this connection now; re-read shortly.
   * - `declined`: not refreshed (`reason`: `min_interval`, `not_active`, `no_time`, ...); `recordStatus` says why for `not_active`.
   * - `failed`: the refresh failed (`failureClass`, `message`).
   */
  outcome: 'refreshed' | 'current' | 'in_progress' | 'declined' | 'failed';
  versionId?: string;
  reason?: string;
  recordStatus?: string;
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
