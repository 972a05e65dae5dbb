import { SecretsManagerStore } from '../../lambda/adapters/secrets-manager-store.js';
import type { OnDemandResponse } from '../../lambda/contract/on-demand.js';
import { ConnectionBusyError, SecretNotFoundError } from '../../lambda/core/errors.js';
import { removeConnection } from '../../lambda/core/remove-connection.js';
import { StatusChangeRefusedError, setConnectionStatus } from '../../lambda/core/set-connection-status.js';
import { checkConnectionName, describeConnection, requireConnection } from '../connections.js';
import type { Deployment } from '../deployment.js';
import { CliError } from '../errors.js';
import { formatDuration, formatExpiresIn, shortVersion } from '../format.js';
import { invokerFor, type LocalInvokerOptions } from '../invoker.js';
import type { CliIo } from '../io.js';
import { operatorProtocol } from '../refresher-ports.js';
import { GUARDS, guardText, whenText } from './refresh.js';
import { connectionStatus } from './status.js';

/**
 * `disable` / `enable`: the operator's own write, under the lease
 * (lambda/core/set-connection-status.ts). `enable` then looks at the access token: an
 * expired one (or none) is refreshed at once, as is any with `--force`; a guard that holds
 * the refresh back is named, with when it lifts and the override (exit `pending`: the
 * scheduled run refreshes it then).
 */
