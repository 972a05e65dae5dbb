import { randomUUID } from 'node:crypto';
import { describeError, TokenRefresherError } from './errors.js';
import { encodeHint } from './hint.js';
import type { Clock, LeaseState, LeaseStore, Logger, SecretStore } from './ports.js';
import {
  type ConnectionRecord,
  type ConnectionStatus,
  isConnected,
  parseRecord,
  serializeRecord,
} from './record.js';
import { clientRequestTokenFor } from './version-token.js';

/**
 * An operator's own write to a record (`token-refresher disable` / `enable`), made with
 * the operator's credentials under the same rules as the refresher's: take the lease,
 * read AWSCURRENT, write one version with the deterministic `ClientRequestToken`,
 * rewrite the hint, release. Tokens are carried over untouched (the refresh token stays
 * ciphertext; nothing here can decrypt it).
 */

/** The lease cannot be taken: the refresher is working on the connection right now. */
export class ConnectionBusyError extends TokenRefresherError {
  constructor(readonly connection: string) {
    super(`connection "${connection}" is being refreshed right now; try again in a minute`);
  }
}

/** The change is refused; the message says why and what to do instead. */
export class StatusChangeRefusedError extends TokenRefresherError {
  constructor(
    readonly connection: string,
    reason: string,
  ) {
    super(`connection "${connection}" ${reason}`);
  }
}

export interface StatusChangeDeps {
  store: SecretStore;
  leases: LeaseStore;
  clock: Clock;
  /** Secret-name prefix of the connections. */
  prefix: string;
  logger?: Pick<Logger, 'warn'>;
  /** How long the operator's lease lasts. @default 60 seconds */
  leaseMs?: number;
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
  deps: StatusChangeDeps,
  connection: string,
  status: 'active' | 'disabled',
): Promise<StatusChangeResult> {
  const secretName = deps.prefix + connection;
  const owner = `operator/${randomUUID()}`;
  const acquired = await deps.leases.acquire(connection, {
    owner,
    leaseUntil: deps.clock.now() + (deps.leaseMs ?? 60_000),
  });
  if (!acquired.acquired) throw new ConnectionBusyError(connection);
  const previous = acquired.previous;
  let released = false;
  try {
    const current = await deps.store.getCurrent(secretName);
    const record = parseRecord(connection, current.value);
    if (record.status === status) {
      return { connection, changed: false, status, versionId: current.versionId };
    }
    refuseUnsafeChange(connection, record, status, previous, current.versionId);

    const updated: ConnectionRecord = { ...record, status };
    const token = clientRequestTokenFor(secretName, current.versionId);
    const { versionId } = await deps.store.putVersion(secretName, serializeRecord(updated), token);
    released = true;
    await deps.leases.release(connection, owner, 'committed');
    try {
      await deps.store.setHint(secretName, encodeHint(versionId, updated));
    } catch (error) {
      deps.logger?.warn('the scheduling hint could not be written; the next run reads the record instead', {
        connection,
        error: describeError(error),
      });
    }
    return { connection, changed: true, status, versionId };
  } finally {
    if (!released) await releasePreserving(deps.leases, connection, owner, previous);
  }
}

function refuseUnsafeChange(
  connection: string,
  record: ConnectionRecord,
  status: 'active' | 'disabled',
  previous: LeaseState | undefined,
  currentVersionId: string,
): void {
  if (previous?.rescue) {
    throw new StatusChangeRefusedError(
      connection,
      'has a rescued token set waiting to be restored; let the next scheduled run restore it first ' +
        '(docs/runbook.md, CommitFailed)',
    );
  }
  if (previous?.outcome === 'unsaved' && previous.sentFromVersionId === currentVersionId) {
    throw new StatusChangeRefusedError(
      connection,
      'has a spent refresh token (a token set could not be saved); reconnect it with token-refresher connect',
    );
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

/**
 * Releases an operator's lease without losing what the previous holder recorded: taking
 * the lease cleared its "sending" marker and outcome, which the engine needs to tell an
 * interrupted or spent refresh token from a fresh one. They are put back as they were.
 */
async function releasePreserving(
  leases: LeaseStore,
  connection: string,
  owner: string,
  previous: LeaseState | undefined,
): Promise<void> {
  try {
    if (previous?.sentFromVersionId !== undefined) {
      await leases.markSending(connection, owner, previous.sentFromVersionId);
      // An expired lease with a marker and no outcome was interrupted after sending.
      await leases.release(connection, owner, previous.outcome ?? 'ambiguous');
    } else {
      await leases.release(connection, owner, previous?.outcome ?? 'not_sent');
    }
  } catch {
    // An unreleased operator lease expires on its own within a minute.
  }
}
