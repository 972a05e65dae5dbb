import { MetricName } from '../contract/metric-names.js';
import { type ConnectionResult, type FailedResult, failedResult } from './connection-result.js';
import { type EngineDeps, emit } from './engine.js';
import type { Ciphertext, IssuedTokens, RescuedTokenSet, SecretVersion } from './ports.js';
import { type ConnectionRecord, rescueAccessTokenContext, serializeRecord } from './record.js';
import { commitStatus } from './status-commit.js';
import type { ConnectionLease } from './write-protocol.js';

/**
 * The recovery half of the refresh transaction (docs/refresh-transaction.md, "Restore"):
 * a token set whose commit failed is rescued into the lease table, restored by the next
 * run, or — when even the rescue failed — its spent refresh token is refused for good.
 */

/** KMS Encrypt accepts at most 4 KiB of plaintext. */
const KMS_MAX_PLAINTEXT_BYTES = 4096;

/**
 * The rotated token set that could not be committed, as the commit would have written it;
 * without `tokens` when only a new refresh token arrived (an invalid answer that still
 * rotated it: core/refresh-connection.ts).
 */
export type UncommittedTokenSet = {
  /** The new refresh token, already encrypted under the refresh-token key. */
  refreshToken: Ciphertext;
  /** Epoch ms the access token expires (with no access token: now). */
  expiresAt: number;
  /** The very `refreshedAt` of the record the commit tried to write. */
  refreshedAt: string;
  /** ISO-8601 expiry of the new refresh token, when known. */
  refreshTokenExpiresAt?: string;
} & ({ tokens: IssuedTokens } | { tokens?: undefined; expiresIn: number });

/** Stores a token set whose commit failed where the next run restores it from. */
export async function rescueTokenSet(
  deps: EngineDeps,
  lease: ConnectionLease,
  current: SecretVersion,
  set: UncommittedTokenSet,
  commitError: string,
): Promise<FailedResult> {
  const { tokens } = set;
  const rescue: RescuedTokenSet = {
    fromVersionId: current.versionId,
    // If that commit landed after all (its answer lost), the next run sees the record is
    // not older than this and discards the rescue.
    issuedAt: set.refreshedAt,
    expiresAt: new Date(set.expiresAt).toISOString(),
    expiresIn: tokens ? tokens.expiresIn : set.expiresIn,
    refreshToken: set.refreshToken,
    ...(tokens?.tokenType !== undefined ? { tokenType: tokens.tokenType } : {}),
    ...(tokens?.scope !== undefined ? { scope: tokens.scope } : {}),
    ...(tokens?.providerFields !== undefined ? { providerFields: tokens.providerFields } : {}),
    ...(set.refreshTokenExpiresAt !== undefined ? { refreshTokenExpiresAt: set.refreshTokenExpiresAt } : {}),
  };
  if (tokens && Buffer.byteLength(tokens.accessToken, 'utf8') <= KMS_MAX_PLAINTEXT_BYTES) {
    try {
      rescue.accessToken = await deps.keys.encrypt(
        tokens.accessToken,
        rescueAccessTokenContext(lease.secretName),
      );
    } catch {
      // The refresh token is what matters; the next run refreshes for a new access token.
    }
  }
  const message = `the new token set could not be committed: ${commitError}`;
  if (await lease.storeRescue(rescue)) {
    emit(deps, MetricName.RescueStored, 'Count', 1);
    // Storing the rescue removed the hint: the next run reads the record, and restores at once.
    deps.logger.error(
      'CRITICAL: the new token set could not be committed; it is stored encrypted in the lease table ' +
        'and the next run restores it (docs/refresh-transaction.md#restore)',
      { connection: lease.connection, fromVersionId: current.versionId, error: commitError },
    );
    await lease.release();
    return failedResult(deps, lease.connection, 'commit_failed', message);
  }
  // Last resort: the log, with ciphertext only (decryptable solely with the refresh-token key).
  deps.logger.error(
    'CRITICAL: the new token set could be neither committed nor stored in the lease table; ' +
      'restore it from this entry (ciphertext under the refresh-token key, docs/refresh-transaction.md#restore)',
    { connection: lease.connection, rescue, error: commitError },
  );
  // The lease state stays `spent`: the release marks the sent version `unsaved`, for good.
  await lease.release();
  return failedResult(deps, lease.connection, 'commit_failed', message);
}

