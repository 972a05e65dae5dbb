import { Annotations, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  CONNECTION_NAME_RULE,
  ConsumerEnvironment,
  connectionSecretName,
  isConnectionName,
  SERVICE_NAME,
} from '../lambda/contract/names.js';
import { StackOutput, type StackOutputKey } from '../lambda/contract/stack-outputs.js';
import { type AlarmId, AlarmTopic, createAlarms } from './alarms.js';
import { createDashboard } from './dashboard.js';
import { DeadLetterQueue } from './dead-letter-queue.js';
import { OpsKey, RefreshTokenKey, SecretsKey } from './keys.js';
import { secretArn, viaService } from './policy.js';
import {
  bindRefreshTokenKey,
  createRefresherFunction,
  RefresherLogGroup,
  RefresherRole,
} from './refresher-function.js';
import { RefresherSchedule, SchedulerRole } from './schedule.js';
import {
  type ResolvedSettings,
  resolveSettings,
  type TokenRefresherProps,
  versionQuotaWarnings,
} from './settings.js';
import { ConnectionSecret, LeaseTable } from './storage.js';
import { createWatchRules, type WatchRuleId } from './watch.js';

export type { TokenRefresherProps } from './settings.js';

/**
 * The token refresher: a scheduled Lambda that refreshes every OAuth 2.0 connection's
 * tokens before they expire and commits them to KMS-encrypted Secrets Manager secrets,
 * with the keys, lease table, dead-letter queue, alarms, alarm topic and dashboard it needs.
 *
 * Grant a consumer read access to a connection's access token with
 * {@link TokenRefresher.grantReadAccessToken}; nothing a consumer is granted can decrypt
 * a refresh token. Who can do what, and what shows it, is in docs/security.md.
 *
 * Every resource is a direct child of this construct (the parts are built by the
 * constructs of keys.ts, storage.ts, dead-letter-queue.ts, refresher-function.ts,
 * schedule.ts, alarms.ts and dashboard.ts), so logical IDs do not depend on how the
 * code is split: a deployed stack never replaces its keys or its table for a refactor.
 */
export class TokenRefresher extends Construct {
  /** Secrets Manager encrypts the connection records (and the lease table) with this key. */
  public readonly secretsKey: kms.Key;
  /**
   * Encrypts the refresh token inside each record. Only the refresher functions' roles
   * (each from inside its own function) and the break-glass roles may use it; see
   * RefreshTokenKey (keys.ts) for what its policy does not stop.
   */
  public readonly refreshTokenKey: kms.Key;
  /** Encrypts the alarm topic and the dead-letter queue (operational data, no tokens). */
  public readonly opsKey: OpsKey;
  /** The refresher function. */
  public readonly function: lambda.Function;
  /** The function consumers invoke for an on-demand refresh (see {@link grantRequestRefresh}). */
  public readonly onDemandFunction: lambda.Function;
  public readonly onDemandLogGroup: logs.LogGroup;
  /** The scheduled function's own role (inline policies only). */
  public readonly role: iam.Role;
  /** The on-demand function's own role: a refresh of one connection, nothing more. */
  public readonly onDemandRole: iam.Role;
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
  /** The token-store watch rules, by name (see docs/runbook.md and docs/security.md). */
  public readonly watchRules: Readonly<Partial<Record<WatchRuleId, events.CfnRule>>>;
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
  /** Role ARNs given read access (the watch rule on record reads leaves them out). */
  private readonly grantedReaderRoleArns: string[] = [];
  /** Whether this construct added the stack outputs the CLI reads. */
  private emitsStackOutputs = false;

