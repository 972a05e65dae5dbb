import { lastCommitAtOf } from './due.js';
import type { EngineDeps } from './engine.js';
import type { FailureClass } from './errors.js';
import type { SecretVersion } from './ports.js';
import { reportReauthRequired } from './reauth-report.js';
import { type ConnectionRecord, serializeRecord } from './record.js';
import type { ConnectionLease } from './write-protocol.js';

/**
 * Commits a status or last-error change under the lease, keeping the tokens as they are,
 * then releases, recording the hint for the new version. Returns whether it landed; a failure is logged and
 * the lease's marker is left as it was, so the next run decides again from the same facts.
 *
 * The version floor counts these commits too: a last error on a connection that stays
 * `active` is not written sooner than `versionFloorMs` after the record's previous commit
 * (its last refresh or last error); it is skipped and logged, and a later run writes it.
 * With the due rule's side of it (`lastErrorAt` in due.ts), a flapping error cannot add
 * more than one version per floor period. A move to `reauth_required` is always written:
 * it stops the refreshes, so it cannot flap. It is reported (`ReauthRequired`, published at
 * once) when it lands and only then, before the release and the hint: a holder that dies
 * before reporting has recorded nothing, and the next run reports it (reauth-report.ts).
 */
export async function commitStatus(
  deps: Pick<EngineDeps, 'clock' | 'logger' | 'settings' | 'metrics'>,
  lease: ConnectionLease,
  current: SecretVersion,
  record: ConnectionRecord,
  status: ConnectionRecord['status'],
  errorClass: FailureClass,
  message: string,
): Promise<boolean> {
  const now = deps.clock.now();
  const previousCommitAt = lastCommitAtOf(record);
  if (
    status === 'active' &&
    previousCommitAt !== undefined &&
    now - previousCommitAt < deps.settings.versionFloorMs
  ) {
    deps.logger.warn(
      'the last error was not written: the record changed less than the version floor ago (a later run writes it)',
      {
        connection: lease.connection,
        errorClass,
        secondsSincePreviousCommit: Math.round((now - previousCommitAt) / 1000),
      },
    );
    return false;
  }
  const updated: ConnectionRecord = {
    ...record,
    status,
    lastError: { class: errorClass, message, at: new Date(now).toISOString() },
  };
  const committed = await lease.commit(current.versionId, async () => serializeRecord(updated));
  if (!committed.ok) {
    deps.logger.error('the connection status could not be recorded', {
      connection: lease.connection,
      status,
      error: committed.error,
    });
    return false;
  }
  if (status === 'reauth_required') {
    await reportReauthRequired(deps, lease.connection, committed.versionId);
  }
  lease.setHint(committed.versionId, updated);
  await lease.release();
  return true;
}
