import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { leaseTableDefinition } from '../../lambda/adapters/dynamodb-lease-store.js';

/**
 * Helpers for integration tests against the run's moto_server. Clients use the default
 * configuration: test/support/setup-env.ts points the SDK at moto through the environment.
 * Tests isolate themselves with `uniqueName`, never by resetting moto.
 */

/** `<prefix>-<random>`, safe for secret, table and connection names. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 12)}`;
}

/** New clients (cheap); pass one to several helpers or adapters as needed. */
export const secretsManagerClient = () => new SecretsManagerClient({});
export const kmsClient = () => new KMSClient({});
export const dynamoDbClient = () => new DynamoDBClient({});

/** Creates a symmetric encryption key. */
export async function createKmsKey(client: KMSClient = kmsClient()): Promise<{ keyId: string; arn: string }> {
  const { KeyMetadata } = await client.send(
    new CreateKeyCommand({ Description: uniqueName('token-refresher-test') }),
  );
  if (!KeyMetadata?.KeyId || !KeyMetadata.Arn) throw new Error('CreateKey returned no key metadata');
  return { keyId: KeyMetadata.KeyId, arn: KeyMetadata.Arn };
}

/** Creates a lease table (same definition as production) and returns its name. */
export async function createLeaseTable(client: DynamoDBClient = dynamoDbClient()): Promise<string> {
  const tableName = uniqueName('token-refresher-leases');
  await client.send(new CreateTableCommand(leaseTableDefinition(tableName)));
  return tableName;
}

/** Creates a string secret; returns its ARN and first version id. */
export async function createSecret(
  name: string,
  value: string,
  options: { tags?: Record<string, string>; client?: SecretsManagerClient } = {},
): Promise<{ arn: string; versionId: string }> {
  const client = options.client ?? secretsManagerClient();
  const response = await client.send(
    new CreateSecretCommand({
      Name: name,
      SecretString: value,
      Tags: Object.entries(options.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  if (!response.ARN || !response.VersionId) throw new Error('CreateSecret returned no ARN or version id');
  return { arn: response.ARN, versionId: response.VersionId };
}
