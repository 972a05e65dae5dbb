import type { OnDemandResponse } from '../contract/on-demand.js';

/** Reads the AWSCURRENT version of a secret (Secrets Manager in production). */
export interface SecretReader {
  getCurrent(secretId: string): Promise<{ versionId: string; value: string }>;
}

/** Asks the refresher to refresh one connection if AWSCURRENT is still `ifVersion`. */
export interface RefreshRequester {
  requestRefresh(connection: string, ifVersion: string): Promise<OnDemandResponse>;
}

export interface ClientClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}
