import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { HINT_TAG_KEY, METRICS_NAMESPACE, SERVICE_NAME } from '../lambda/contract/names.js';
import { encodeRefresherEnvironment } from '../lambda/contract/refresher-environment.js';
import type { DeadLetterQueue } from './dead-letter-queue.js';
import { nagFinding, secretArn, viaService } from './policy.js';
import type { ResolvedSettings } from './settings.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The refresher functions' role. Both functions share it: the refresh-token key trusts
 * this role alone. Inline policies only ({@link grantRefresherPermissions}).
 */
export class RefresherRole extends iam.Role {
  constructor(scope: Construct, id: string) {
    super(scope, id, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'token-refresher: the refresher function (inline policies only)',
    });
  }

  /** The role's inline policy: every statement written out, no managed policy. */
  public grantRefresherPermissions(resources: {
    /** The scheduled function's log group. */
    readonly logGroup: logs.ILogGroup;
    /** ARN pattern of every connection's secret. */
    readonly connectionSecrets: string;
    /** Secret-name prefix of the client-credential secrets. */
    readonly clientCredentialsPrefix: string;
    readonly secretsKey: kms.IKey;
    readonly refreshTokenKey: kms.IKey;
    readonly leaseTable: dynamodb.ITable;
    readonly deadLetterQueue: DeadLetterQueue;
  }): void {
    const { connectionSecrets } = resources;
    const clientSecrets = secretArn(this, `${resources.clientCredentialsPrefix}*`);
    const statements = [
      new iam.PolicyStatement({
        sid: 'WriteOwnLogGroup',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        // The log group's Arn attribute ends in ":*", which covers its log streams.
        resources: [resources.logGroup.logGroupArn],
      }),
      new iam.PolicyStatement({
        sid: 'DiscoverConnections',
        // ListSecrets has no resource-level permissions; it returns names and tags, no values.
        actions: ['secretsmanager:ListSecrets'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'ReadAndCommitConnectionRecords',
        actions: [
          'secretsmanager:GetSecretValue',
          'secretsmanager:PutSecretValue',
          'secretsmanager:DescribeSecret',
        ],
        resources: [connectionSecrets],
      }),
      new iam.PolicyStatement({
        sid: 'WriteTheSchedulingHintTagOnly',
        actions: ['secretsmanager:TagResource'],
        resources: [connectionSecrets],
        conditions: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [HINT_TAG_KEY] } },
      }),
      new iam.PolicyStatement({
        sid: 'ReadClientCredentials',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [clientSecrets],
      }),
      new iam.PolicyStatement({
        sid: 'SecretsKeyThroughSecretsManager',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [resources.secretsKey.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': viaService('secretsmanager') },
          StringLike: { 'kms:EncryptionContext:SecretARN': [connectionSecrets, clientSecrets] },
        },
      }),
      new iam.PolicyStatement({
        sid: 'SecretsKeyThroughDynamoDbForTheLeaseTable',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [resources.secretsKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': viaService('dynamodb') } },
      }),
      new iam.PolicyStatement({
        sid: 'Leases',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [resources.leaseTable.tableArn],
      }),
      new iam.PolicyStatement({
        sid: 'RefreshTokens',
        actions: ['kms:Encrypt', 'kms:Decrypt'],
        resources: [resources.refreshTokenKey.keyArn],
      }),
      // The asynchronous invocation's on-failure destination is sent with the function's role.
      new iam.PolicyStatement({
        sid: 'SendFailedInvocationsToDeadLetterQueue',
        actions: ['sqs:SendMessage'],
        resources: [resources.deadLetterQueue.queueArn],
      }),
    ];
    for (const statement of statements) this.addToPolicy(statement);
    resources.deadLetterQueue.grantEncryptMessages(this);

    const policy = this.node.tryFindChild('DefaultPolicy');
    if (policy === undefined) throw new Error('TokenRefresher: the role has no inline policy');
    Validations.of(policy).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'secretsmanager:ListSecrets has no resource-level permissions (the IAM service authorization ' +
          'reference lists no resource type for it), so it needs Resource "*". It returns secret names and ' +
          'tags, never values; the refresher uses it to discover connections added after deployment.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${nagFinding(this, connectionSecrets)}]`,
        reason:
          'The secret-name prefix wildcard: connections are created at run time (by operators, after ' +
          'deployment), so the refresher must reach every secret under the connection prefix, and only those.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${nagFinding(this, clientSecrets)}]`,
        reason:
          'The secret-name prefix wildcard for client credentials, read-only (GetSecretValue): records name ' +
          'their client-credential secret, which operators create at run time under this prefix.',
      },
    );
  }
}

