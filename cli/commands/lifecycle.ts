import { ConnectionBusyError, SecretNotFoundError } from '../../lambda/core/errors.js';
import { removeConnection } from '../../lambda/core/remove-connection.js';
import { StatusChangeRefusedError, setConnectionStatus } from '../../lambda/core/set-connection-status.js';
import { requireConnection } from '../connections.js';
import type { Deployment } from '../deployment.js';
import { CliError } from '../errors.js';
import { shortVersion } from '../format.js';
import type { CliIo } from '../io.js';
import { operatorProtocol } from '../refresher-ports.js';

/** `disable` / `enable`: the operator's own write, under the lease (lambda/core/set-connection-status.ts). */
export async function setStatusCommand(
  name: string,
  status: 'active' | 'disabled',
  deployment: Deployment,
  io: CliIo,
): Promise<void> {
  await deployment.checkEnvironment();
  await requireConnection(deployment, name);
  const { deps } = await operatorProtocol(deployment, io.stderr, name);
  try {
    const result = await setConnectionStatus(deps, name, status);
    const verb = status === 'disabled' ? 'disabled' : 'enabled';
    io.stdout.write(
      result.changed
        ? `${verb} "${name}" (version ${shortVersion(result.versionId)})\n`
        : `"${name}" is already ${status === 'disabled' ? 'disabled' : 'active'}\n`,
    );
  } catch (error) {
    if (error instanceof ConnectionBusyError || error instanceof StatusChangeRefusedError) {
      throw new CliError(error.message);
    }
    if (error instanceof SecretNotFoundError) throw new CliError(`unknown connection "${name}"`);
    throw error;
  }
}

/**
 * `remove`: schedules the connection's secret for deletion (with Secrets Manager's recovery
 * window) through the write protocol (lambda/core/remove-connection.ts); the lease item
 * keeps its spent-token marker and any rescue.
 */
export async function removeCommand(
  name: string,
  options: { yes?: boolean; recoveryWindowDays: number },
  deployment: Deployment,
  io: CliIo,
): Promise<void> {
  const days = options.recoveryWindowDays;
  if (!Number.isInteger(days) || days < 7 || days > 30) {
    throw new CliError('--recovery-window-days must be a whole number from 7 to 30');
  }
  await deployment.checkEnvironment();
  const info = await requireConnection(deployment, name);
  if (!options.yes) {
    if (!io.stdin.isTTY) {
      throw new CliError(`refusing to remove "${name}" without confirmation: pass --yes`);
    }
    const confirmed = await io.confirm(
      `Remove connection "${name}"? Its secret ${info.secretName} is deleted after ${days} days and consumers ` +
        'lose access now.',
    );
    if (!confirmed) throw new CliError('not removed');
  }
  const { deps, remover } = await operatorProtocol(deployment, io.stderr, name);
  let removed: Awaited<ReturnType<typeof removeConnection>>;
  try {
    removed = await removeConnection(deps, remover, name, days);
  } catch (error) {
    if (error instanceof ConnectionBusyError) throw new CliError(error.message);
    if (error instanceof SecretNotFoundError) throw new CliError(`unknown connection "${name}"`);
    throw error;
  }
  const { deletionDate } = removed;
  io.stdout.write(
    `removed "${name}": secret ${info.secretName} scheduled for deletion${deletionDate ? ` on ${deletionDate.toISOString().slice(0, 10)}` : ''} ` +
      `(undo: aws secretsmanager restore-secret --secret-id ${info.secretName}); revoke the grant at the provider if it is no longer needed\n`,
  );
  if (removed.rescuePending) {
    io.stderr.write(
      `warning: "${name}" had a rescued token set waiting to be restored; it stays in the lease table, and ` +
        'restoring the secret within its recovery window lets the next run commit it (docs/runbook.md, CommitFailed)\n',
    );
  }
}
