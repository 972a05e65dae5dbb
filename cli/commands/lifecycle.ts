import { randomUUID } from 'node:crypto';
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteSecretCommand } from '@aws-sdk/client-secrets-manager';
import { DynamoDbLeaseStore } from '../../lambda/adapters/dynamodb-lease-store.js';
import { SecretsManagerStore } from '../../lambda/adapters/secrets-manager-store.js';
import { systemClock } from '../../lambda/adapters/system-clock.js';
import { LEASE_TABLE_KEY } from '../../lambda/contract/names.js';
import { SecretNotFoundError } from '../../lambda/core/errors.js';
import {
  ConnectionBusyError,
  StatusChangeRefusedError,
  setConnectionStatus,
} from '../../lambda/core/set-connection-status.js';
import { requireConnection } from '../connections.js';
import type { Deployment } from '../deployment.js';
import { CliError } from '../errors.js';
import { shortVersion } from '../format.js';
import type { CliIo } from '../io.js';

/** `disable` / `enable`: the operator's own write, under the lease (lambda/core/set-connection-status.ts). */
export async function setStatusCommand(
  name: string,
  status: 'active' | 'disabled',
  deployment: Deployment,
  io: CliIo,
): Promise<void> {
  await deployment.checkEnvironment();
  await requireConnection(deployment, name);
  const [prefix, tableName] = await Promise.all([
    deployment.value('ConnectionPrefix'),
    deployment.value('LeaseTableName'),
  ]);
  const { secretsManager, dynamodb } = deployment.clients;
  try {
    const result = await setConnectionStatus(
      {
        store: new SecretsManagerStore(secretsManager),
        leases: new DynamoDbLeaseStore({ client: dynamodb, tableName }),
        clock: systemClock,
        prefix,
        logger: { warn: (message) => io.stderr.write(`warning: ${message}\n`) },
      },
      name,
      status,
    );
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
 * `remove`: deletes the connection's secret (with Secrets Manager's recovery window) and
 * its lease item, holding the lease so no refresh is half-way through.
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
  const tableName = await deployment.value('LeaseTableName');
  const { secretsManager, dynamodb } = deployment.clients;
  const leases = new DynamoDbLeaseStore({ client: dynamodb, tableName });
  const owner = `operator/remove/${randomUUID()}`;
  const acquired = await leases.acquire(name, { owner, leaseUntil: Date.now() + 60_000 });
  if (!acquired.acquired) throw new CliError(new ConnectionBusyError(name).message);
  let deletion: Date | undefined;
  try {
    const deleted = await secretsManager.send(
      new DeleteSecretCommand({ SecretId: info.secretName, RecoveryWindowInDays: days }),
    );
    deletion = deleted.DeletionDate;
  } catch (error) {
    await leases.release(name, owner, 'not_sent').catch(() => {});
    throw error;
  }
  await dynamodb.send(
    new DeleteItemCommand({
      TableName: tableName,
      Key: { [LEASE_TABLE_KEY]: { S: name } },
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': { S: owner } },
    }),
  );
  io.stdout.write(
    `removed "${name}": secret ${info.secretName} scheduled for deletion${deletion ? ` on ${deletion.toISOString().slice(0, 10)}` : ''} ` +
      `(undo: aws secretsmanager restore-secret --secret-id ${info.secretName}); revoke the grant at the provider if it is no longer needed\n`,
  );
}