/** Commits a token set a previous invocation rescued from this version, instead of refreshing. */
export async function restoreRescue(
  deps: EngineDeps,
  lease: ConnectionLease,
  current: SecretVersion,
  record: ConnectionRecord,
  rescue: RescuedTokenSet,
): Promise<ConnectionResult> {
  const accessToken = rescue.accessToken
    ? await deps.keys.decrypt(rescue.accessToken, rescueAccessTokenContext(lease.secretName))
    : undefined;
  if (accessToken) deps.logger.registerSecret(accessToken);
  const restored: ConnectionRecord = {
    ...record,
    status: 'active',
    accessToken,
    tokenType: accessToken ? rescue.tokenType : undefined,
    expiresAt: accessToken ? rescue.expiresAt : undefined,
    refreshToken: rescue.refreshToken,
    refreshedAt: rescue.issuedAt,
    tokenLifetimeSeconds: rescue.expiresIn >= 1 ? Math.round(rescue.expiresIn) : record.tokenLifetimeSeconds,
    refreshTokenExpiresAt: rescue.refreshTokenExpiresAt,
    lastError: null,
  };
  if (rescue.scope !== undefined) restored.grantedScope = rescue.scope;
  if (rescue.providerFields !== undefined) restored.providerFields = rescue.providerFields;
  for (const field of [
    'accessToken',
    'tokenType',
    'expiresAt',
    'tokenLifetimeSeconds',
    'refreshTokenExpiresAt',
  ] as const) {
    if (restored[field] === undefined) delete restored[field];
  }
  const committed = await lease.commit(current.versionId, async () => serializeRecord(restored));
  if (!committed.ok) {
    emit(deps, MetricName.CommitFailed, 'Count', 1);
    return failedResult(
      deps,
      lease.connection,
      'commit_failed',
      `the rescued token set could not be restored: ${committed.error}`,
    );
  }
  lease.discardRescueOnRelease();
  lease.setHint(committed.versionId, restored);
  await lease.release();
  emit(deps, MetricName.RescueRestored, 'Count', 1);
  deps.logger.info('restored a rescued token set', {
    connection: lease.connection,
    versionId: committed.versionId,
  });
  return {
    connection: lease.connection,
    status: 'restored',
    versionId: committed.versionId,
    expiresAt: restored.expiresAt ? Date.parse(restored.expiresAt) : undefined,
  };
}

/**
 * The provider answered this version's refresh token, but the token set it issued was
 * only logged (as ciphertext). Sending the token again would be a reuse: instead the
 * connection waits for an operator to restore that set or reconnect. If even this status
 * cannot be written, the marker still says `unsaved` and the next run refuses again.
 */
export async function refuseSpentToken(
  deps: EngineDeps,
  lease: ConnectionLease,
  current: SecretVersion,
  record: ConnectionRecord,
  expiresAt: number | undefined,
): Promise<FailedResult> {
  const message =
    'the provider issued a new token set that could be neither committed nor stored, so the stored refresh ' +
    'token is spent; restore the set from the CRITICAL log entry (docs/refresh-transaction.md#restore) or reconnect';
  emit(deps, MetricName.SpentTokenRefused, 'Count', 1);
  // Reported (ReauthRequired) by the commit, if it lands.
  await commitStatus(deps, lease, current, record, 'reauth_required', 'commit_failed', message);
  return failedResult(deps, lease.connection, 'commit_failed', message, {
    versionId: current.versionId,
    expiresAt,
  });
}

/**
 * A rescue from another version than AWSCURRENT: discarded when the record moved past it
 * (the commit landed after all, or an operator reconnected), else kept for an operator.
 */
export function reviewOtherRescue(
  deps: EngineDeps,
  lease: ConnectionLease,
  record: ConnectionRecord,
  rescue: RescuedTokenSet,
): void {
  const superseded =
    record.refreshedAt !== undefined && Date.parse(record.refreshedAt) >= Date.parse(rescue.issuedAt);
  if (superseded) {
    lease.discardRescueOnRelease();
    deps.logger.info('discarding a rescued token set the record has moved past', {
      connection: lease.connection,
    });
    return;
  }
  emit(deps, MetricName.RescueStale, 'Count', 1);
  deps.logger.error(
    'a rescued token set does not match the current version; an operator must decide (docs/refresh-transaction.md#restore)',
    { connection: lease.connection, rescueFromVersionId: rescue.fromVersionId },
  );
}
