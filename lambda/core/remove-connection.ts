import { takeOperatorLease } from './operator-lease.js';
import type { RecoveryWindow, SecretRemover } from './ports.js';
import type { ProtocolDeps } from './write-protocol.js';

export interface RemoveResult {
  connection: string;
  secretName: string;
  /** When Secrets Manager deletes the secret for good. */
  deletionDate?: Date;
  /**
   * A token set whose commit failed waits in the lease table. It stays there: restoring
   * the secret within its recovery window lets the next run commit it.
   */
  rescuePending: boolean;
}

/**
 * `token-refresher remove`: schedules the connection's secret for deletion (with Secrets
 * Manager's recovery window), holding the lease so no refresh is half-way through. The
 * lease item keeps the spent-token marker, the last commit and any rescue: a secret restored
 * within its recovery window (`aws secretsmanager restore-secret`) can never have a spent
 * refresh token sent again. Throws `SecretNotFoundError` or `ConnectionBusyError`.
 */
export async function removeConnection(
  deps: ProtocolDeps,
  remover: SecretRemover,
  connection: string,
  recoveryWindowDays: RecoveryWindow,
): Promise<RemoveResult> {
  const lease = await takeOperatorLease(deps, connection, 'remove');
  try {
    const { deletionDate } = await lease.deleteSecret(remover, recoveryWindowDays);
    return {
      connection,
      secretName: lease.secretName,
      ...(deletionDate ? { deletionDate } : {}),
      rescuePending: lease.previous?.rescue !== undefined,
    };
  } finally {
    await lease.release();
  }
}
