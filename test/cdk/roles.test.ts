import { beforeAll, describe, expect, it } from 'vitest';
import { decodeRefresherEnvironment } from '../../lambda/contract/refresher-environment.js';
import { ENV, iamAllows, identityStatements, type Request, resolve } from './support/policy-evaluator.js';
import { type CfnResource, logicalIdOf, resourcesOfType, type Synthesized, synth } from './support/synth.js';

/** Each refresher function its own role, with what its path needs; every function can log. */

const { partition, region, account } = ENV;
const secret = (name: string) => `arn:${partition}:secretsmanager:${region}:${account}:secret:${name}-AbCdEf`;
const RECORD = secret('token-refresher/askara-prod');
const CLIENT = secret('token-refresher-clients/askara-prod');
const SM = `secretsmanager.${region}.amazonaws.com`;
const DDB = `dynamodb.${region}.amazonaws.com`;

/** The role (logical id) a function runs as. */
function roleOf(fn: CfnResource): string {
  const role = fn.Properties?.Role as { 'Fn::GetAtt': [string, string] };
  return role['Fn::GetAtt'][0];
}

/** The log group (logical id) a function logs to. */
function logGroupOf(fn: CfnResource): string | undefined {
  return (fn.Properties?.LoggingConfig as { LogGroup?: { Ref: string } } | undefined)?.LogGroup?.Ref;
}

describe.each([
  ['default settings', {}],
  ['every optional feature', { createTrail: true, tokenStoreSourceCidrs: '203.0.113.0/24' }],
])('every Lambda function writes its own log group (%s)', (_name, context) => {
  let s: Synthesized;
  beforeAll(() => {
    s = synth(context);
  });

  it("lets every function's role create streams in and put events to that function's own log group", () => {
    const functions = resourcesOfType(s.json, 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThanOrEqual(2);
    for (const [id, fn] of functions) {
      const logGroup = logGroupOf(fn);
      expect(logGroup, `${id} has no log group of its own`).toBeDefined();
      const role = roleOf(fn);
      const stream = `arn:${partition}:logs:${region}:${account}:log-group:${logGroup}:log-stream:2026/01/01/[$LATEST]0123`;
      for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) {
        const request: Request = {
          principalArn: `arn:aws:iam::${account}:role/${role}`,
          action,
          resource: stream,
        };
        expect(iamAllows(identityStatements(s.json, role), request), `${id} (${role}) ${action}`).toBe(true);
      }
      // ...and only its own: no other function's log group.
      for (const [otherId, other] of functions.filter(([otherId]) => otherId !== id)) {
        const otherStream = `arn:${partition}:logs:${region}:${account}:log-group:${logGroupOf(other)}:log-stream:x`;
        const request: Request = {
          principalArn: `arn:aws:iam::${account}:role/${role}`,
          action: 'logs:PutLogEvents',
          resource: otherStream,
        };
        expect(iamAllows(identityStatements(s.json, role), request), `${id} into ${otherId}`).toBe(false);
      }
    }
  });

  it('gives no two functions the same role', () => {
    const roles = resourcesOfType(s.json, 'AWS::Lambda::Function').map(([, fn]) => roleOf(fn));
    expect(new Set(roles).size).toBe(roles.length);
  });

  it('pins the allowed token origins in every function and never sets the test-only loopback switch', () => {
    for (const [id, fn] of resourcesOfType(s.json, 'AWS::Lambda::Function')) {
      const variables = (fn.Properties!.Environment as { Variables: Record<string, string> }).Variables;
      expect(variables.ALLOWED_TOKEN_ORIGINS, id).toBe('https://api.askara.ai');
      expect(variables, id).not.toHaveProperty('ALLOW_INSECURE_LOOPBACK');
      const config = decodeRefresherEnvironment({
        ...variables,
        LEASE_TABLE_NAME: 't',
        REFRESH_TOKEN_KEY_ID: 'k',
      });
      expect(config.settings.allowedTokenOrigins).toEqual(['https://api.askara.ai']);
      expect(config.settings.allowInsecureLoopback).toBe(false);
    }
  });
});