export async function setStatusCommand(
  name: string,
  status: 'active' | 'disabled',
  deployment: Deployment,
  io: CliIo,
  options: { json?: boolean; force?: boolean } = {},
  invokerOptions: LocalInvokerOptions = {},
): Promise<void> {
  await deployment.checkEnvironment();
  await requireConnection(deployment, name);
  const { deps } = await operatorProtocol(deployment, io.stderr, name);
  let result: Awaited<ReturnType<typeof setConnectionStatus>>;
  try {
    result = await setConnectionStatus(deps, name, status);
  } catch (error) {
    if (error instanceof ConnectionBusyError || error instanceof StatusChangeRefusedError) {
      throw new CliError(error.message, 'refused');
    }
    if (error instanceof SecretNotFoundError) throw new CliError(`unknown connection "${name}"`, 'not_found');
    throw error;
  }
  const verb = status === 'disabled' ? 'disabled' : 'enabled';
  const lines = [
    result.changed
      ? `${verb} "${name}" (version ${shortVersion(result.versionId)})`
      : `"${name}" is already ${status === 'disabled' ? 'disabled' : 'active'}`,
  ];
  const now = Date.now();
  const row = status === 'active' ? await connectionStatus(deployment, name, now) : undefined;
  const expired = row !== undefined && (row.expiresAt === null || Date.parse(row.expiresAt) <= now);
  let refresh: OnDemandResponse | undefined;
  let pending: CliError | undefined;
  if (row && (expired || options.force)) {
    const invoker = await invokerFor(deployment, io.stderr, invokerOptions);
    // A scheduled run may hold the lease right now (it refreshes the token itself): ask again shortly.
    for (let attempt = 1; ; attempt += 1) {
      refresh = (await invoker.invoke({
        action: 'refresh',
        connection: name,
        ...(options.force ? { force: true } : {}),
      })) as OnDemandResponse;
      if (refresh.outcome !== 'in_progress' || attempt >= 5) break;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    const was = row.expiresAt
      ? `its access token expired ${formatDuration(now - Date.parse(row.expiresAt))} ago`
      : 'it had no access token';
    const why = options.force ? 'forced' : was;
    const current =
      refresh.outcome === 'declined' ? (await describeConnection(deployment, name))?.hint : undefined;
    if (current?.expiresAt !== undefined && current.expiresAt > Date.now() && !options.force) {
      // Not due any more: a scheduled run refreshed it between our read and our request.
      const expiresAt = current.expiresAt;
      lines.push(
        `${why}: refreshed meanwhile by a scheduled run` +
          `${expiresAt !== undefined ? ` (access token expires in ${formatExpiresIn(expiresAt, Date.now())})` : ''}`,
      );
    } else if (refresh.outcome === 'refreshed') {
      const expiresAt = (await describeConnection(deployment, name))?.hint?.expiresAt;
      lines.push(
        `${why}: refreshed it at once (version ${shortVersion(refresh.versionId)}` +
          `${expiresAt !== undefined ? `, access token expires in ${formatExpiresIn(expiresAt, Date.now())}` : ''})`,
      );
    } else if (refresh.outcome === 'declined' && refresh.reason! in GUARDS) {
      pending = new CliError(
        `"${name}" is active, but ${was} and not refreshed yet: ` +
          guardText(name, refresh.reason as keyof typeof GUARDS, whenText(refresh.nextAttemptAt, now)) +
          '; without it, the first scheduled run after that refreshes it',
        'pending',
        {
          guard: {
            name: refresh.reason,
            liftsAt: refresh.nextAttemptAt ?? null,
            override: `token-refresher refresh ${name} --force`,
          },
        },
      );
    } else if (refresh.outcome === 'failed') {
      pending = new CliError(
        `"${name}" is active, but the refresh right after failed (${refresh.failureClass ?? 'unknown'}): ` +
          `${refresh.message ?? 'no detail'} (token-refresher status shows it; token-refresher refresh ${name} tries again)`,
        'failed',
      );
    } else if (refresh.outcome === 'in_progress') {
      lines.push('a refresh is already in progress: check token-refresher status shortly');
    }
  }
  if (options.json) {
    io.stdout.write(
      `${JSON.stringify(
        {
          connection: name,
          status: result.status,
          changed: result.changed,
          versionId: result.versionId,
          ...(refresh ? { refresh } : {}),
        },
        null,
        2,
      )}\n`,
    );
  } else {
    io.stdout.write(`${lines.join('; ')}\n`);
  }
  if (pending) throw pending;
}

/**
 * `remove`: schedules the connection's secret for deletion (with Secrets Manager's recovery
 * window) through the write protocol (lambda/core/remove-connection.ts); the lease item
 * keeps its spent-token marker and any rescue. `--force-delete` deletes it at once, with no
 * recovery (behind a confirmation), also a name already removed, so that it is free again.
 */
export async function removeCommand(
  name: string,
  options: { yes?: boolean; recoveryWindowDays: number; forceDelete?: boolean; json?: boolean },
  deployment: Deployment,
  io: CliIo,
): Promise<void> {
  const days = options.recoveryWindowDays;
  if (!options.forceDelete && (!Number.isInteger(days) || days < 7 || days > 30)) {
    throw new CliError('--recovery-window-days must be a whole number from 7 to 30', 'usage');
  }
  checkConnectionName(name);
  await deployment.checkEnvironment();
  const info = options.forceDelete ? await describeConnection(deployment, name) : undefined;
  if (options.forceDelete && !info) await requireConnection(deployment, name);
  const secret = info ?? (await requireConnection(deployment, name));
  if (!options.yes) {
    if (!io.stdin.isTTY) {
      throw new CliError(
        `refusing to ${options.forceDelete ? 'delete' : 'remove'} "${name}" without confirmation: pass --yes`,
        'not_confirmed',
      );
    }
    const confirmed = await io.confirm(
      options.forceDelete
        ? `Delete connection "${name}" for good? Its secret ${secret.secretName} is deleted now, with NO recovery ` +
            'window: it cannot be restored, consumers lose access now, and the name is free for a new connect.'
        : `Remove connection "${name}"? Its secret ${secret.secretName} is deleted after ${days} days and consumers ` +
            'lose access now.',
    );
    if (!confirmed) throw new CliError('not removed', 'not_confirmed');
  }
  let removed: { deletionDate?: Date; rescuePending: boolean };
  try {
    if (secret.deletedDate) {
      // Already removed: no record to hold a lease over; delete what is scheduled, at once.
      await new SecretsManagerStore(deployment.clients.secretsManager).deleteSecret(
        secret.secretName,
        'none',
      );
      removed = { rescuePending: false };
    } else {
      const { deps, remover } = await operatorProtocol(deployment, io.stderr, name);
      removed = await removeConnection(deps, remover, name, options.forceDelete ? 'none' : days);
    }
  } catch (error) {
    if (error instanceof ConnectionBusyError) throw new CliError(error.message, 'refused');
    if (error instanceof SecretNotFoundError) throw new CliError(`unknown connection "${name}"`, 'not_found');
    throw error;
  }
  const { deletionDate } = removed;
  const restore = `aws secretsmanager restore-secret --secret-id ${secret.secretName}`;
  if (options.json) {
    io.stdout.write(
      `${JSON.stringify(
        {
          connection: name,
          secretName: secret.secretName,
          forceDeleted: Boolean(options.forceDelete),
          deletionDate: options.forceDelete ? null : (deletionDate?.toISOString() ?? null),
          restoreCommand: options.forceDelete ? null : restore,
          rescuePending: removed.rescuePending,
        },
        null,
        2,
      )}\n`,
    );
  } else if (options.forceDelete) {
    io.stdout.write(
      `deleted "${name}" for good: secret ${secret.secretName} deleted with no recovery window; the name is free ` +
        `(token-refresher connect ${name}); revoke the grant at the provider if it is no longer needed\n`,
    );
  } else {
    io.stdout.write(
      `removed "${name}": secret ${secret.secretName} scheduled for deletion${deletionDate ? ` on ${deletionDate.toISOString().slice(0, 10)}` : ''} ` +
        `(undo: ${restore}; free the name now: token-refresher remove ${name} --force-delete); ` +
        'revoke the grant at the provider if it is no longer needed\n',
    );
  }
  if (removed.rescuePending) {
    io.stderr.write(
      `warning: "${name}" had a rescued token set waiting to be restored; it stays in the lease table, and ` +
        'restoring the secret within its recovery window lets the next run commit it (docs/runbook.md, CommitFailed)\n',
    );
  }
}