/** Properties of a {@link RefresherLogGroup}. */
export interface RefresherLogGroupProps {
  readonly retention: logs.RetentionDays;
}

/**
 * A refresher function's log group. Retained: the last-resort rescue of a token set that
 * could not be committed is a log entry (ciphertext under the refresh-token key), needed
 * to restore it by hand.
 */
export class RefresherLogGroup extends logs.LogGroup {
  constructor(scope: Construct, id: string, props: RefresherLogGroupProps) {
    super(scope, id, { retention: props.retention, removalPolicy: RemovalPolicy.RETAIN });
  }
}

/** Properties of a {@link RefresherFunction}. */
export interface RefresherFunctionProps {
  readonly description: string;
  readonly settings: ResolvedSettings;
  readonly timeout: Duration;
  readonly role: iam.IRole;
  readonly logGroup: logs.ILogGroup;
  readonly leaseTable: dynamodb.ITable;
  readonly refreshTokenKey: kms.IKey;
  /** @default - unreserved */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Serve only consumers' on-demand requests (no runs, no force, no connect).
   * @default false
   */
  readonly onDemandOnly?: boolean;
}

/**
 * The refresher (lambda/refresher/handler.ts), bundled by the local esbuild as ESM for
 * Node.js 24 on arm64, configured through the environment that
 * `encodeRefresherEnvironment` writes from the settings.
 */
export class RefresherFunction extends nodejs.NodejsFunction {
  constructor(scope: Construct, id: string, props: RefresherFunctionProps) {
    const { settings } = props;
    super(scope, id, {
      description: props.description,
      entry: join(REPO_ROOT, 'lambda', 'refresher', 'handler.ts'),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: settings.memorySize,
      timeout: props.timeout,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      role: props.role,
      logGroup: props.logGroup,
      environment: {
        ...encodeRefresherEnvironment({
          prefix: settings.connectionPrefix,
          leaseTableName: props.leaseTable.tableName,
          refreshTokenKeyId: props.refreshTokenKey.keyArn,
          onDemandOnly: props.onDemandOnly,
          settings: {
            refreshWindowMs: settings.refreshWindow.toMilliseconds(),
            minIntervalMs: settings.minInterval.toMilliseconds(),
            versionFloorMs: settings.versionFloor.toMilliseconds(),
            maxAgeMs: settings.maxAge.toMilliseconds(),
            // Pinned at deploy time; ALLOW_INSECURE_LOOPBACK (tests only) is never set here.
            allowedTokenOrigins: settings.allowedTokenOrigins,
          },
        }),
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        // Bundled by the local esbuild (a devDependency): no Docker.
        forceDockerBundling: false,
        format: nodejs.OutputFormat.ESM,
        target: 'node24',
        platform: 'node',
        mainFields: ['module', 'main'],
        // ESM output: some bundled CommonJS dependencies still call require() for Node
        // built-ins, which needs a require in module scope.
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        minify: true,
        // Source maps (without sources) keep stack traces of `internal` failures readable
        // with --enable-source-maps. The map (~1.2 MB) ships next to the bundle and costs a
        // little cold-start time once per 5-minute container; readable traces are worth it
        // for a job nobody watches live. No source code is shipped twice.
        sourceMap: true,
        sourcesContent: false,
        // The AWS SDK is bundled (pinned by package-lock.json) instead of using the runtime's copy.
        externalModules: [],
        logLevel: nodejs.LogLevel.ERROR,
      },
    });
  }
}
