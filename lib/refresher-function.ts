import { dirname } from 'node:path';
import { AssetHashType, Aws, type Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { connectionSecretName } from '../lambda/contract/names.js';
import { encodeRefresherEnvironment } from '../lambda/contract/refresher-environment.js';
import type { DeadLetterQueue } from './dead-letter-queue.js';
import {
  bundleRefresher,
  HANDLER_EXPORT,
  HANDLER_FILE,
  locateRefresherCode,
  type RefresherCode,
} from './handler-code.js';
import { nagFinding, secretArn, viaService } from './policy.js';
import type { ResolvedSettings } from './settings.js';

/** Which refresher function a role serves: each has its own role with what its path needs. */
export type RefresherPath = 'scheduled' | 'onDemand';

/** What a refresher role's policy names. */
export interface RefresherRoleResources {
  /** The function's own log group. */
  readonly logGroup: logs.ILogGroup;
  /** Secret-name prefix of the connection records. */
  readonly connectionPrefix: string;
  /** Secret-name prefix of the client-credential secrets. */
  readonly clientCredentialsPrefix: string;
  readonly secretsKey: kms.IKey;
  readonly leaseTable: dynamodb.ITable;
  /** The scheduled function's failed asynchronous invocations go here (scheduled path only). */
  readonly deadLetterQueue?: DeadLetterQueue;
}

/**
 * A refresher function's own role (inline policies only). The scheduled function's role
 * serves runs, operator runs, connect and import; the on-demand function's role serves
 * one consumer-requested refresh: it cannot list connections, has no dead-letter queue,
 * and holds nothing a connect or import needs beyond a refresh (no CreateSecret, which
 * neither role has: the CLI creates connection secrets with the operator's credentials).
 * Neither role can use the refresh-token key until {@link bindRefreshTokenKey} allows it
 * from its own function.
 */
export class RefresherRole extends iam.Role {
  constructor(
    scope: Construct,
    id: string,
    private readonly path: RefresherPath,
  ) {
    super(scope, id, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description:
        path === 'scheduled'
          ? 'token-refresher: the scheduled refresher function (inline policies only)'
          : 'token-refresher: the on-demand refresher function consumers invoke (inline policies only)',
    });
  }

  /** The role's inline policy: every statement written out, no managed policy. */
  public grantRefresherPermissions(resources: RefresherRoleResources): void {
    const scheduled = this.path === 'scheduled';
    const connectionSecrets = secretArn(this, connectionSecretName(resources.connectionPrefix, '*'));
    const clientSecrets = secretArn(this, `${resources.clientCredentialsPrefix}*`);
    const statements = [
      new iam.PolicyStatement({
        sid: 'WriteOwnLogGroup',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        // The log group's Arn attribute ends in ":*", which covers its log streams.
        resources: [resources.logGroup.logGroupArn],
      }),
      ...(scheduled
        ? [
            new iam.PolicyStatement({
              sid: 'DiscoverConnections',
              // ListSecrets has no resource-level permissions; it returns names and tags, no values.
              actions: ['secretsmanager:ListSecrets'],
              resources: ['*'],
            }),
          ]
        : []),
      new iam.PolicyStatement({
        sid: 'ReadAndCommitConnectionRecords',
        actions: scheduled
          ? [
              'secretsmanager:GetSecretValue',
              'secretsmanager:PutSecretValue',
              'secretsmanager:DescribeSecret',
            ]
          : ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
        resources: [connectionSecrets],
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
      // DynamoDB calls KMS for the caller with the encryption context
      // {aws:dynamodb:tableName, aws:dynamodb:subscriberId} (DynamoDB developer guide,
      // "Encryption at rest: how it works", DynamoDB encryption context): the key may be
      // used only through DynamoDB, only for the lease table, only in this account.
      new iam.PolicyStatement({
        sid: 'SecretsKeyThroughDynamoDbForTheLeaseTable',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [resources.secretsKey.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': viaService('dynamodb'),
            'kms:EncryptionContext:aws:dynamodb:tableName': resources.leaseTable.tableName,
            'kms:EncryptionContext:aws:dynamodb:subscriberId': Aws.ACCOUNT_ID,
          },
        },
      }),
      // DescribeKey carries no encryption context: its own statement, still only through DynamoDB.
      new iam.PolicyStatement({
        sid: 'DescribeSecretsKeyThroughDynamoDb',
        actions: ['kms:DescribeKey'],
        resources: [resources.secretsKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': viaService('dynamodb') } },
      }),
      new iam.PolicyStatement({
        sid: 'Leases',
        // Scan: a scheduled run reads the scheduling hints from the lease items (core/hint.ts).
        actions: scheduled
          ? ['dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:UpdateItem']
          : ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [resources.leaseTable.tableArn],
      }),
    ];
    if (scheduled) {
      if (resources.deadLetterQueue === undefined) {
        throw new Error('TokenRefresher: the scheduled role needs the dead-letter queue');
      }
      // The asynchronous invocation's on-failure destination is sent with the function's role.
      statements.push(
        new iam.PolicyStatement({
          sid: 'SendFailedInvocationsToDeadLetterQueue',
          actions: ['sqs:SendMessage'],
          resources: [resources.deadLetterQueue.queueArn],
        }),
      );
    }
    for (const statement of statements) this.addToPolicy(statement);
    if (scheduled) resources.deadLetterQueue?.grantEncryptMessages(this);

    const policy = this.node.tryFindChild('DefaultPolicy');
    if (policy === undefined) throw new Error('TokenRefresher: the role has no inline policy');
    Validations.of(policy).acknowledge(
      ...(scheduled
        ? [
            {
              id: 'AwsSolutions-IAM5[Resource::*]',
              reason:
                'secretsmanager:ListSecrets has no resource-level permissions (the IAM service authorization ' +
                'reference lists no resource type for it), so it needs Resource "*". It returns secret names and ' +
                'tags, never values; the refresher uses it to discover connections added after deployment.',
            },
          ]
        : []),
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

/** The encryption-context keys every refresh-token-key ciphertext carries (lambda/core/record.ts). */
const SECRET_CONTEXT = 'kms:EncryptionContext:token-refresher:secret';
const PURPOSE_CONTEXT = 'kms:EncryptionContext:token-refresher:purpose';
/** The purposes the refresher encrypts under the refresh-token key: refresh tokens, and rescued access tokens. */
export const REFRESH_TOKEN_KEY_PURPOSES = ['refresh-token', 'rescued-access-token'] as const;

/** Properties of {@link bindRefreshTokenKey}. */
export interface RefreshTokenKeyBinding {
  readonly role: iam.IRole;
  /** The one function whose code may use the key with this role's credentials. */
  readonly function: lambda.IFunction;
  readonly refreshTokenKey: kms.IKey;
  /** Secret-name prefix of the connection records (the `token-refresher:secret` context). */
  readonly connectionPrefix: string;
}

/**
 * Binds a refresher role's use of the refresh-token key to its own function: Encrypt and
 * Decrypt only when `lambda:SourceFunctionArn` is that function's ARN and the encryption
 * context names a connection record, and an explicit deny of every cryptographic use of
 * the key with this role's credentials anywhere else (another function the role was passed
 * to, or the credentials taken out of the function: both carry another or no source
 * function ARN).
 *
 * Lambda puts `lambda:SourceFunctionArn` in the request context of every AWS call made
 * with the execution role's credentials from inside the function's execution environment;
 * it may be used in identity-based policies and SCPs but **not in resource-based
 * policies** (AWS Lambda developer guide, "Using source function ARN to control function
 * access behavior", permissions-source-function-arn.html). So it is here, in the role's
 * own policy, not in the key policy, whose deny can name roles only (aws:PrincipalArn).
 *
 * A separate policy (not the role's default policy, on which the function depends): it
 * names the function's ARN, and the default policy cannot without a dependency cycle.
 */
export function bindRefreshTokenKey(
  scope: Construct,
  id: string,
  binding: RefreshTokenKeyBinding,
): iam.Policy {
  const key = binding.refreshTokenKey.keyArn;
  const source = { 'lambda:SourceFunctionArn': binding.function.functionArn };
  return new iam.Policy(scope, id, {
    roles: [binding.role],
    statements: [
      new iam.PolicyStatement({
        sid: 'RefreshTokensFromTheOwnFunctionOnly',
        actions: ['kms:Encrypt', 'kms:Decrypt'],
        resources: [key],
        conditions: {
          ArnEquals: source,
          StringEquals: { [PURPOSE_CONTEXT]: [...REFRESH_TOKEN_KEY_PURPOSES] },
          StringLike: { [SECRET_CONTEXT]: connectionSecretName(binding.connectionPrefix, '*') },
        },
      }),
      new iam.PolicyStatement({
        sid: 'DenyTheRefreshTokenKeyOutsideTheOwnFunction',
        effect: iam.Effect.DENY,
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'],
        resources: [key],
        conditions: { ArnNotEquals: source },
      }),
    ],
  });
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
  /** @default - the pre-bundled asset, or the source in this repository (handler-code.ts) */
  readonly code?: RefresherCode;
}

/**
 * The refresher (lambda/refresher/handler.ts) as an ESM bundle for Node.js 24 on arm64,
 * configured through the environment that `encodeRefresherEnvironment` writes from the
 * settings. Its code is the package's pre-bundled asset (`lambda.Code.fromAsset`), or, in
 * this repository, the source bundled at synth time with the local esbuild and the same
 * options (handler-code.ts). Either way the template's function is the same but for the
 * asset hash.
 */
export function createRefresherFunction(
  scope: Construct,
  id: string,
  props: RefresherFunctionProps,
): lambda.Function {
  const { settings } = props;
  const options = {
    description: props.description,
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
          reauthDueWithinMs: settings.reauthDueWithin.toMilliseconds(),
          nearExpiryMs: settings.nearExpiryThreshold.toMilliseconds(),
          // Pinned at deploy time; ALLOW_INSECURE_LOOPBACK (tests only) is never set here.
          allowedTokenOrigins: settings.allowedTokenOrigins,
        },
      }),
      // Read by the refresher's JSON logger (lambda/adapters/json-logger.ts), as Powertools did.
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    },
  } satisfies Partial<lambda.FunctionProps>;

  return new lambda.Function(scope, id, {
    ...options,
    code: refresherAsset(props.code ?? locateRefresherCode()),
    handler: `${HANDLER_FILE.replace(/\.mjs$/, '')}.${HANDLER_EXPORT}`,
  });
}

/**
 * The function's asset: the pre-bundled directory as it is, or the source bundled at synth
 * time by the local esbuild (no Docker: the image is only named because CDK requires one).
 * Hashed by its output, as NodejsFunction hashes its bundles: an edit anywhere in what the
 * handler imports, or in the lockfile, changes the asset.
 */
function refresherAsset(code: RefresherCode): lambda.Code {
  if (code.kind === 'prebundled') return lambda.Code.fromAsset(code.directory);
  return lambda.Code.fromAsset(dirname(code.entry), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: lambda.Runtime.NODEJS_24_X.bundlingImage,
      local: {
        tryBundle(outputDir) {
          bundleRefresher(outputDir, code.entry);
          return true;
        },
      },
    },
  });
}
