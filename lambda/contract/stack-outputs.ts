/**
 * The outputs of the deployable stack. The stack writes them (lib/token-refresher-stack.ts);
 * the operator CLI reads them (cli/deployment.ts); docs/deploy.md lists them.
 */
export const StackOutput = {
  FunctionName: 'The refresher function (aws lambda invoke ...)',
  OnDemandFunctionName:
    'The function consumers invoke after a 401 (TOKEN_REFRESHER_FUNCTION for the client library)',
  AlarmTopicArn: 'SNS topic every alarm notifies',
  SecretsKeyArn: 'KMS key of the connection secrets (KmsKeyId for new ones)',
  RefreshTokenKeyArn: 'KMS key of the refresh tokens (refresher only)',
  LeaseTableName: 'DynamoDB lease table (leases, spent-token markers and rescued token sets)',
  ConnectionPrefix: 'Secret-name prefix of the connection records',
  ClientCredentialsPrefix: 'Secret-name prefix of the client-credential secrets',
  DashboardName: 'CloudWatch dashboard',
  DeadLetterQueueUrl: 'Dead-letter queue of the schedule and function',
  ScheduleName: 'EventBridge Scheduler schedule (default group)',
  AllowedTokenOrigins:
    'Token-endpoint origins the refresher may send refresh tokens and client secrets to (comma-separated)',
  VersionFloorSeconds:
    'The hard floor between two refreshes of one connection, in seconds (connect warns about shorter tokens)',
} as const;

export type StackOutputKey = keyof typeof StackOutput;

/**
 * Outputs only a sandbox stack has (the demo's, in moto: demo/provision.ts); the deployable
 * stack never writes them.
 */
export const SandboxStackOutput = {
  SandboxRefresherEnvironment:
    "The in-process refresher's environment as JSON, so the CLI's refresher keeps the sandbox's short windows",
} as const;

export type SandboxStackOutputKey = keyof typeof SandboxStackOutput;