  constructor(scope: Construct, id: string, props: TokenRefresherProps = {}) {
    super(scope, id);
    const settings = resolveSettings(props);
    this.settings = settings;
    this.connectionPrefix = settings.connectionPrefix;
    this.clientCredentialsPrefix = settings.clientCredentialsPrefix;
    const stack = Stack.of(this);

    for (const warning of versionQuotaWarnings(settings)) {
      Annotations.of(this).addWarningV2(warning.id, warning.message);
    }

    // Each id below is the source of a logical ID, and construction order is the order of
    // the template's resources: keep both when moving code around.
    this.secretsKey = new SecretsKey(this, 'SecretsKey');
    // One role per function, each with what its path needs (refresher-function.ts).
    const role = new RefresherRole(this, 'FunctionRole', 'scheduled');
    this.role = role;
    const onDemandRole = new RefresherRole(this, 'OnDemandFunctionRole', 'onDemand');
    this.onDemandRole = onDemandRole;
    this.refreshTokenKey = new RefreshTokenKey(this, 'RefreshTokenKey', {
      refresherRoles: [role, onDemandRole],
      operatorRoleArns: settings.refreshTokenKeyOperatorRoleArns,
    });
    this.opsKey = new OpsKey(this, 'OpsKey');

    this.leaseTable = new LeaseTable(this, 'LeaseTable', { encryptionKey: this.secretsKey });
    const deadLetterQueue = new DeadLetterQueue(this, 'DeadLetterQueue', { encryptionKey: this.opsKey });
    this.deadLetterQueue = deadLetterQueue;
    const connectionSecrets: Record<string, secretsmanager.Secret> = {};
    for (const name of settings.connections) {
      connectionSecrets[name] = new ConnectionSecret(this, `Connection-${name}`, {
        connection: name,
        prefix: settings.connectionPrefix,
        encryptionKey: this.secretsKey,
      });
    }
    this.connectionSecrets = connectionSecrets;

    const functionResources = {
      settings,
      leaseTable: this.leaseTable,
      refreshTokenKey: this.refreshTokenKey,
    };
    this.logGroup = new RefresherLogGroup(this, 'LogGroup', { retention: settings.logRetention });
    this.function = createRefresherFunction(this, 'Function', {
      ...functionResources,
      role,
      description: 'token-refresher: refreshes OAuth 2.0 connections before their access tokens expire',
      timeout: settings.timeout,
      // One run at a time makes overlap rare (the lease makes it harmless).
      reservedConcurrentExecutions: 1,
      logGroup: this.logGroup,
    });
    this.onDemandLogGroup = new RefresherLogGroup(this, 'OnDemandLogGroup', {
      retention: settings.logRetention,
    });
    // Consumers invoke this one after a 401: on-demand requests only, never force or runs.
    // Its own role (a refresh of one connection, nothing more); single flight comes from
    // the lease, and reserved concurrency keeps a consumer flood to a few at a time.
    this.onDemandFunction = createRefresherFunction(this, 'OnDemandFunction', {
      ...functionResources,
      role: onDemandRole,
      description: 'token-refresher: on-demand refresh of one connection after a consumer saw a 401',
      timeout: Duration.seconds(30),
      reservedConcurrentExecutions: settings.onDemandReservedConcurrency,
      logGroup: this.onDemandLogGroup,
      onDemandOnly: true,
    });
    this.function.configureAsyncInvoke({
      // The schedule is the retry: a failed run is followed by the next scheduled one, so a
      // retry would only overlap it. The failed event goes to the dead-letter queue.
      retryAttempts: 0,
      maxEventAge: settings.schedule,
      onFailure: deadLetterQueue.asFailureDestination(),
    });
    this.onDemandFunction.configureAsyncInvoke({
      // A consumer that invoked asynchronously gets no answer anyway; a retry would only
      // repeat a request the next 401 makes again. No destination: nothing to replay.
      retryAttempts: 0,
      maxEventAge: Duration.minutes(1),
    });
    const roleResources = {
      connectionPrefix: settings.connectionPrefix,
      clientCredentialsPrefix: settings.clientCredentialsPrefix,
      secretsKey: this.secretsKey,
      leaseTable: this.leaseTable,
    };
    role.grantRefresherPermissions({ ...roleResources, logGroup: this.logGroup, deadLetterQueue });
    onDemandRole.grantRefresherPermissions({ ...roleResources, logGroup: this.onDemandLogGroup });
    // Each role may use the refresh-token key only from its own function.
    bindRefreshTokenKey(this, 'FunctionRefreshTokenKeyPolicy', {
      role,
      function: this.function,
      refreshTokenKey: this.refreshTokenKey,
      connectionPrefix: settings.connectionPrefix,
    });
    bindRefreshTokenKey(this, 'OnDemandFunctionRefreshTokenKeyPolicy', {
      role: onDemandRole,
      function: this.onDemandFunction,
      refreshTokenKey: this.refreshTokenKey,
      connectionPrefix: settings.connectionPrefix,
    });

    const schedulerRole = new SchedulerRole(this, 'SchedulerRole');
    // LambdaInvoke grants sqs:SendMessage on the dead-letter queue; the queue's key is ours to grant.
    deadLetterQueue.grantEncryptMessages(schedulerRole);
    this.schedule = new RefresherSchedule(this, 'Schedule', {
      function: this.function,
      period: settings.schedule,
      role: schedulerRole,
      deadLetterQueue,
    });

    const alarmNamePrefix = props.alarmNamePrefix ?? `${stack.stackName}-`;
    this.alarmTopic = new AlarmTopic(this, 'AlarmTopic', {
      masterKey: this.opsKey,
      alarmNamePrefix,
      alarmEmail: settings.alarmEmail,
    });
    this.alarms = createAlarms(this, {
      alarmNamePrefix,
      serviceName: SERVICE_NAME,
      settings,
      function: this.function,
      onDemandFunction: this.onDemandFunction,
      deadLetterQueue,
      topic: this.alarmTopic,
    });
    this.watchRules = createWatchRules(this, {
      connectionPrefix: settings.connectionPrefix,
      refresherRoles: [role, onDemandRole],
      operatorRoleArns: settings.operatorRoleArns,
      breakGlassRoleArns: settings.refreshTokenKeyOperatorRoleArns,
      grantedReaderRoleArns: () => this.grantedReaderRoleArns,
      keys: [this.secretsKey, this.refreshTokenKey, this.opsKey],
      functions: [this.function, this.onDemandFunction],
      sourceCidrs: settings.tokenStoreSourceCidrs,
      topic: this.alarmTopic,
      opsKey: this.opsKey,
      createTrail: settings.createTrail,
    });
    this.dashboard = createDashboard(this, {
      dashboardName: props.dashboardName ?? `${stack.stackName}-${stack.region}`,
      serviceName: SERVICE_NAME,
      settings,
      function: this.function,
      onDemandFunction: this.onDemandFunction,
      deadLetterQueue,
      alarms: this.alarms,
    });

    if (props.stackOutputs ?? true) this.addStackOutputs(stack);
  }

