import type { ConnectionResult } from '../core/refresh-connection.js';

/**
 * The answer to an on-demand refresh request. Consumers rely on `outcome` and
 * `versionId`; it carries no token (the consumer re-reads the secret).
 */
export interface OnDemandResponse {
  connection: string;
  /**
   * - `refreshed`: a new version was committed (`versionId`).
   * - `current`: AWSCURRENT is no longer the version asked about; re-read it (`versionId`).
   * - `in_progress`: another invocation is refreshing this connection now; re-read shortly.
   * - `declined`: not refreshed (`reason`: `min_interval`, `not_active`, `no_time`); `recordStatus` says why for `not_active`.
   * - `failed`: the refresh failed (`failureClass`, `message`).
   */
  outcome: 'refreshed' | 'current' | 'in_progress' | 'declined' | 'failed';
  versionId?: string;
  reason?: string;
  recordStatus?: string;
  failureClass?: string;
  message?: string;
}

export function toOnDemandResponse(result: ConnectionResult): OnDemandResponse {
  const { connection } = result;
  switch (result.status) {
    case 'refreshed':
    case 'restored':
      return { connection, outcome: 'refreshed', versionId: result.versionId };
    case 'failed':
      return {
        connection,
        outcome: 'failed',
        versionId: result.versionId,
        failureClass: result.failureClass,
        message: result.message,
      };
    case 'skipped':
      if (result.reason === 'version_changed')
        return { connection, outcome: 'current', versionId: result.versionId };
      if (result.reason === 'in_progress') return { connection, outcome: 'in_progress' };
      return {
        connection,
        outcome: 'declined',
        reason: result.reason,
        versionId: result.versionId,
        recordStatus: result.recordStatus,
      };
  }
}