describe('what each refresher role may do', () => {
  let s: Synthesized;
  let scheduled: string;
  let onDemand: string;
  let table: string;
  let secretsKey: string;
  let queue: string;

  beforeAll(() => {
    s = synth();
    scheduled = logicalIdOf(s.json, 'AWS::IAM::Role', 'TokenRefresherFunctionRole');
    onDemand = logicalIdOf(s.json, 'AWS::IAM::Role', 'TokenRefresherOnDemandFunctionRole');
    table = logicalIdOf(s.json, 'AWS::DynamoDB::Table', 'TokenRefresherLeaseTable');
    secretsKey = logicalIdOf(s.json, 'AWS::KMS::Key', 'TokenRefresherSecretsKey');
    queue = logicalIdOf(s.json, 'AWS::SQS::Queue', 'TokenRefresherDeadLetterQueue');
  });

  const can = (role: string, action: string, resource: string, context?: Request['context']) =>
    iamAllows(identityStatements(s.json, role), {
      principalArn: `arn:aws:iam::${account}:role/${role}`,
      action,
      resource,
      ...(context === undefined ? {} : { context }),
    });
  const tableArn = () => resolve(s.json, { 'Fn::GetAtt': [table, 'Arn'] }) as string;
  const secretsKeyArn = () => resolve(s.json, { 'Fn::GetAtt': [secretsKey, 'Arn'] }) as string;
  const queueArn = () => resolve(s.json, { 'Fn::GetAtt': [queue, 'Arn'] }) as string;

  it('lets both read and commit records, read client credentials and hold leases; neither tags', () => {
    for (const role of [scheduled, onDemand]) {
      expect(can(role, 'secretsmanager:GetSecretValue', RECORD), role).toBe(true);
      expect(can(role, 'secretsmanager:PutSecretValue', RECORD), role).toBe(true);
      // The scheduling hint is in the lease table: no tag is written (nor forged through this role).
      expect(
        can(role, 'secretsmanager:TagResource', RECORD, { 'aws:TagKeys': ['token-refresher:hint'] }),
      ).toBe(false);
      expect(can(role, 'secretsmanager:GetSecretValue', CLIENT), role).toBe(true);
      expect(can(role, 'secretsmanager:PutSecretValue', CLIENT), role).toBe(false);
      expect(can(role, 'dynamodb:GetItem', tableArn())).toBe(true);
      expect(can(role, 'dynamodb:UpdateItem', tableArn())).toBe(true);
      expect(can(role, 'dynamodb:DeleteItem', tableArn())).toBe(false);
    }
    // Only scheduled runs read the hint pages.
    expect(can(scheduled, 'dynamodb:Scan', tableArn())).toBe(true);
    expect(can(onDemand, 'dynamodb:Scan', tableArn())).toBe(false);
  });

  it('gives neither role what the operator does with its own credentials (create, delete, restore, policies)', () => {
    for (const role of [scheduled, onDemand]) {
      for (const action of [
        'secretsmanager:CreateSecret',
        'secretsmanager:DeleteSecret',
        'secretsmanager:RestoreSecret',
        'secretsmanager:UpdateSecret',
        'secretsmanager:UpdateSecretVersionStage',
        'secretsmanager:PutResourcePolicy',
      ]) {
        expect(can(role, action, RECORD), `${role} ${action}`).toBe(false);
      }
    }
  });

  it('keeps the on-demand role to one refresh: no listing connections, no dead-letter queue, no describe', () => {
    expect(can(scheduled, 'secretsmanager:ListSecrets', '*')).toBe(true);
    expect(can(onDemand, 'secretsmanager:ListSecrets', '*')).toBe(false);
    expect(can(scheduled, 'sqs:SendMessage', queueArn())).toBe(true);
    expect(can(onDemand, 'sqs:SendMessage', queueArn())).toBe(false);
    expect(can(scheduled, 'secretsmanager:DescribeSecret', RECORD)).toBe(true);
    expect(can(onDemand, 'secretsmanager:DescribeSecret', RECORD)).toBe(false);
  });

  it('lets both use the secrets key only through Secrets Manager, or through DynamoDB for the lease table only', () => {
    const key = secretsKeyArn();
    const lease = {
      'kms:ViaService': DDB,
      'kms:EncryptionContext:aws:dynamodb:tableName': table,
      'kms:EncryptionContext:aws:dynamodb:subscriberId': account,
    };
    for (const role of [scheduled, onDemand]) {
      expect(
        can(role, 'kms:Decrypt', key, { 'kms:ViaService': SM, 'kms:EncryptionContext:SecretARN': RECORD }),
      ).toBe(true);
      expect(can(role, 'kms:Decrypt', key)).toBe(false);
      for (const action of ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']) {
        expect(can(role, action, key, lease), `${role} ${action}`).toBe(true);
        // Another table under the same key, or another account's, or without the context.
        expect(
          can(role, action, key, { ...lease, 'kms:EncryptionContext:aws:dynamodb:tableName': 'other' }),
        ).toBe(false);
        expect(
          can(role, action, key, {
            ...lease,
            'kms:EncryptionContext:aws:dynamodb:subscriberId': '999999999999',
          }),
        ).toBe(false);
        expect(can(role, action, key, { 'kms:ViaService': DDB })).toBe(false);
      }
      expect(can(role, 'kms:DescribeKey', key, { 'kms:ViaService': DDB })).toBe(true);
      expect(can(role, 'kms:DescribeKey', key)).toBe(false);
    }
  });

  it('writes every statement of both roles out: no wildcard action in an allow', () => {
    for (const role of [scheduled, onDemand]) {
      for (const statement of identityStatements(s.json, role).filter((st) => st.Effect === 'Allow')) {
        for (const action of ([] as string[]).concat(statement.Action ?? [])) {
          expect(action, `${role} ${statement.Sid}`).not.toContain('*');
        }
      }
    }
  });

  it('names each function in its own role only (statements that bind the refresh-token key)', () => {
    const functions = Object.fromEntries(
      resourcesOfType(s.json, 'AWS::Lambda::Function').map(([id, fn]) => [roleOf(fn), id]),
    );
    for (const role of [scheduled, onDemand]) {
      const bound = JSON.stringify(
        identityStatements(s.json, role).filter((st) =>
          JSON.stringify(st.Condition ?? {}).includes('SourceFunctionArn'),
        ),
      );
      expect(bound).toContain(`function:${functions[role]}"`);
      for (const [otherRole, otherFn] of Object.entries(functions)) {
        if (otherRole !== role) expect(bound).not.toContain(`function:${otherFn}"`);
      }
    }
  });
});
