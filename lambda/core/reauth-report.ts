import { MetricName } from '../contract/metric-names.js';
import { type EngineDeps, emit, flushMetrics } from './engine.js';
import type { CommittedVersion, LeaseState } from './ports.js';
import type { ConnectionRecord } from './record.js';
import { clientRequestTokenFor } from './write-protocol.js';

/**
 * Every move of a connection to `reauth_required` that lands is reported: a `ReauthRequired`
 * metric, published at once, with a log line naming the connection and the version
 * (docs/refresh-transaction.md, "Every transition is seen").
 *
 * - The holder whose status commit landed reports it before it releases the lease (the
 *   release records the hint); a commit that did not land (or whose answer was lost) is not reported.
 * - A commit can land without its holder knowing or reporting it: the answer to its last
 *   attempt was lost, the write was held in flight past the holder's death, or the process
 *   died right after it. Such a holder's release records at most a hint for the version it
 *   read, no longer AWSCURRENT, so the next run reads the record; the
 *   first holder that reads a `reauth_required` version which the lease item does not name
 *   as its last commit, and which is the version a commit from the marker's version (or the
 *   last commit) creates, reports it late and records it as the last commit at release.
 *
 * At least once, not exactly once: a holder that reported but could not release leaves the
 * item as it was, and the next holder reports the same version again.
 */

/** The log line that goes with every `ReauthRequired` the holder of the commit publishes. */
export const REAUTH_REPORTED = 'connection moved to reauth_required';
/** The log line of a late report: the holder of the commit did not report it. */
export const REAUTH_REPORTED_LATE =
  'connection moved to reauth_required earlier without it being reported; reported now';

/** Publishes `ReauthRequired` for the `reauth_required` version `versionId` of `connection`. */
export async function reportReauthRequired(
  deps: Pick<EngineDeps, 'metrics' | 'logger'>,
  connection: string,
  versionId: string,
  late?: { replacedVersionId: string },
): Promise<void> {
  if (late) {
    deps.logger.warn(REAUTH_REPORTED_LATE, {
      connection,
      versionId,
      replacedVersionId: late.replacedVersionId,
      reason:
        'the invocation whose status commit created this version did not record it (it died, or the answer ' +
        'to its write was lost), so it may not have published the metric',
    });
  } else {
    deps.logger.warn(REAUTH_REPORTED, { connection, versionId });
  }
  emit(deps, MetricName.ReauthRequired, 'Count', 1);
  await flushMetrics(deps);
}

/**
 * The commit that created AWSCURRENT, when it is a move to `reauth_required` that no holder
 * recorded (so perhaps never reported): the version is not the lease item's last commit,
 * and it is the one a commit from the marker's version or from the last commit creates.
 * Pure: no AWS call.
 */
export function unreportedReauthCommit(
  previous: LeaseState | undefined,
  secretName: string,
  versionId: string,
  record: Pick<ConnectionRecord, 'status' | 'lastError'>,
): CommittedVersion | undefined {
  if (record.status !== 'reauth_required' || record.lastError?.class === 'not_connected') return undefined;
  if (previous === undefined || previous.lastCommit?.versionId === versionId) return undefined;
  const candidates = [previous.sentFromVersionId, previous.lastCommit?.versionId];
  for (const fromVersionId of candidates) {
    if (fromVersionId !== undefined && clientRequestTokenFor(secretName, fromVersionId) === versionId) {
      return { fromVersionId, versionId };
    }
  }
  return undefined;
}
