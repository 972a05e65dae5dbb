import type { ConnectionStatus } from './connection-status.js';
import { type EngineDeps, emitFailure } from './engine.js';
import type { FailureClass } from './errors.js';

/** How one connection's refresh transaction ended. Carries no token. */
export type ConnectionResult = (
  | { connection: string; status: 'refreshed'; versionId: string; expiresAt: number }
  | { connection: string; status: 'restored'; versionId: string; expiresAt?: number }
  | {
      connection: string;
      status: 'skipped';
      reason: string;
      versionId?: string;
      expiresAt?: number;
      recordStatus?: ConnectionStatus;
      /**
       * With reason `backoff`: epoch ms of the next attempt; with `version_quota` and
       * `min_interval`: epoch ms from which a refresh is allowed again.
       */
      nextAttemptAt?: number;
    }
  | {
      connection: string;
      status: 'failed';
      failureClass: FailureClass;
      message: string;
      versionId?: string;
      expiresAt?: number;
      /** Epoch ms of the next attempt, when the failure backs off (core/backoff.ts). */
      nextAttemptAt?: number;
    }
) & {
  /** Epoch ms the connection's refresh token expires, when known (re-authentication after). */
  refreshTokenExpiresAt?: number;
};

export type FailedResult = Extract<ConnectionResult, { status: 'failed' }>;

/** A failed result, counted (total and by class) and logged unless the caller logged it already. */
export function failedResult(
  deps: Pick<EngineDeps, 'metrics' | 'logger'>,
  connection: string,
  failureClass: FailureClass,
  message: string,
  at: { versionId?: string; expiresAt?: number; refreshTokenExpiresAt?: number; nextAttemptAt?: number } = {},
  opts: { alreadyLogged?: boolean } = {},
): FailedResult {
  emitFailure(deps, failureClass);
  if (!opts.alreadyLogged) {
    deps.logger.error('connection refresh failed', { connection, failureClass, reason: message });
  }
  return { connection, status: 'failed', failureClass, message, ...at };
}
