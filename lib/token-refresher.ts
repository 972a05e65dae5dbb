import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Annotations,
  ArnFormat,
  Aws,
  Duration,
  RemovalPolicy,
  SecretValue,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { HINT_TAG_KEY, LEASE_TABLE_KEY, METRICS_NAMESPACE, SERVICE_NAME } from '../lambda/contract/names.js';
import { encodeRefresherEnvironment } from '../lambda/contract/refresher-environment.js';
import { placeholderRecord } from '../lambda/core/record.js';
import { type AlarmId, createAlarms } from './alarms.js';
import { createDashboard } from './dashboard.js';
import {
  type ResolvedSettings,
  resolveSettings,
  SECRET_VERSION_QUOTA,
  type TokenRefresherProps,
  worstCaseVersionsPerDay,
} from './settings.js';

export type { TokenRefresherProps } from './settings.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Lambda destination that sends failed asynchronous invocations to an SQS queue, with
 * permissions written out (the stock `SqsDestination` grants `kms:GenerateDataKey*` and
 * `kms:ReEncrypt*` wildcards on the queue's key).
 */
class QueueFailureDestination implements lambda.IDestination {
  constructor(private readonly queue: sqs.IQueue) {}

  bind(_scope: Construct, _fn: lambda.IFunction): lambda.DestinationConfig {
    return { destination: this.queue.queueArn };
  }
}

/**
 * The token refresher: a scheduled Lambda that refreshes every OAuth 2.0 connection's
 * tokens before they expire and commits them to KMS-encrypted Secrets Manager secrets,
 * with the keys, lease table, dead-letter queue, alarms, alarm topic and dashboard it needs.
 *
 * Grant a consumer read access to a connection's access token with
 * {@link TokenRefresher.grantReadAccessToken}; nothing a consumer is granted can decrypt
 * a refresh token.
 */
export class TokenRefresher extends Construct {
  /** Secrets Manager encrypts the connection records (and the lease table) with this key. */
  public readonly secretsKey: kms.Key;
  /** Encrypts the refresh token inside each record. Only the refresher's role may use it. */
  public readonly refreshTokenKey: kms.Key;
  /** Encrypts the alarm topic and the dead-letter queue (operational data, no tokens). */
  public readonly opsKey: kms.Key;
  /** The refresher function. */
  public readonly function: nodejs.NodejsFunction;
  /** The function consumers invoke for an on-demand refresh (see {@link grantRequestRefresh}). */
  public readonly onDemandFunction: nodejs.NodejsFunction;
  public readonly onDemandLogGroup: logs.LogGroup;
  /** The refresher function's own role (inline policies only). */
  public readonly role: iam.Role;
  /** The function's log group. */
  public readonly logGroup: logs.LogGroup;
  /** Leases, "about to send" markers and rescued token sets, one item per connection. */
  public readonly leaseTable: dynamodb.Table;
  /** Failed schedule deliveries and failed asynchronous invocations. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The EventBridge Scheduler schedule that runs the refresher. */
  public readonly schedule: scheduler.Schedule;
  /** Every alarm notifies this topic. */
  public readonly alarmTopic: sns.Topic;
  /** The alarms, by name (see docs/runbook.md). */
  public readonly alarms: Readonly<Record<AlarmId, cloudwatch.Alarm>>;
  /** The operations dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;
  /** Pre-created connection secrets, by connection name. */
  public readonly connectionSecrets: Readonly<Record<string, secretsmanager.Secret>>;
  /** The settings in effect (defaults applied). */
  public readonly settings: ResolvedSettings;
  /** Secret-name prefix of the connection records. */
  public readonly connectionPrefix: string;
  /** Secret-name prefix of the client-credential secrets. */
  public readonly clientCredentialsPrefix: string;

  constructor(scope: Construct, id: string, props: TokenRefresherProps = {}) {
    super(scope, id);
    const settings = resolveSettings(props);
    this.settings = settings;
    this.connectionPrefix = settings.connectionPrefix;
    this.clientCredentialsPrefix = settings.clientCredentialsPrefix;
    const stack = Stack.of(this);

    if (worstCaseVersionsPerDay(settings.minInterval) > SECRET_VERSION_QUOTA) {
      Annotations.of(this).addWarningV2(
        'token-refresher:minIntervalVersionQuota',
        `minInterval ${settings.minInterval.toHumanString()} allows ${worstCaseVersionsPerDay(settings.minInterval)} ` +
          `versions per connection per day; Secrets Manager keeps about ${SECRET_VERSION_QUOTA} and deletes none younger ` +
          'than 24 h, so a refresh loop could exhaust the quota. Use at least 15 minutes.',
      );
    }

    // ----- Keys -------------------------------------------------------------------------
    // Three keys, three audiences. The secrets key protects what consumers may read (the
    // access token); the refresh-token key protects what only the refresher may read. The
    // ops key protects operational data (alarm notifications, dead-lettered events) that
    // AWS services must be able to write: putting those service principals on either
    // token key would widen who can use a key that guards tokens.
    this.secretsKey = new kms.Key(this, 'SecretsKey', {
      description: `token-refresher (${stack.stackName}): Secrets Manager encryption of connection records and the lease table`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.role = new iam.Role(this, 'FunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'token-refresher: the refresher function (inline policies only)',
    });

    this.refreshTokenKey = new kms.Key(this, 'RefreshTokenKey', {
      description: `token-refresher (${stack.stackName}): refresh tokens inside connection records; only the refresher may use it`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.configureRefreshTokenKeyPolicy(settings);

    this.opsKey = new kms.Key(this, 'OpsKey', {
      description: `token-refresher (${stack.stackName}): alarm topic and dead-letter queue`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch alarms publish to the encrypted topic as the CloudWatch service.
    this.opsKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublishToTheEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );

    // ----- Storage ----------------------------------------------------------------------
    this.leaseTable = new dynamodb.Table(this, 'LeaseTable', {
      partitionKey: { name: LEASE_TABLE_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.secretsKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.opsKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue: of the EventBridge Scheduler schedule and of the ' +
        "function's failed asynchronous invocations. Nothing consumes it automatically; the " +
        'DeadLetterQueueNotEmpty alarm pages an operator, so a dead-letter queue behind it would never be read.',
    });

    const connectionSecrets: Record<string, secretsmanager.Secret> = {};
    for (const name of settings.connections) {
      const secret = new secretsmanager.Secret(this, `Connection-${name}`, {
        secretName: `${settings.connectionPrefix}${name}`,
        description: `token-refresher connection "${name}" (record written by the refresher; do not edit by hand)`,
        // Safe as plain text: the placeholder holds no token or secret, only the connection
        // name and status `reauth_required`. CloudFormation writes it once, at creation;
        // the refresher writes every later version. It must stay byte-stable (see the
        // placeholder test): a changed value would make the next deploy overwrite the
        // live record.
        secretStringValue: SecretValue.unsafePlainText(JSON.stringify(placeholderRecord(name))),
        encryptionKey: this.secretsKey,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The token refresher itself rotates this secret: every access-token refresh commits a new version ' +
          '(AWSCURRENT/AWSPREVIOUS). A Secrets Manager rotation schedule would race it and could replay a ' +
          'single-use refresh token.',
      });
      connectionSecrets[name] = secret;
    }
    this.connectionSecrets = connectionSecrets;

    // ----- Function ---------------------------------------------------------------------
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: settings.logRetention,
      // Retained: the last-resort rescue of a token set that could not be committed is a
      // log entry (ciphertext under the refresh-token key), needed to restore it by hand.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.function = this.refresherFunction('Function', settings, {
      description: 'token-refresher: refreshes OAuth 2.0 connections before their access tokens expire',
      timeout: settings.timeout,
      // One run at a time makes overlap rare (the lease makes it harmless).
      reservedConcurrentExecutions: 1,
      logGroup: this.logGroup,
    });
    this.onDemandLogGroup = new logs.LogGroup(this, 'OnDemandLogGroup', {
      retention: settings.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Consumers invoke this one after a 401: on-demand requests only, never force or runs.
    // Same role (the refresh-token key trusts only it); single flight comes from the lease.
    this.onDemandFunction = this.refresherFunction('OnDemandFunction', settings, {
      description: 'token-refresher: on-demand refresh of one connection after a consumer saw a 401',
      timeout: Duration.seconds(30),
      logGroup: this.onDemandLogGroup,
      onDemandOnly: true,
    });
    this.function.configureAsyncInvoke({
      // The schedule is the retry: a failed run is followed by the next scheduled one, so a
      // retry would only overlap it. The failed event goes to the dead-letter queue.
      retryAttempts: 0,
      maxEventAge: settings.schedule,
      onFailure: new QueueFailureDestination(this.deadLetterQueue),
    });
    this.grantRefresherPermissions(settings);

    // ----- Schedule ---------------------------------------------------------------------
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      description: 'token-refresher: EventBridge Scheduler invokes the refresher',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': Aws.ACCOUNT_ID,
            'aws:SourceArn': stack.formatArn({
              service: 'scheduler',
              resource: 'schedule-group',
              resourceName: 'default',
            }),
          },
        },
      }),
    });
    // LambdaInvoke grants sqs:SendMessage on the dead-letter queue; the queue's key is ours to grant.
    this.allowEncryptDeadLetters(schedulerRole);
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `token-refresher: run every ${settings.schedule.toHumanString()}`,
      schedule: scheduler.ScheduleExpression.rate(settings.schedule),
      target: new schedulerTargets.LambdaInvoke(this.function, {
        role: schedulerRole,
        input: scheduler.ScheduleTargetInput.fromObject({ action: 'run' }),
        retryAttempts: 2,
        // A delivery older than this is superseded by the next scheduled run.
        maxEventAge: Duration.seconds(Math.max(60, settings.schedule.toSeconds() - 60)),
        deadLetterQueue: this.deadLetterQueue,
      }),
    });
    Validations.of(schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${this.nagFinding(`${this.function.functionArn}:*`)}]`,
      reason:
        "Added by the Scheduler LambdaInvoke target (Function.grantInvoke): the refresher function's own " +
        'qualified ARNs (versions and aliases of this one function). It grants nothing on any other resource.',
    });

    // ----- Alarms and dashboard ---------------------------------------------------------
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'token-refresher alarms',
      masterKey: this.opsKey,
      enforceSSL: true,
    });
    const alarmNamePrefix = props.alarmNamePrefix ?? `${stack.stackName}-`;
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowThisStacksAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: `${alarmNamePrefix}*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        },
      }),
    );
    if (settings.alarmEmail !== undefined) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(settings.alarmEmail));
    }

    this.alarms = createAlarms(this, {
      alarmNamePrefix,
      serviceName: SERVICE_NAME,
      settings,
      function: this.function,
      deadLetterQueue: this.deadLetterQueue,
      topic: this.alarmTopic,
    });
    this.dashboard = createDashboard(this, {
      dashboardName: props.dashboardName ?? `${stack.stackName}-${stack.region}`,
      serviceName: SERVICE_NAME,
      settings,
      function: this.function,
      deadLetterQueue: this.deadLetterQueue,
      alarms: this.alarms,
    });
  }

  private refresherFunction(
    id: string,
    settings: ResolvedSettings,
    options: {
      description: string;
      timeout: Duration;
      logGroup: logs.ILogGroup;
      reservedConcurrentExecutions?: number;
      onDemandOnly?: boolean;
    },
  ): nodejs.NodejsFunction {
    return new nodejs.NodejsFunction(this, id, {
      description: options.description,
      entry: join(REPO_ROOT, 'lambda', 'refresher', 'handler.ts'),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: settings.memorySize,
      timeout: options.timeout,
      reservedConcurrentExecutions: options.reservedConcurrentExecutions,
      role: this.role,
      logGroup: options.logGroup,
      environment: {
        ...encodeRefresherEnvironment({
          prefix: settings.connectionPrefix,
          leaseTableName: this.leaseTable.tableName,
          refreshTokenKeyId: this.refreshTokenKey.keyArn,
          onDemandOnly: options.onDemandOnly,
          settings: {
            refreshWindowMs: settings.refreshWindow.toMilliseconds(),
            minIntervalMs: settings.minInterval.toMilliseconds(),
            maxAgeMs: settings.maxAge.toMilliseconds(),
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

  /**
   * Lets `grantee` (a consumer) ask for an on-demand refresh after a 401: invoke the
   * on-demand function, which refreshes only the version the consumer names, within the
   * minimum interval, and refuses `force`.
   */
  public grantRequestRefresh(grantee: iam.IGrantable): iam.Grant {
    // The unqualified ARN only (grantInvoke would add `:*`, every version and alias).
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['lambda:InvokeFunction'],
      resourceArns: [this.onDemandFunction.functionArn],
    });
  }

  /**
   * The ARN pattern of a connection's secret (Secrets Manager appends `-` and six
   * characters to the name), or of every connection's when `connection` is omitted.
   */
  public connectionSecretArnPattern(connection?: string): string {
    if (connection !== undefined && !/^[A-Za-z0-9_+=.@-]{1,128}$/.test(connection)) {
      throw new Error(
        `TokenRefresher: connection name "${connection}" must be 1 to 128 letters, digits or _ + = . @ - (no wildcards)`,
      );
    }
    const name = connection === undefined ? '*' : `${connection}-??????`;
    return this.secretArn(`${this.connectionPrefix}${name}`);
  }

  /**
   * Lets `grantee` read one connection's access token (or every connection's when
   * `connection` is omitted): `secretsmanager:GetSecretValue` on the connection's secret,
   * stage AWSCURRENT only, and `kms:Decrypt` on the secrets key only through Secrets
   * Manager and only for that secret. Nothing on the refresh-token key: a consumer can
   * read the record but never the refresh token inside it.
   *
   * Consumers must pass `VersionStage: "AWSCURRENT"` (see docs/connection-record.md).
   */
  public grantReadAccessToken(grantee: iam.IGrantable, connection?: string): iam.Grant {
    const secretArn = this.connectionSecretArnPattern(connection);
    const readSecret = iam.Grant.addToPrincipal({
      grantee,
      actions: ['secretsmanager:GetSecretValue'],
      resourceArns: [secretArn],
      conditions: { 'ForAnyValue:StringEquals': { 'secretsmanager:VersionStage': 'AWSCURRENT' } },
    });
    const decryptViaSecretsManager = iam.Grant.addToPrincipal({
      grantee,
      actions: ['kms:Decrypt'],
      resourceArns: [this.secretsKey.keyArn],
      conditions: {
        StringEquals: { 'kms:ViaService': this.viaService('secretsmanager') },
        StringLike: { 'kms:EncryptionContext:SecretARN': secretArn },
      },
    });
    return readSecret.combine(decryptViaSecretsManager);
  }

  private secretArn(namePattern: string): string {
    return Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: namePattern,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /**
   * How cdk-nag names a resource in a finding id: the resolved CloudFormation value,
   * flattened (`<Logical.Arn>`, `<AWS::Region>`), as its flattenCfnReference does.
   */
  private nagFinding(value: string): string {
    const visit = (node: unknown): string => {
      if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
      if (typeof node === 'object' && node !== null) {
        const intrinsic = node as Record<string, unknown>;
        if (Array.isArray(intrinsic['Fn::Join'])) {
          const [delimiter, items] = intrinsic['Fn::Join'] as [string, unknown[]];
          return items.map(visit).join(delimiter);
        }
        if (Array.isArray(intrinsic['Fn::GetAtt'])) {
          const [resource, attribute] = intrinsic['Fn::GetAtt'] as [unknown, unknown];
          return `<${visit(resource)}.${visit(attribute)}>`;
        }
        if (intrinsic.Ref !== undefined) return `<${visit(intrinsic.Ref)}>`;
      }
      return JSON.stringify(node);
    };
    return visit(Stack.of(this).resolve(value));
  }

  private viaService(service: string): string {
    return `${service}.${Aws.REGION}.amazonaws.com`;
  }

  /**
   * The refresh-token key's policy. The account keeps administrative access (so the key
   * stays manageable and IAM policies apply), the refresher's role is allowed to encrypt
   * and decrypt, and an explicit deny stops every other principal — an administrator's
   * IAM policy included — from any cryptographic use of the key.
   */
  private configureRefreshTokenKeyPolicy(settings: ResolvedSettings): void {
    const users = [this.role.roleArn, ...settings.refreshTokenKeyOperatorRoleArns];
    // Principal "*" narrowed by aws:PrincipalArn rather than the role as principal: KMS
    // validates principals when the policy is set, which can fail for a role created
    // seconds earlier; the condition has the same meaning without that race.
    this.refreshTokenKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowTheRefresherToEncryptAndDecryptRefreshTokens',
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Encrypt', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { ArnEquals: { 'aws:PrincipalArn': users } },
      }),
    );
    this.refreshTokenKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyEveryoneElseAnyCryptographicUse',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': users } },
      }),
    );
  }

  /** The refresher role's inline policy: every statement written out, no managed policy. */
  private grantRefresherPermissions(settings: ResolvedSettings): void {
    const connectionSecrets = this.connectionSecretArnPattern();
    const clientSecrets = this.secretArn(`${settings.clientCredentialsPrefix}*`);
    const statements = [
      new iam.PolicyStatement({
        sid: 'WriteOwnLogGroup',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        // The log group's Arn attribute ends in ":*", which covers its log streams.
        resources: [this.logGroup.logGroupArn],
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
        resources: [this.secretsKey.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': this.viaService('secretsmanager') },
          StringLike: { 'kms:EncryptionContext:SecretARN': [connectionSecrets, clientSecrets] },
        },
      }),
      new iam.PolicyStatement({
        sid: 'SecretsKeyThroughDynamoDbForTheLeaseTable',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [this.secretsKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': this.viaService('dynamodb') } },
      }),
      new iam.PolicyStatement({
        sid: 'Leases',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [this.leaseTable.tableArn],
      }),
      new iam.PolicyStatement({
        sid: 'RefreshTokens',
        actions: ['kms:Encrypt', 'kms:Decrypt'],
        resources: [this.refreshTokenKey.keyArn],
      }),
    ];
    for (const statement of statements) this.role.addToPolicy(statement);
    // The asynchronous invocation's on-failure destination is sent with the function's role.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'SendFailedInvocationsToDeadLetterQueue',
        actions: ['sqs:SendMessage'],
        resources: [this.deadLetterQueue.queueArn],
      }),
    );
    this.allowEncryptDeadLetters(this.role);

    const policy = this.role.node.tryFindChild('DefaultPolicy');
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
        id: `AwsSolutions-IAM5[Resource::${this.nagFinding(connectionSecrets)}]`,
        reason:
          'The secret-name prefix wildcard: connections are created at run time (by operators, after ' +
          'deployment), so the refresher must reach every secret under the connection prefix, and only those.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${this.nagFinding(clientSecrets)}]`,
        reason:
          'The secret-name prefix wildcard for client credentials, read-only (GetSecretValue): records name ' +
          'their client-credential secret, which operators create at run time under this prefix.',
      },
    );
  }

  /** SQS encrypts a message with the queue's key on behalf of the sender. */
  private allowEncryptDeadLetters(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptDeadLetters',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.opsKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': this.viaService('sqs') } },
      }),
    );
  }
}
