import type { OnDemandResponse } from '../contract/on-demand.js';

/** Reads the AWSCURRENT version of a secret (Secrets Manager in production). */
export interface SecretReader {
  getCurrent(secretId: string): Promise<{ versionId: string; value: string }>;
}

/** Asks the refresher to refresh one connection if AWSCURRENT is still `ifVersion`. */
export interface RefreshRequester {
  requestRefresh(connection: string, ifVersion: string): Promise<OnDemandResponse>;
}

/** A valid access token, as the refresher committed it. */
export interface AccessToken {
  accessToken: string;
  tokenType: string;
  expiresAt: Date;
  /** The secret version it came from; a 401 names this version to the refresher. */
  versionId: string;
}

/** Where an authorized fetch gets its token, and asks for a new one after a 401 (a `TokenClient`). */
export interface AccessTokenSource {
  getAccessToken(connection: string): Promise<AccessToken>;
  /** A token newer than `rejected`, which the API refused. */
  refreshAfterUnauthorized(connection: string, rejected: AccessToken): Promise<AccessToken>;
}

export interface ClientClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}
