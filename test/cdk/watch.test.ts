import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { WATCH_RULE_IDS, type WatchRuleId } from '../../lib/watch.js';
import {
  ACCOUNT,
  apiCallEvent,
  assumedRole,
  awsService,
  getSecretValue,
  iamRoleCall,
  iamUser,
  keyAdmin,
  lambdaCall,
  REGION,
  ROOT,
  secretWrite,
} from './support/cloudtrail-samples.js';
import { matchesPattern } from './support/event-pattern.js';
import { resolve } from './support/policy-evaluator.js';
import {
  type CfnTemplate,
  logicalIdOf,
  propertiesOf,
  REPO_ROOT,
  resourcesOfType,
  type Synthesized,
  synth,
} from './support/synth.js';

const OPERATOR = 'token-refresher-operator';
const BREAK_GLASS = 'token-refresher-break-glass';
const roleArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const secretArn = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbCdEf`;
const RECORD = 'token-refresher/askara-prod';
const OTHER_SECRET = 'payments/db-password';

function ruleOf(
  json: CfnTemplate,
  id: WatchRuleId,
): { logicalId: string; properties: Record<string, unknown> } {
  const logicalId = logicalIdOf(json, 'AWS::Events::Rule', `TokenRefresher${id}Rule`);
  return { logicalId, properties: propertiesOf(json, logicalId) };
}

describe('watching the token store: EventBridge rules on CloudTrail events', () => {
  let s: Synthesized;
  let ids: {
    scheduledRole: string;
    onDemandRole: string;
    consumer: string;
    ungranted: string;
    scheduledFunction: string;
    onDemandFunction: string;
    keys: string[];
    topic: string;
  };
  /** The rule's pattern with intrinsics resolved as CloudFormation would (fake environment). */
  const patternOf = (id: WatchRuleId) => resolve(s.json, ruleOf(s.json, id).properties.EventPattern);
  const matches = (id: WatchRuleId, event: unknown) => matchesPattern(patternOf(id), event);

  beforeAll(() => {
    s = synth(
      {
        operatorRoleArns: roleArn(OPERATOR),
        refreshTokenKeyOperatorRoleArns: roleArn(BREAK_GLASS),
        tokenStoreSourceCidrs: '203.0.113.0/24,10.0.0.0/8',
        createTrail: true,
      },
      {
        extend: ({ stack }) => {
          const consumer = new iam.Role(stack, 'Consumer', { assumedBy: new iam.AccountRootPrincipal() });
          stack.refresher.grantReadAccessToken(consumer, 'askara-prod');
          // A role in the same account that was never granted anything.
          new iam.Role(stack, 'Ungranted', { assumedBy: new iam.AccountRootPrincipal() });
        },
      },
    );
    ids = {
      scheduledRole: logicalIdOf(s.json, 'AWS::IAM::Role', 'TokenRefresherFunctionRole'),
      onDemandRole: logicalIdOf(s.json, 'AWS::IAM::Role', 'TokenRefresherOnDemandFunctionRole'),
      consumer: logicalIdOf(s.json, 'AWS::IAM::Role', 'Consumer'),
      ungranted: logicalIdOf(s.json, 'AWS::IAM::Role', 'Ungranted'),
      scheduledFunction: logicalIdOf(s.json, 'AWS::Lambda::Function', 'TokenRefresherFunction'),
      onDemandFunction: logicalIdOf(s.json, 'AWS::Lambda::Function', 'TokenRefresherOnDemandFunction'),
      keys: resourcesOfType(s.json, 'AWS::KMS::Key').map(([id]) => id),
      topic: logicalIdOf(s.json, 'AWS::SNS::Topic', 'TokenRefresherAlarmTopic'),
    };
  });

  describe('synthesized rules', () => {
    it('creates every watch rule, each notifying the alarm topic, described with its runbook section', () => {
      expect(resourcesOfType(s.json, 'AWS::Events::Rule')).toHaveLength(WATCH_RULE_IDS.length);
      for (const id of WATCH_RULE_IDS) {
        const { properties } = ruleOf(s.json, id);
        expect(properties.Targets).toEqual([{ Id: 'AlarmTopic', Arn: { Ref: ids.topic } }]);
        expect(properties.Description).toMatch(
          new RegExp(`^\\[(HIGH|WARNING)\\] .+ Runbook: docs/runbook\\.md#${id.toLowerCase()}$`),
        );
        // CloudFormation's limit on a rule's description.
        expect((properties.Description as string).length).toBeLessThanOrEqual(512);
        expect((patternOf(id) as { 'detail-type': string[] })['detail-type']).toEqual([
          'AWS API Call via CloudTrail',
        ]);
      }
    });

    it('receives read-only management events (GetSecretValue) only on the rules that need them', () => {
      const state = (id: WatchRuleId) => ruleOf(s.json, id).properties.State;
      for (const id of [
        'ConnectionRecordReadByOther',
        'TokenStoreCalledFromOtherRegion',
        'TokenStoreCalledFromUnexpectedAddress',
      ] as const) {
        expect(state(id), id).toBe('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
      }
      for (const id of [
        'ConnectionRecordWrittenByOther',
        'KeyPolicyOrGrantChanged',
        'RefresherFunctionChanged',
      ] as const) {
        expect(state(id), id).toBe('ENABLED');
      }
    });

    it('lets only these rules publish to the topic, and EventBridge use the ops key', () => {
      const policies = resourcesOfType(s.json, 'AWS::SNS::TopicPolicy');
      const statements = policies.flatMap(
        ([, policy]) =>
          (policy.Properties!.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement,
      );
      const events = statements.filter((st) => JSON.stringify(st.Principal).includes('events.amazonaws.com'));
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ Effect: 'Allow', Action: 'sns:Publish' });
      const sources = (events[0]!.Condition as { ArnEquals: { 'aws:SourceArn': unknown[] } }).ArnEquals[
        'aws:SourceArn'
      ];
      expect(sources).toEqual(
        resourcesOfType(s.json, 'AWS::Events::Rule').map(([id]) => ({ 'Fn::GetAtt': [id, 'Arn'] })),
      );
    });

    it('omits the source-address rule unless tokenStoreSourceCidrs is set, and the trail unless createTrail', () => {
      const plain = synth();
      const rules = resourcesOfType(plain.json, 'AWS::Events::Rule').map(([id]) => id);
      expect(rules).toHaveLength(WATCH_RULE_IDS.length - 1);
      expect(rules.some((id) => id.includes('UnexpectedAddress'))).toBe(false);
      expect(resourcesOfType(plain.json, 'AWS::CloudTrail::Trail')).toEqual([]);
      expect(resourcesOfType(plain.json, 'AWS::S3::Bucket')).toEqual([]);
    });

    it('creates, when asked, a multi-Region trail of all management events into a private, TLS-only, versioned bucket', () => {
      const trails = resourcesOfType(s.json, 'AWS::CloudTrail::Trail');
      expect(trails).toHaveLength(1);
      expect(trails[0]![1].Properties).toMatchObject({
        IsLogging: true,
        IsMultiRegionTrail: true,
        IncludeGlobalServiceEvents: true,
        EnableLogFileValidation: true,
        EventSelectors: [{ IncludeManagementEvents: true, ReadWriteType: 'All' }],
      });
      const buckets = resourcesOfType(s.json, 'AWS::S3::Bucket');
      expect(buckets).toHaveLength(1);
      const [bucketId, bucket] = buckets[0]!;
      expect(bucket.DeletionPolicy).toBe('Retain');
      expect(bucket.Properties).toMatchObject({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        VersioningConfiguration: { Status: 'Enabled' },
      });
      const bucketPolicy = JSON.stringify(
        resourcesOfType(s.json, 'AWS::S3::BucketPolicy')[0]?.[1].Properties,
      );
      expect(bucketPolicy).toContain('"aws:SecureTransport":"false"');
      expect(bucketPolicy).toContain(bucketId);
    });
  });

  describe('ConnectionRecordReadByOther against sample GetSecretValue events', () => {
    const id = 'ConnectionRecordReadByOther';

    it('notifies for a role that was not granted, an IAM user, the root user, by name or by ARN', () => {
      for (const who of [assumedRole(ids.ungranted), iamUser('alice'), iamUser('alice', true), ROOT]) {
        expect(matches(id, getSecretValue(RECORD, who)), JSON.stringify(who.arn)).toBe(true);
        expect(matches(id, getSecretValue(secretArn(RECORD), who))).toBe(true);
        // A partial ARN (without the six random characters) names the secret too.
        expect(
          matches(id, getSecretValue(`arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${RECORD}`, who)),
        ).toBe(true);
      }
    });

    it('stays quiet for the refresher functions, the granted consumer, operators and break-glass roles', () => {
      for (const who of [
        assumedRole(ids.scheduledRole, ids.scheduledFunction),
        assumedRole(ids.onDemandRole, ids.onDemandFunction),
        assumedRole(ids.consumer, 'i-0123456789abcdef0'),
        assumedRole(OPERATOR, 'alice@example.com'),
        assumedRole(BREAK_GLASS, 'bob@example.com'),
      ]) {
        expect(matches(id, getSecretValue(RECORD, who)), String(who.arn)).toBe(false);
      }
    });

    it('stays quiet for other secrets and other operations', () => {
      const stranger = assumedRole(ids.ungranted);
      expect(matches(id, getSecretValue(OTHER_SECRET, stranger))).toBe(false);
      expect(matches(id, getSecretValue('token-refresher-clients/askara-prod', stranger))).toBe(false);
      expect(matches(id, secretWrite('DescribeSecret', RECORD, stranger))).toBe(false);
    });
  });

  describe('ConnectionRecordWrittenByOther against sample write events', () => {
    const id = 'ConnectionRecordWrittenByOther';
    const writes = [
      'PutSecretValue',
      'UpdateSecret',
      'UpdateSecretVersionStage',
      'PutResourcePolicy',
      'DeleteSecret',
      'CreateSecret',
      'TagResource',
    ];

    it('notifies for every write by anyone but the refresher roles and declared operators', () => {
      for (const eventName of writes) {
        for (const who of [assumedRole(ids.consumer), assumedRole(ids.ungranted), iamUser('mallory'), ROOT]) {
          expect(matches(id, secretWrite(eventName, RECORD, who)), `${eventName} by ${String(who.arn)}`).toBe(
            true,
          );
          expect(matches(id, secretWrite(eventName, secretArn(RECORD), who))).toBe(true);
        }
        // A break-glass role may decrypt refresh tokens, not write records.
        expect(matches(id, secretWrite(eventName, RECORD, assumedRole(BREAK_GLASS)))).toBe(true);
      }
    });

    it('stays quiet for the refresher functions and the operators, for reads, and for other secrets', () => {
      for (const eventName of writes) {
        for (const who of [
          assumedRole(ids.scheduledRole, ids.scheduledFunction),
          assumedRole(ids.onDemandRole, ids.onDemandFunction),
          assumedRole(OPERATOR, 'alice@example.com'),
        ]) {
          expect(matches(id, secretWrite(eventName, RECORD, who)), `${eventName} by ${String(who.arn)}`).toBe(
            false,
          );
        }
        expect(matches(id, secretWrite(eventName, OTHER_SECRET, iamUser('mallory')))).toBe(false);
      }
      expect(matches(id, getSecretValue(RECORD, iamUser('mallory')))).toBe(false);
    });
  });

  describe('KeyPolicyOrGrantChanged against sample KMS events', () => {
    const id = 'KeyPolicyOrGrantChanged';
    const keyArn = (logicalId: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${logicalId}`;

    it('notifies for PutKeyPolicy, CreateGrant, DisableKey and ScheduleKeyDeletion on each of the three keys', () => {
      expect(ids.keys).toHaveLength(3);
      for (const key of ids.keys) {
        for (const eventName of ['PutKeyPolicy', 'CreateGrant', 'DisableKey', 'ScheduleKeyDeletion']) {
          expect(matches(id, keyAdmin(eventName, keyArn(key), iamUser('admin'))), `${eventName} ${key}`).toBe(
            true,
          );
          // Whoever does it: an administrator's role, or a service on someone's behalf.
          expect(matches(id, keyAdmin(eventName, keyArn(key), assumedRole(ids.scheduledRole)))).toBe(true);
          expect(matches(id, keyAdmin(eventName, keyArn(key), awsService('dynamodb.amazonaws.com')))).toBe(
            true,
          );
        }
      }
    });

    it('stays quiet for other keys and for using a key', () => {
      expect(matches(id, keyAdmin('PutKeyPolicy', keyArn('someone-elses-key'), iamUser('admin')))).toBe(
        false,
      );
      expect(matches(id, keyAdmin('Decrypt', keyArn(ids.keys[0]!), iamUser('admin')))).toBe(false);
      expect(matches(id, keyAdmin('EnableKey', keyArn(ids.keys[0]!), iamUser('admin')))).toBe(false);
    });
  });

  describe('RefresherFunctionChanged against sample Lambda events', () => {
    const id = 'RefresherFunctionChanged';
    const functionArn = (logicalId: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${logicalId}`;

    it('notifies for code, configuration and permission changes of either function, by name or ARN', () => {
      for (const fn of [ids.scheduledFunction, ids.onDemandFunction]) {
        for (const eventName of [
          'UpdateFunctionCode20150331v2',
          'UpdateFunctionConfiguration20150331v2',
          'AddPermission20150331v2',
        ]) {
          expect(
            matches(id, lambdaCall(eventName, { functionName: fn }, iamUser('dev'))),
            `${eventName} ${fn}`,
          ).toBe(true);
          expect(matches(id, lambdaCall(eventName, { functionName: functionArn(fn) }, iamUser('dev')))).toBe(
            true,
          );
          // A qualified ARN (a version or alias) is the same function.
          expect(
            matches(id, lambdaCall(eventName, { functionName: `${functionArn(fn)}:$LATEST` }, ROOT)),
          ).toBe(true);
        }
      }
    });

    it('notifies when a refresher role is passed to another function', () => {
      const created = lambdaCall(
        'CreateFunction20150331',
        { functionName: 'innocent-looking', role: roleArn(ids.scheduledRole), runtime: 'nodejs24.x' },
        iamUser('dev'),
      );
      expect(matches(id, created)).toBe(true);
      const reconfigured = lambdaCall(
        'UpdateFunctionConfiguration20150331v2',
        { functionName: 'innocent-looking', role: roleArn(ids.onDemandRole) },
        iamUser('dev'),
      );
      expect(matches(id, reconfigured)).toBe(true);
    });

    it('stays quiet for other functions and for reads and invocations', () => {
      expect(
        matches(
          id,
          lambdaCall('UpdateFunctionCode20150331v2', { functionName: 'other-function' }, iamUser('dev')),
        ),
      ).toBe(false);
      expect(
        matches(
          id,
          lambdaCall('GetFunction20150331v2', { functionName: ids.scheduledFunction }, iamUser('dev')),
        ),
      ).toBe(false);
      expect(
        matches(
          id,
          lambdaCall(
            'CreateFunction20150331',
            { functionName: 'x', role: roleArn('other-role') },
            iamUser('dev'),
          ),
        ),
      ).toBe(false);
    });
  });

  describe('RefresherRoleChanged against sample IAM events', () => {
    const id = 'RefresherRoleChanged';

    it('notifies for policy and trust changes of either refresher role', () => {
      for (const role of [ids.scheduledRole, ids.onDemandRole]) {
        for (const eventName of [
          'PutRolePolicy',
          'AttachRolePolicy',
          'UpdateAssumeRolePolicy',
          'DeleteRolePolicy',
        ]) {
          expect(matches(id, iamRoleCall(eventName, role, iamUser('admin'))), `${eventName} ${role}`).toBe(
            true,
          );
        }
      }
    });

    it('stays quiet for other roles and for reads', () => {
      expect(matches(id, iamRoleCall('PutRolePolicy', ids.consumer, iamUser('admin')))).toBe(false);
      expect(matches(id, iamRoleCall('GetRole', ids.scheduledRole, iamUser('admin')))).toBe(false);
    });
  });

  describe('TokenStoreCalledFromOtherRegion against sample events', () => {
    const id = 'TokenStoreCalledFromOtherRegion';

    it("notifies for a call on a look-alike record in another Region (forwarded to this Region's bus)", () => {
      const elsewhere = { awsRegion: 'us-east-1' };
      expect(matches(id, getSecretValue(RECORD, iamUser('alice'), elsewhere))).toBe(true);
      expect(
        matches(
          id,
          getSecretValue(
            `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:${RECORD}-AbCdEf`,
            ROOT,
            elsewhere,
          ),
        ),
      ).toBe(true);
      expect(matches(id, secretWrite('CreateSecret', RECORD, iamUser('alice'), elsewhere))).toBe(true);
    });

    it("stays quiet in the stack's Region and for other secrets", () => {
      expect(matches(id, getSecretValue(RECORD, iamUser('alice')))).toBe(false);
      expect(matches(id, getSecretValue(OTHER_SECRET, iamUser('alice'), { awsRegion: 'us-east-1' }))).toBe(
        false,
      );
    });
  });

  describe('TokenStoreCalledFromUnexpectedAddress against sample events', () => {
    const id = 'TokenStoreCalledFromUnexpectedAddress';

    it('notifies for a consumer or operator calling from outside the configured blocks', () => {
      for (const who of [assumedRole(ids.consumer), assumedRole(OPERATOR), iamUser('alice')]) {
        expect(
          matches(id, getSecretValue(RECORD, who, { sourceIPAddress: '192.0.2.44' })),
          String(who.arn),
        ).toBe(true);
        expect(
          matches(id, secretWrite('PutSecretValue', RECORD, who, { sourceIPAddress: '198.51.100.7' })),
        ).toBe(true);
      }
    });

    it('stays quiet inside the blocks, for the refresher functions, and for other secrets', () => {
      expect(
        matches(id, getSecretValue(RECORD, assumedRole(ids.consumer), { sourceIPAddress: '203.0.113.77' })),
      ).toBe(false);
      expect(
        matches(id, getSecretValue(RECORD, assumedRole(ids.consumer), { sourceIPAddress: '10.20.30.40' })),
      ).toBe(false);
      expect(
        matches(
          id,
          getSecretValue(RECORD, assumedRole(ids.scheduledRole, ids.scheduledFunction), {
            sourceIPAddress: '192.0.2.44',
          }),
        ),
      ).toBe(false);
      expect(
        matches(id, getSecretValue(OTHER_SECRET, iamUser('alice'), { sourceIPAddress: '192.0.2.44' })),
      ).toBe(false);
    });
  });
});