  /**
   * The outputs the operator CLI reads (lambda/contract/stack-outputs.ts), under exactly
   * those logical IDs, wherever the construct sits in the stack: `token-refresher --stack
   * <stack name>` then finds this deployment with no override flag.
   */
  private addStackOutputs(stack: Stack): void {
    const other = stack.node
      .findAll()
      .find(
        (construct) =>
          construct !== this && construct instanceof TokenRefresher && construct.emitsStackOutputs,
      );
    if (other !== undefined) {
      throw new Error(
        `TokenRefresher: ${this.node.path} and ${other.node.path} would both add the CLI's stack outputs ` +
          '(FunctionName, ConnectionPrefix, ...) to one stack: set stackOutputs: false on one of them',
      );
    }
    this.emitsStackOutputs = true;
    const values: Record<StackOutputKey, string> = {
      FunctionName: this.function.functionName,
      OnDemandFunctionName: this.onDemandFunction.functionName,
      AlarmTopicArn: this.alarmTopic.topicArn,
      SecretsKeyArn: this.secretsKey.keyArn,
      RefreshTokenKeyArn: this.refreshTokenKey.keyArn,
      LeaseTableName: this.leaseTable.tableName,
      ConnectionPrefix: this.connectionPrefix,
      ClientCredentialsPrefix: this.clientCredentialsPrefix,
      DashboardName: this.dashboard.dashboardName,
      DeadLetterQueueUrl: this.deadLetterQueue.queueUrl,
      ScheduleName: this.schedule.scheduleName,
      AllowedTokenOrigins: this.settings.allowedTokenOrigins.join(','),
      VersionFloorSeconds: String(this.settings.versionFloor.toSeconds()),
    };
    const outputs = new Construct(this, 'Outputs');
    for (const key of Object.keys(StackOutput) as StackOutputKey[]) {
      new CfnOutput(outputs, key, { value: values[key], description: StackOutput[key] }).overrideLogicalId(
        key,
      );
    }
  }

  /**
   * Everything a consumer Lambda function needs to use `connection` (every connection when
   * omitted) with the client library (`@token-refresher/client`): {@link grantReadAccessToken}
   * and {@link grantRequestRefresh}, which also set `TOKEN_REFRESHER_PREFIX` and
   * `TOKEN_REFRESHER_FUNCTION` in its environment.
   */
  public bindConsumer(consumer: lambda.Function, connection?: string): iam.Grant {
    return this.grantReadAccessToken(consumer, connection).combine(this.grantRequestRefresh(consumer));
  }

