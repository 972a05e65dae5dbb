import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  ListSecretsCommand,
  type ListSecretsCommandInput,
  type ListSecretsCommandOutput,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  SecretNotFoundError,
  TokenRefresherError,
  VersionConflictError,
  VersionQuotaError,
} from '../core/errors.js';
import type {
  RecoveryWindow,
  SecretCreator,
  SecretRemover,
  SecretStore,
  SecretSummary,
  SecretVersion,
} from '../core/ports.js';
import { awsErrorName, dependencyFailure } from './aws-errors.js';

const CURRENT_STAGE = 'AWSCURRENT';

function failed(operation: string, secretId: string, error: unknown): TokenRefresherError {
  return dependencyFailure(`Secrets Manager ${operation} on "${secretId}"`, error);
}

/**
 * Reads AWSCURRENT (`SecretStore.getCurrent`). A function of its own so that a reader that
 * needs nothing else (the consumer library) bundles only `GetSecretValueCommand`.
 */
export async function getCurrentVersion(
  client: SecretsManagerClient,
  secretId: string,
): Promise<SecretVersion> {
  let response: GetSecretValueCommandOutput;
  try {
    response = await client.send(
      // VersionStage is always explicit: without it moto can serve a stale version.
      new GetSecretValueCommand({ SecretId: secretId, VersionStage: CURRENT_STAGE }),
    );
  } catch (error) {
    if (awsErrorName(error) === 'ResourceNotFoundException') throw new SecretNotFoundError(secretId);
    throw failed('GetSecretValue', secretId, error);
  }
  if (response.SecretString === undefined) {
    throw new TokenRefresherError(
      response.SecretBinary !== undefined
        ? `secret "${secretId}" holds a binary value; token-refresher needs a string (JSON) value`
        : `secret "${secretId}" has no string value in its AWSCURRENT version`,
    );
  }
  if (!response.VersionId) {
    throw new TokenRefresherError(`secret "${secretId}": GetSecretValue returned no version id`);
  }
  return { versionId: response.VersionId, value: response.SecretString };
}

/** `SecretStore` over AWS Secrets Manager. Every read is of AWSCURRENT, passed explicitly. */
export class SecretsManagerStore implements SecretStore, SecretRemover {
  constructor(private readonly client: SecretsManagerClient) {}

  async *list(prefix: string): AsyncIterable<SecretSummary> {
    let nextToken: string | undefined;
    do {
      const input: ListSecretsCommandInput = { MaxResults: 100, NextToken: nextToken };
      // The service's name filter is a case-insensitive prefix match, rejects empty values and
      // reads a leading "!" as negation; the exact, case-sensitive check is made below.
      if (prefix !== '' && !prefix.startsWith('!')) input.Filters = [{ Key: 'name', Values: [prefix] }];
      let page: ListSecretsCommandOutput;
      try {
        page = await this.client.send(new ListSecretsCommand(input));
      } catch (error) {
        throw failed('ListSecrets', `${prefix}*`, error);
      }
      for (const entry of page.SecretList ?? []) {
        const name = entry.Name;
        if (name === undefined || !name.startsWith(prefix)) continue;
        if (entry.DeletedDate !== undefined) continue;
        const summary: SecretSummary = { name };
        const currentVersionId = Object.entries(entry.SecretVersionsToStages ?? {}).find(([, stages]) =>
          stages.includes(CURRENT_STAGE),
        )?.[0];
        if (currentVersionId !== undefined) summary.currentVersionId = currentVersionId;
        // Tags are not read: a hint tag of an older release is ignored (hints are in the lease table).
        yield summary;
      }
      nextToken = page.NextToken;
    } while (nextToken);
  }

  getCurrent(secretId: string): Promise<SecretVersion> {
    return getCurrentVersion(this.client, secretId);
  }

  async putVersion(
    secretId: string,
    value: string,
    clientRequestToken: string,
  ): Promise<{ versionId: string }> {
    let versionId: string | undefined;
    try {
      // No VersionStages: the new version becomes AWSCURRENT, the old one AWSPREVIOUS.
      const response = await this.client.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          SecretString: value,
          ClientRequestToken: clientRequestToken,
        }),
      );
      versionId = response.VersionId;
    } catch (error) {
      const name = awsErrorName(error);
      if (name === 'ResourceExistsException') throw new VersionConflictError(secretId);
      if (name === 'LimitExceededException') throw new VersionQuotaError(secretId, { cause: error });
      if (name === 'ResourceNotFoundException') throw new SecretNotFoundError(secretId);
      throw failed('PutSecretValue', secretId, error);
    }
    // The version id is the ClientRequestToken; fall back to it if the response omits it.
    return { versionId: versionId ?? clientRequestToken };
  }

  async versionExists(secretId: string, versionId: string): Promise<boolean> {
    try {
      await this.client.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId }));
      return true;
    } catch (error) {
      if (awsErrorName(error) === 'ResourceNotFoundException') return false;
      throw failed('GetSecretValue (by version)', secretId, error);
    }
  }

  async deleteSecret(secretId: string, recoveryWindowDays: RecoveryWindow): Promise<{ deletionDate?: Date }> {
    try {
      const response = await this.client.send(
        new DeleteSecretCommand(
          recoveryWindowDays === 'none'
            ? { SecretId: secretId, ForceDeleteWithoutRecovery: true }
            : { SecretId: secretId, RecoveryWindowInDays: recoveryWindowDays },
        ),
      );
      return response.DeletionDate ? { deletionDate: response.DeletionDate } : {};
    } catch (error) {
      if (awsErrorName(error) === 'ResourceNotFoundException') throw new SecretNotFoundError(secretId);
      throw failed('DeleteSecret', secretId, error);
    }
  }
}

/**
 * Creates connection secrets encrypted with the stack's secrets key (the operator CLI's
 * placeholders). A secret that another writer created first is `VersionConflictError`.
 */
export class SecretsManagerCreator implements SecretCreator {
  constructor(
    private readonly client: SecretsManagerClient,
    private readonly kmsKeyId: string,
    private readonly description?: string,
  ) {}

  async createSecret(
    secretId: string,
    value: string,
    clientRequestToken: string,
  ): Promise<{ versionId: string }> {
    try {
      const response = await this.client.send(
        new CreateSecretCommand({
          Name: secretId,
          KmsKeyId: this.kmsKeyId,
          Description: this.description,
          SecretString: value,
          ClientRequestToken: clientRequestToken,
        }),
      );
      return { versionId: response.VersionId ?? clientRequestToken };
    } catch (error) {
      if (awsErrorName(error) === 'ResourceExistsException') throw new VersionConflictError(secretId);
      throw failed('CreateSecret', secretId, error);
    }
  }
}
