import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { leaseTableDefinition } from '../lambda/adapters/dynamodb-lease-store.js';
import { encodeRefresherEnvironment } from '../lambda/contract/refresher-environment.js';
import type { EngineSettings } from '../lambda/contract/settings.js';

/** What the demo's "stack" holds: the values the CDK stack would output. */
export interface DemoStack {
  stackName: string;
  connectionPrefix: string;
  clientCredentialsPrefix: string;
  secretsKeyArn: string;
  refreshTokenKeyArn: string;
  leaseTableName: string;
  /** The token-endpoint origins the sandbox's refresher may send to: the local authorization server's. */
  allowedTokenOrigins: string[];
}

/**
 * Creates, in the local sandbox (moto), what `npx cdk deploy` would create for the
 * refresher to work — the secrets key, the refresh-token key, the lease table (the
 * project's `leaseTableDefinition`), the client credentials secret, bound to the
 * authorization server's origin — and a CloudFormation stack whose outputs name them
 * (`AllowedTokenOrigins` included), so the operator CLI finds them exactly as in AWS.
 */
export async function provisionDemoStack(options: {
  stackName: string;
  clientId: string;
  clientSecret: string;
  /** The authorization server's origin (`http://127.0.0.1:<port>`): the one the refresher may send to. */
  tokenEndpointOrigin: string;
  /**
   * The demo's short windows: output as `VersionFloorSeconds` and
   * `SandboxRefresherEnvironment`, so an operator's CLI pointed at the demo guards alike.
   */
  settings: Partial<
    Pick<
      EngineSettings,
      | 'refreshWindowMs'
      | 'minIntervalMs'
      | 'versionFloorMs'
      | 'failureBackoffBaseMs'
      | 'failureBackoffCapMs'
      | 'requestTimeoutMs'
    >
  >;
}): Promise<DemoStack> {
  const kms = new KMSClient({});
  const key = async (description: string) => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: description }));
    if (!KeyMetadata?.Arn) throw new Error('CreateKey returned no key');
    return KeyMetadata.Arn;
  };
  const stack: DemoStack = {
    stackName: options.stackName,
    connectionPrefix: 'token-refresher/',
    clientCredentialsPrefix: 'token-refresher-clients/',
    secretsKeyArn: await key('token-refresher demo: secrets key'),
    refreshTokenKeyArn: await key('token-refresher demo: refresh-token key'),
    leaseTableName: 'token-refresher-demo-leases',
    allowedTokenOrigins: [options.tokenEndpointOrigin],
  };
  await new DynamoDBClient({}).send(new CreateTableCommand(leaseTableDefinition(stack.leaseTableName)));
  await new SecretsManagerClient({}).send(
    new CreateSecretCommand({
      Name: `${stack.clientCredentialsPrefix}demo`,
      KmsKeyId: stack.secretsKeyArn,
      SecretString: JSON.stringify({
        client_id: options.clientId,
        client_secret: options.clientSecret,
        token_endpoint_origins: stack.allowedTokenOrigins,
      }),
    }),
  );
  const outputs: Record<string, string> = {
    FunctionName: `${stack.stackName}-Refresher`,
    AlarmTopicArn: `arn:aws:sns:us-east-1:123456789012:${stack.stackName}-alarms`,
    SecretsKeyArn: stack.secretsKeyArn,
    RefreshTokenKeyArn: stack.refreshTokenKeyArn,
    LeaseTableName: stack.leaseTableName,
    ConnectionPrefix: stack.connectionPrefix,
    ClientCredentialsPrefix: stack.clientCredentialsPrefix,
    DashboardName: `${stack.stackName}-us-east-1`,
    AllowedTokenOrigins: stack.allowedTokenOrigins.join(','),
    ...(options.settings.versionFloorMs !== undefined
      ? { VersionFloorSeconds: String(options.settings.versionFloorMs / 1000) }
      : {}),
    SandboxRefresherEnvironment: JSON.stringify(
      encodeRefresherEnvironment({
        prefix: stack.connectionPrefix,
        leaseTableName: stack.leaseTableName,
        refreshTokenKeyId: stack.refreshTokenKeyArn,
        settings: options.settings,
      }),
    ),
  };
  await new CloudFormationClient({}).send(
    new CreateStackCommand({
      StackName: stack.stackName,
      TemplateBody: JSON.stringify({
        AWSTemplateFormatVersion: '2010-09-09',
        Description: 'token-refresher demo: the outputs the operator CLI reads',
        Resources: { Placeholder: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
        Outputs: Object.fromEntries(Object.entries(outputs).map(([key, value]) => [key, { Value: value }])),
      }),
    }),
  );
  return stack;
}