describe('the local event-pattern matcher follows EventBridge semantics (user guide examples)', () => {
  const event = apiCallEvent({
    service: 'ec2',
    eventName: 'RunInstances',
    userIdentity: iamUser('alice'),
    sourceIPAddress: '10.0.0.33',
    requestParameters: { state: 'running', 'c-count': 5, tags: ['a', 'b'] },
    resources: [
      { ARN: 'arn:aws:ec2:eu-west-1:111122223333:instance/i-1', accountId: ACCOUNT },
      { ARN: 'arn:aws:ec2:eu-west-1:111122223333:instance/i-2', accountId: ACCOUNT },
    ],
  });
  const detail = (pattern: Record<string, unknown>) => matchesPattern({ detail: pattern }, event);

  it('matches exact values, any of a list, and any element of an array', () => {
    expect(matchesPattern({ source: ['aws.ec2'] }, event)).toBe(true);
    expect(matchesPattern({ source: ['aws.s3', 'aws.ec2'] }, event)).toBe(true);
    expect(matchesPattern({ source: ['aws.s3'] }, event)).toBe(false);
    expect(detail({ requestParameters: { tags: ['b'] } })).toBe(true);
    expect(detail({ resources: { ARN: ['arn:aws:ec2:eu-west-1:111122223333:instance/i-2'] } })).toBe(true);
  });

  it('matches prefix, suffix, equals-ignore-case, wildcard and cidr', () => {
    expect(detail({ eventName: [{ prefix: 'Run' }] })).toBe(true);
    expect(detail({ eventName: [{ suffix: 'Instances' }] })).toBe(true);
    expect(detail({ eventName: [{ 'equals-ignore-case': 'runinstances' }] })).toBe(true);
    expect(detail({ eventName: [{ wildcard: 'Run*s' }] })).toBe(true);
    expect(detail({ eventName: [{ wildcard: 'Stop*' }] })).toBe(false);
    expect(detail({ sourceIPAddress: [{ cidr: '10.0.0.0/24' }] })).toBe(true);
    expect(detail({ sourceIPAddress: [{ cidr: '10.0.1.0/24' }] })).toBe(false);
  });

  it('matches anything-but only a present field, with lists, prefixes and wildcards', () => {
    expect(detail({ requestParameters: { state: [{ 'anything-but': 'initializing' }] } })).toBe(true);
    expect(detail({ requestParameters: { state: [{ 'anything-but': ['stopped', 'running'] }] } })).toBe(
      false,
    );
    expect(detail({ requestParameters: { state: [{ 'anything-but': { prefix: 'run' } }] } })).toBe(false);
    expect(detail({ sourceIPAddress: [{ 'anything-but': { wildcard: ['192.0.2.*', '10.*'] } }] })).toBe(
      false,
    );
    expect(detail({ sourceIPAddress: [{ 'anything-but': { wildcard: ['192.0.2.*'] } }] })).toBe(true);
    // An absent field matches no anything-but; only exists: false.
    expect(detail({ requestParameters: { missing: [{ 'anything-but': 'x' }] } })).toBe(false);
    expect(detail({ requestParameters: { missing: [{ exists: false }] } })).toBe(true);
    expect(detail({ nowhere: { deeper: [{ exists: false }] } })).toBe(true);
    expect(detail({ requestParameters: { state: [{ exists: true }] } })).toBe(true);
  });

  it('matches $or alternatives and refuses what it does not model', () => {
    expect(detail({ $or: [{ eventName: ['Nope'] }, { sourceIPAddress: ['10.0.0.33'] }] })).toBe(true);
    expect(detail({ $or: [{ eventName: ['Nope'] }, { sourceIPAddress: ['10.0.0.34'] }] })).toBe(false);
    expect(() => detail({ requestParameters: { 'c-count': [{ numeric: ['>', 0] }] } })).toThrow(
      /unsupported operator/,
    );
    expect(() => detail({ eventName: [] })).toThrow(/matches nothing/);
  });
});

describe('runbook', () => {
  const runbook = readFileSync(join(REPO_ROOT, 'docs', 'runbook.md'), 'utf8');
  for (const id of WATCH_RULE_IDS) {
    it(`has a section for the watch rule ${id}: what it means, what to do, which command`, () => {
      const section = runbook.split(/^## /m).find((part) => part.startsWith(`${id}\n`));
      expect(section, `docs/runbook.md has no "## ${id}" section`).toBeDefined();
      expect(section).toMatch(/\*\*What it means\*\*/);
      expect(section).toMatch(/\*\*What to do\*\*/);
      expect(section).toMatch(/```(sh|bash)\n/);
    });
  }
});
