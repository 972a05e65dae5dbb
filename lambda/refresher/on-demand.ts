import type { OnDemandResponse } from '../contract/on-demand.js';
import type { ConnectionResult } from '../core/refresh-connection.js';

/** The on-demand answer for one connection's result (lambda/contract/on-demand.ts). */

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
      // The caller did not name the current version: it learns nothing (lambda/contract/on-demand.ts).
      if (result.reason === 'version_changed') return { connection, outcome: 'current' };
      if (result.reason === 'in_progress') return { connection, outcome: 'in_progress' };
      return {
        connection,
        outcome: 'declined',
        reason: result.reason,
        versionId: result.versionId,
        recordStatus: result.recordStatus,
        ...(result.nextAttemptAt !== undefined
          ? { nextAttemptAt: new Date(result.nextAttemptAt).toISOString() }
          : {}),
      };
  }
}
