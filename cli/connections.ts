import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { DynamoDbLeaseStore } from '../lambda/adapters/dynamodb-lease-store.js';
import { CONNECTION_NAME_RULE, connectionSecretName, isConnectionName } from '../lambda/contract/names.js';
import { currentHint, type Hint } from '../lambda/core/hint.js';
import type { Deployment } from './deployment.js';
import { CliError } from './errors.js';

/** Refuses a connection name the stack could not grant (one line, before any call). */
export function checkConnectionName(name: string): void {
  if (!isConnectionName(name)) {
    throw new CliError(`invalid connection name "${name}": use ${CONNECTION_NAME_RULE}`, 'usage');
  }
}

export interface SecretInfo {
  secretName: string;
  arn?: string;
  /** Set when the secret is scheduled for deletion (removed). */
  deletedDate?: Date;
  /** The scheduling hint, when it describes the AWSCURRENT version (no secret value is read). */
  hint?: Hint;
}

/** Describes a connection's secret (metadata only, never its value); undefined when there is none. */
export async function describeConnection(
  deployment: Deployment,
  name: string,
): Promise<SecretInfo | undefined> {
  const secretName = connectionSecretName(await deployment.value('ConnectionPrefix'), name);
  try {
    const described = await deployment.clients.secretsManager.send(
      new DescribeSecretCommand({ SecretId: secretName }),
    );
    const currentVersionId = Object.entries(described.VersionIdsToStages ?? {}).find(([, stages]) =>
      stages.includes('AWSCURRENT'),
    )?.[0];
    const hintValue = await leaseHint(deployment, name);
    return {
      secretName,
      arn: described.ARN,
      deletedDate: described.DeletedDate,
      hint: currentHint({ name: secretName, currentVersionId, hint: hintValue }),
    };
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

/** The scheduling hint the connection's lease item holds; undefined when it cannot be read. */
async function leaseHint(deployment: Deployment, name: string): Promise<string | undefined> {
  try {
    const tableName = await deployment.value('LeaseTableName');
    const leases = new DynamoDbLeaseStore({ client: deployment.clients.dynamodb, tableName });
    return (await leases.get(name))?.hint;
  } catch {
    return undefined;
  }
}

/** The connection's secret, or the one-line "unknown connection" error. */
export async function requireConnection(deployment: Deployment, name: string): Promise<SecretInfo> {
  checkConnectionName(name);
  const info = await describeConnection(deployment, name);
  if (!info) {
    throw new CliError(
      `unknown connection "${name}": no secret "${(await deployment.value('ConnectionPrefix')) + name}" ` +
        `in stack ${deployment.stackName} (token-refresher status lists the connections)`,
      'not_found',
    );
  }
  if (info.deletedDate) {
    throw removedError(name, info);
  }
  return info;
}

/**
 * A removed connection (its secret scheduled for deletion) blocks its name until the
 * recovery window ends: the two ways out, restore or delete for good.
 */
export function removedError(name: string, info: SecretInfo): CliError {
  const until = info.deletedDate
    ? ` (deleted for good on ${info.deletedDate.toISOString().slice(0, 10)})`
    : '';
  return new CliError(
    `connection "${name}" was removed: its secret ${info.secretName} is scheduled for deletion${until}. ` +
      `Restore it with: aws secretsmanager restore-secret --secret-id ${info.secretName}; ` +
      `or free the name now (no recovery): token-refresher remove ${name} --force-delete`,
    'refused',
    { removed: true, secretName: info.secretName, deletionDate: info.deletedDate?.toISOString() ?? null },
  );
}