  /**
   * Lets `grantee` (a consumer) ask for an on-demand refresh after a 401: invoke the
   * on-demand function, which refreshes only the version the consumer names, within the
   * minimum interval, and refuses `force`, runs, connect and import.
   *
   * IAM cannot scope `lambda:InvokeFunction` to a connection (the payload is not a
   * condition key), so this grant reaches the function, not a connection. What a consumer
   * may act on is decided by knowledge: the request must name the connection's current
   * AWSCURRENT version id, which only a principal that can read the secret knows
   * (grantReadAccessToken). Give both grants for the same connection.
   *
   * When `grantee` is a Lambda function, this also sets `TOKEN_REFRESHER_FUNCTION` (the
   * on-demand function's name) in its environment, which the client library reads.
   */
  public grantRequestRefresh(grantee: iam.IGrantable): iam.Grant {
    setConsumerEnvironment(
      grantee,
      ConsumerEnvironment.refresherFunction,
      this.onDemandFunction.functionName,
    );
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
    if (connection !== undefined && !isConnectionName(connection)) {
      throw new Error(`TokenRefresher: connection name "${connection}" must be ${CONNECTION_NAME_RULE}`);
    }
    const name = connection === undefined ? '*' : `${connection}-??????`;
    return secretArn(this, connectionSecretName(this.connectionPrefix, name));
  }

  /**
   * Lets `grantee` read one connection's access token (or every connection's when
   * `connection` is omitted): `secretsmanager:GetSecretValue` on the connection's secret,
   * stage AWSCURRENT only, and `kms:Decrypt` on the secrets key only through Secrets
   * Manager and only for that secret. Nothing on the refresh-token key: a consumer can
   * read the record but never the refresh token inside it.
   *
   * Consumers must pass `VersionStage: "AWSCURRENT"` (see docs/connection-record.md).
   *
   * When `grantee` is a Lambda function, this also sets `TOKEN_REFRESHER_PREFIX` (the
   * connection prefix) in its environment, which the client library reads.
   */
  public grantReadAccessToken(grantee: iam.IGrantable, connection?: string): iam.Grant {
    const secret = this.connectionSecretArnPattern(connection);
    setConsumerEnvironment(grantee, ConsumerEnvironment.prefix, this.connectionPrefix);
    const readSecret = iam.Grant.addToPrincipal({
      grantee,
      actions: ['secretsmanager:GetSecretValue'],
      resourceArns: [secret],
      // VersionStage is single-valued: StringEquals (a ForAnyValue: set operator on a
      // single-valued key is an IAM policy-validation warning, and reads wrongly).
      conditions: { StringEquals: { 'secretsmanager:VersionStage': 'AWSCURRENT' } },
    });
    // The watch rule on record reads leaves out roles given read access.
    const principal = grantee.grantPrincipal as Partial<iam.IRole>;
    if (typeof principal.roleArn === 'string' && !this.grantedReaderRoleArns.includes(principal.roleArn)) {
      this.grantedReaderRoleArns.push(principal.roleArn);
    }
    const decryptViaSecretsManager = iam.Grant.addToPrincipal({
      grantee,
      actions: ['kms:Decrypt'],
      resourceArns: [this.secretsKey.keyArn],
      conditions: {
        StringEquals: { 'kms:ViaService': viaService('secretsmanager') },
        StringLike: { 'kms:EncryptionContext:SecretARN': secret },
      },
    });
    return readSecret.combine(decryptViaSecretsManager);
  }
}

/** What token-refresher wrote into a function's environment, shared by every copy of this module. */
const CONSUMER_ENVIRONMENT = Symbol.for('token-refresher.consumer-environment');

/**
 * Sets a variable the client library reads on a consumer that is a Lambda function (any
 * other grantee, a role say, is left alone), refusing a second deployment's value: one
 * function's client reads one deployment through its environment (configure `TokenClient`
 * explicitly to read two).
 */
function setConsumerEnvironment(grantee: iam.IGrantable, name: string, value: string): void {
  const fn = grantee as Partial<lambda.Function> & { [CONSUMER_ENVIRONMENT]?: Record<string, string> };
  if (typeof fn.addEnvironment !== 'function') return;
  const written = fn[CONSUMER_ENVIRONMENT] ?? {};
  fn[CONSUMER_ENVIRONMENT] = written;
  const previous = written[name];
  if (previous !== undefined && previous !== value) {
    throw new Error(
      `TokenRefresher: ${(grantee as unknown as Construct).node.path} already has ${name} from another ` +
        'TokenRefresher; a function reads one deployment through its environment (pass prefix and ' +
        'refresherFunction to TokenClient to read two)',
    );
  }
  written[name] = value;
  fn.addEnvironment(name, value);
}
