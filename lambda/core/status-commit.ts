import type { EngineDeps } from './engine.js';
import type { FailureClass } from './errors.js';
import type { SecretVersion } from './ports.js';
import { type ConnectionRecord, serializeRecord } from './record.js';
import type { ConnectionLease } from './write-protocol.js';

/**
 * Commits a status or last-error change under the lease, keeping the tokens as they are,
 * then releases and rewrites the hint. Returns whether it landed; a failure is logged and
 * the lease's marker is left as it was, so the next run decides again from the same facts.
 */
export async function commitStatus(
  deps: Pick<EngineDeps, 'clock' | 'logger'>,
  lease: ConnectionLease,
  current: SecretVersion,
  record: ConnectionRecord,
  status: ConnectionRecord['status'],
  errorClass: FailureClass,
  message: string,
): Promise<boolean> {
  const updated: ConnectionRecord = {
    ...record,
    status,
    lastError: { class: errorClass, message, at: new Date(deps.clock.now()).toISOString() },
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
  await lease.release();
  await lease.writeHint(committed.versionId, updated);
  return true;
}
