import type { ConnectionStatus } from './connection-status.js';
import { ConnectionBusyError, TokenRefresherError } from './errors.js';
import { takeOperatorLease } from './operator-lease.js';
import { type ConnectionRecord, isConnected, parseRecord, serializeRecord } from './record.js';
import type { VersionAccess } from './version-access.js';
import type { ProtocolDeps } from './write-protocol.js';

/**
 * An operator's own write to a record (`token-refresher disable` / `enable`), made with
 * the operator's credentials through the same write protocol as the refresher's. Tokens
 * are carried over untouched (the refresh token stays ciphertext; nothing here can decrypt
 * it), and the lease's spent-token marker is kept as it was.
 */

/** The change is refused; the message says why and what to do instead. */
export class StatusChangeRefusedError extends TokenRefresherError {
  constructor(
    readonly connection: string,
    reason: string,
  ) {
    super(`connection "${connection}" ${reason}`);
  }
}

export interface StatusChangeResult {
  connection: string;
  /** False when the connection already had the status (no version was written). */
  changed: boolean;
  status: ConnectionStatus;
  versionId: string;
}

/** Last errors after which only a reconnect (the authorization code flow) helps. */
const NEEDS_RECONNECT = new Set(['reauth_required', 'not_connected', 'commit_failed']);

/**
 * Sets a connection `disabled` (never refreshed; consumers get `ConnectionDisabledError`)
 * or `active` again. Enabling refuses a connection that needs re-authentication: only
 * `connect` can fix that. Throws `SecretNotFoundError` for an unknown connection,
 * `ConnectionBusyError`, `StatusChangeRefusedError` or `InvalidRecordError`.
 */
export async function setConnectionStatus(
  deps: ProtocolDeps,
  connection: string,
  status: 'active' | 'disabled',
): Promise<StatusChangeResult> {
  const lease = await takeOperatorLease(deps, connection, 'set-status');
  try {
    const { current, access } = await lease.readCurrent();
    const record = parseRecord(connection, current.value);
    if (record.status === status) {
      return { connection, changed: false, status, versionId: current.versionId };
    }
    refuseUnsafeChange(connection, record, status, access);

    const updated: ConnectionRecord = { ...record, status };
    const committed = await lease.commit(current.versionId, async () => serializeRecord(updated));
    if (!committed.ok) {
      if (committed.reason === 'conflict') throw new ConnectionBusyError(connection);
      throw new TokenRefresherError(`connection "${connection}" could not be changed: ${committed.error}`);
    }
    lease.setHint(committed.versionId, updated);
    await lease.release();
    return { connection, changed: true, status, versionId: committed.versionId };
  } finally {
    await lease.release();
  }
}

function refuseUnsafeChange(
  connection: string,
  record: ConnectionRecord,
  status: 'active' | 'disabled',
  access: VersionAccess,
): void {
  switch (access.kind) {
    case 'stale':
      throw new StatusChangeRefusedError(
        connection,
        'was read as a version that a later commit replaced (a stale read); nothing was changed: try again',
      );
    case 'restore':
      throw new StatusChangeRefusedError(
        connection,
        'has a rescued token set waiting to be restored; let the next scheduled run restore it first ' +
          '(docs/runbook.md, CommitFailed)',
      );
    case 'spent':
      throw new StatusChangeRefusedError(
        connection,
        'has a spent refresh token (a token set could not be saved); reconnect it with token-refresher connect',
      );
    case 'uncertain':
    case 'free':
      break;
  }
  if (status === 'active') {
    if (
      !isConnected(record) ||
      record.status === 'reauth_required' ||
      NEEDS_RECONNECT.has(record.lastError?.class ?? '')
    ) {
      throw new StatusChangeRefusedError(
        connection,
        `needs re-authentication, which enabling cannot fix: run token-refresher connect ${connection}`,
      );
    }
  }
}
