import { Aws, Lazy, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { OpsKey } from './keys.js';
import { cidrWildcard } from './settings.js';

/*
 * Watching the token store: EventBridge rules on CloudTrail events ("AWS API Call via
 * CloudTrail") that notify the alarm topic when the token store is touched by someone
 * it was not meant for. What EventBridge content filtering can and cannot express (and
 * so what these rules cannot see) is in docs/security.md, "Watching the token store".
 *
 * Principals are compared by the role of their session
 * (`userIdentity.sessionContext.sessionIssuer.arn`, the IAM role ARN with its path): the
 * caller's own ARN is an STS session ARN that names the session, not the role. A caller
 * without a session issuer (an IAM user, the root user, an AWS service) never matches an
 * `anything-but`, so each rule also matches the field's absence.
 */

/** Every watch rule, in runbook order. Each has a section `## <id>` in docs/runbook.md. */
export const WATCH_RULE_IDS = [
  'ConnectionRecordReadByOther',
  'ConnectionRecordWrittenByOther',
  'KeyPolicyOrGrantChanged',
  'RefresherFunctionChanged',
  'RefresherRoleChanged',
  'TokenStoreCalledFromOtherRegion',
  'TokenStoreCalledFromUnexpectedAddress',
] as const;

export type WatchRuleId = (typeof WATCH_RULE_IDS)[number];

const API_CALL = 'AWS API Call via CloudTrail';

/** Secrets Manager operations that write or expose a connection record (anything but reading it). */
export const RECORD_WRITE_EVENTS = [
  'CreateSecret',
  'PutSecretValue',
  'UpdateSecret',
  'UpdateSecretVersionStage',
  'PutResourcePolicy',
  'DeleteResourcePolicy',
  'DeleteSecret',
  'RestoreSecret',
  'TagResource',
  'UntagResource',
  'RotateSecret',
  'CancelRotateSecret',
  'ReplicateSecretToRegions',
  'RemoveRegionsFromReplication',
  'StopReplicationToReplica',
] as const;

/** KMS operations that change who may use a key, or make it unusable. */
export const KEY_ADMIN_EVENTS = [
  'PutKeyPolicy',
  'CreateGrant',
  'DisableKey',
  'ScheduleKeyDeletion',
  'DisableKeyRotation',
  'ReplicateKey',
] as const;

/**
 * Lambda operations that change what a function runs or who may invoke it. CloudTrail
 * names Lambda events with their API version (`UpdateFunctionCode20150331v2`), hence
 * prefixes.
 */
export const FUNCTION_CHANGE_EVENTS = [
  'CreateFunction',
  'UpdateFunctionCode',
  'UpdateFunctionConfiguration',
  'AddPermission',
  'RemovePermission',
  'DeleteFunction',
  'PutFunctionConcurrency',
  'DeleteFunctionConcurrency',
  'PutFunctionEventInvokeConfig',
  'UpdateFunctionEventInvokeConfig',
  'CreateFunctionUrlConfig',
  'UpdateFunctionUrlConfig',
  'CreateAlias',
  'UpdateAlias',
] as const;

/** IAM operations that change what a role may do or who may assume it. */
export const ROLE_CHANGE_EVENTS = [
  'PutRolePolicy',
  'DeleteRolePolicy',
  'AttachRolePolicy',
  'DetachRolePolicy',
  'UpdateAssumeRolePolicy',
  'PutRolePermissionsBoundary',
  'DeleteRolePermissionsBoundary',
] as const;

/** Properties of {@link createWatchRules}. */
export interface WatchRulesProps {
  /** Secret-name prefix of the connection records. */
  readonly connectionPrefix: string;
  /** The refresher functions' roles: they read and write records by design. */
  readonly refresherRoles: readonly iam.IRole[];
  /** Declared operator roles: they may read and write records. */
  readonly operatorRoleArns: readonly string[];
  /** Break-glass roles of the refresh-token key: they may read records. */
  readonly breakGlassRoleArns: readonly string[];
  /** Consumers' roles granted read access (evaluated at synthesis, so later grants count). */
  readonly grantedReaderRoleArns: () => readonly string[];
  /** The secrets key, the refresh-token key and the ops key. */
  readonly keys: readonly kms.IKey[];
  /** The refresher functions. */
  readonly functions: readonly lambda.IFunction[];
  /** IPv4 CIDR blocks on octet boundaries that callers other than the refresher use. */
  readonly sourceCidrs: readonly string[];
  /** The alarm topic every rule notifies. */
  readonly topic: sns.Topic;
  /** The alarm topic's key. */
  readonly opsKey: OpsKey;
  /** Create a trail (the rules need one). */
  readonly createTrail: boolean;
}

interface RuleDefinition {
  severity: 'CRITICAL' | 'HIGH' | 'WARNING';
  summary: string;
  pattern: Record<string, unknown>;
  /** Read-only events (GetSecretValue) reach a rule only in this state. */
  readOnlyEvents: boolean;
}

/** A pattern for CloudTrail records of `service`'s API calls (`detail`: the record's own fields). */
function apiCallPattern(service: string, detail: Record<string, unknown>): Record<string, unknown> {
  return {
    source: [`aws.${service}`],
    'detail-type': [API_CALL],
    detail: { eventSource: [`${service}.amazonaws.com`], ...detail },
  };
}

/** The connection-record secret as a caller names it: by name, or by (partial or full) ARN. */
function recordIds(connectionPrefix: string): unknown[] {
  return [
    { prefix: connectionPrefix },
    {
      prefix: `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:${connectionPrefix}`,
    },
  ];
}

/** `requestParameters` naming a connection record: `secretId` for most operations, `name` for CreateSecret. */
function namesRecord(ids: unknown[]): Record<string, unknown> {
  return { $or: [{ secretId: ids }, { name: ids }] };
}

/** `userIdentity` of a caller whose role is none of `roleArns` (or who has no role). */
function callerNotIn(roleArns: unknown): Record<string, unknown> {
  return {
    $or: [
      { sessionContext: { sessionIssuer: { arn: [{ 'anything-but': roleArns }] } } },
      { sessionContext: { sessionIssuer: { arn: [{ exists: false }] } } },
    ],
  };
}

/** The watch rules (and, when asked, the trail they need), as direct children of `scope`. */
export function createWatchRules(
  scope: Construct,
  props: WatchRulesProps,
): Readonly<Partial<Record<WatchRuleId, events.CfnRule>>> {
  const roleArns = props.refresherRoles.map((role) => role.roleArn);
  const ids = recordIds(props.connectionPrefix);
  const readers = Lazy.list({
    produce: () => [
      ...new Set([
        ...roleArns,
        ...props.operatorRoleArns,
        ...props.breakGlassRoleArns,
        ...props.grantedReaderRoleArns(),
      ]),
    ],
  });
  const writers = [...roleArns, ...props.operatorRoleArns];

  const definitions: Partial<Record<WatchRuleId, RuleDefinition>> = {
    ConnectionRecordReadByOther: {
      severity: 'HIGH',
      summary:
        'A connection record (its access token, and the refresh-token ciphertext) was read by a principal that ' +
        'was not granted it: not a refresher role, a declared operator or break-glass role, or a consumer role ' +
        'given grantReadAccessToken.',
      readOnlyEvents: true,
      pattern: apiCallPattern('secretsmanager', {
        eventName: ['GetSecretValue'],
        requestParameters: { secretId: ids },
        userIdentity: callerNotIn(readers),
      }),
    },
    ConnectionRecordWrittenByOther: {
      severity: 'HIGH',
      summary:
        'A connection record was created, written, tagged, re-staged, shared (resource policy), replicated or ' +
        'deleted by a principal that is neither a refresher role nor a declared operator role (operatorRoleArns).',
      readOnlyEvents: false,
      pattern: apiCallPattern('secretsmanager', {
        eventName: [...RECORD_WRITE_EVENTS],
        requestParameters: namesRecord(ids),
        userIdentity: callerNotIn(writers),
      }),
    },
    KeyPolicyOrGrantChanged: {
      severity: 'HIGH',
      summary:
        'A key of the stack had its policy replaced, a grant created, rotation disabled, or was disabled, ' +
        'replicated or scheduled for deletion: whoever did it may have given themselves the refresh tokens, or ' +
        'made every record unreadable.',
      readOnlyEvents: false,
      pattern: apiCallPattern('kms', {
        eventName: [...KEY_ADMIN_EVENTS],
        resources: { ARN: props.keys.map((key) => key.keyArn) },
      }),
    },
    RefresherFunctionChanged: {
      severity: 'HIGH',
      summary:
        "A refresher function's code, configuration, invoke permissions, concurrency or aliases changed, or a " +
        'function was created or reconfigured with a refresher role: whoever did it runs as the refresher.',
      readOnlyEvents: false,
      pattern: apiCallPattern('lambda', {
        eventName: FUNCTION_CHANGE_EVENTS.map((name) => ({ prefix: name })),
        $or: [
          {
            requestParameters: {
              functionName: [
                ...props.functions.map((fn) => fn.functionName),
                ...props.functions.map((fn) => ({ prefix: fn.functionArn })),
              ],
            },
          },
          { requestParameters: { role: roleArns } },
        ],
      }),
    },
    RefresherRoleChanged: {
      severity: 'HIGH',
      summary:
        "A refresher role's policies, permissions boundary or trust policy changed. IAM events reach EventBridge " +
        'only in us-east-1: this rule sees them only in a stack deployed there.',
      readOnlyEvents: false,
      pattern: apiCallPattern('iam', {
        eventName: [...ROLE_CHANGE_EVENTS],
        requestParameters: { roleName: props.refresherRoles.map((role) => role.roleName) },
      }),
    },
    TokenStoreCalledFromOtherRegion: {
      severity: 'WARNING',
      summary:
        "A Secrets Manager call named a secret under the connection prefix in another Region than the stack's. " +
        "It reaches this rule only when that Region's events are forwarded to this Region's default event bus.",
      readOnlyEvents: true,
      pattern: apiCallPattern('secretsmanager', {
        awsRegion: [{ 'anything-but': Aws.REGION }],
        requestParameters: namesRecord([
          { prefix: props.connectionPrefix },
          { wildcard: `arn:*:secretsmanager:*:${Aws.ACCOUNT_ID}:secret:${props.connectionPrefix}*` },
        ]),
      }),
    },
  };
  if (props.sourceCidrs.length > 0) {
    definitions.TokenStoreCalledFromUnexpectedAddress = {
      severity: 'HIGH',
      summary:
        'A principal other than the refresher called Secrets Manager on a connection record from a source ' +
        `address outside ${props.sourceCidrs.join(', ')} (tokenStoreSourceCidrs).`,
      readOnlyEvents: true,
      pattern: apiCallPattern('secretsmanager', {
        requestParameters: namesRecord(ids),
        sourceIPAddress: [
          { 'anything-but': { wildcard: props.sourceCidrs.map((cidr) => cidrWildcard(cidr)!) } },
        ],
        userIdentity: callerNotIn(roleArns),
      }),
    };
  }

  const rules: Partial<Record<WatchRuleId, events.CfnRule>> = {};
  for (const id of WATCH_RULE_IDS) {
    const definition = definitions[id];
    if (definition === undefined) continue;
    rules[id] = new events.CfnRule(scope, `${id}Rule`, {
      description: `[${definition.severity}] ${definition.summary} Runbook: docs/runbook.md#${id.toLowerCase()}`,
      eventPattern: definition.pattern,
      // EventBridge matches read-only management events (GetSecretValue) only in this state
      // (EventBridge user guide, "Receiving read-only management events from AWS services").
      state: definition.readOnlyEvents ? 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS' : 'ENABLED',
      targets: [{ id: 'AlarmTopic', arn: props.topic.topicArn }],
    });
  }

  // EventBridge publishes to the encrypted topic: the topic lets only these rules, the key
  // lets EventBridge encrypt (see OpsKey.allowEventBridgeToPublish).
  props.topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowThisStacksWatchRulesToPublish',
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [props.topic.topicArn],
      conditions: {
        ArnEquals: {
          'aws:SourceArn': Object.values(rules).flatMap((rule) => (rule === undefined ? [] : [rule.attrArn])),
        },
      },
    }),
  );
  props.opsKey.allowEventBridgeToPublish();

  if (props.createTrail) createTrail(scope);
  return rules;
}

/**
 * A multi-Region trail of every management event (read and write, KMS included), into a
 * bucket of its own: S3-managed encryption, TLS only, no public access, versioned,
 * retained. CloudTrail records no secret value and no plaintext of a KMS operation.
 */
function createTrail(scope: Construct): cloudtrail.Trail {
  const bucket = new s3.Bucket(scope, 'TrailBucket', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    versioned: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason:
      'This bucket holds the CloudTrail log files the token-refresher watch rules rely on. Server access ' +
      'logging would need yet another bucket (whose own access logs would need another); CloudTrail already ' +
      'records who reads this bucket, and its log-file validation detects any change to a delivered file.',
  });
  return new cloudtrail.Trail(scope, 'Trail', {
    bucket,
    isMultiRegionTrail: true,
    includeGlobalServiceEvents: true,
    managementEvents: cloudtrail.ReadWriteType.ALL,
    enableFileValidation: true,
    trailName: `${Stack.of(scope).stackName}-token-store`,
  });
}
