import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ENV,
  iamAllows,
  identityStatements,
  keyPolicyStatements,
  kmsDecision,
  type Request,
  type Statement,
} from './support/policy-evaluator.js';
import { logicalIdOf, type Synthesized, synth } from './support/synth.js';

const OPERATOR_ROLE = `arn:aws:iam::${ENV.account}:role/token-refresher-break-glass`;
const SM = `secretsmanager.${ENV.region}.amazonaws.com`;
const secretArn = (name: string) =>
  `arn:aws:secretsmanager:${ENV.region}:${ENV.account}:secret:${name}-AbCdEf`;
const ASKARA = secretArn('token-refresher/askara-prod');
const OTHER = secretArn('token-refresher/other');
const CLIENT = secretArn('token-refresher-clients/askara');
const roleArn = (logicalId: string) => `arn:aws:iam::${ENV.account}:role/${logicalId}`;
const keyArn = (logicalId: string) => `arn:aws:kms:${ENV.region}:${ENV.account}:key/${logicalId}`;

/** Every cryptographic use of a key a thief could try, directly or through a service. */
const CRYPTO_ACTIONS = [
  'kms:Decrypt',
  'kms:Encrypt',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
];
const VIA = [undefined, SM, `dynamodb.${ENV.region}.amazonaws.com`, `lambda.${ENV.region}.amazonaws.com`];

describe('consumer access (grantReadAccessToken)', () => {
  let s: Synthesized;
  let ids: {
    consumer: string;
    allConsumer: string;
    admin: string;
    refresher: string;
    refreshTokenKey: string;
    secretsKey: string;
  };

  beforeAll(() => {
    s = synth(
      { connections: 'askara-prod,other', refreshTokenKeyOperatorRoleArns: OPERATOR_ROLE },
      {
        extend: ({ stack }) => {
          const consumer = new iam.Role(stack, 'Consumer', { assumedBy: new iam.AccountRootPrincipal() });
          stack.refresher.grantReadAccessToken(consumer, 'askara-prod');

          const allConsumer = new iam.Role(stack, 'AllConnectionsConsumer', {
            assumedBy: new iam.AccountRootPrincipal(),
          });
          stack.refresher.grantReadAccessToken(allConsumer);
          // A consumer of every connection gets the prefix wildcard; its owner acknowledges it.
          Validations.of(allConsumer).acknowledge({
            id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:token-refresher/*]',
            reason: 'Test consumer that reads every connection by design.',
          });

          // An administrator: kms:* and secretsmanager:* on everything, through IAM.
          const admin = new iam.Role(stack, 'Admin', { assumedBy: new iam.AccountRootPrincipal() });
          admin.addToPolicy(
            new iam.PolicyStatement({ actions: ['kms:*', 'secretsmanager:*'], resources: ['*'] }),
          );
          for (const id of ['Action::kms:*', 'Action::secretsmanager:*', 'Resource::*']) {
            Validations.of(admin).acknowledge({
              id: `AwsSolutions-IAM5[${id}]`,
              reason: 'Test administrator.',
            });
          }
        },
      },
    );
    ids = {
      consumer: logicalIdOf(s.json, 'AWS::IAM::Role', 'Consumer'),
      allConsumer: logicalIdOf(s.json, 'AWS::IAM::Role', 'AllConnectionsConsumer'),
      admin: logicalIdOf(s.json, 'AWS::IAM::Role', 'Admin'),
      refresher: logicalIdOf(s.json, 'AWS::IAM::Role', 'TokenRefresherFunctionRole'),
      refreshTokenKey: logicalIdOf(s.json, 'AWS::KMS::Key', 'TokenRefresherRefreshTokenKey'),
      secretsKey: logicalIdOf(s.json, 'AWS::KMS::Key', 'TokenRefresherSecretsKey'),
    };
  });

  const identity = (role: string) => identityStatements(s.json, role);
  const kms = (
    key: string,
    role: string,
    action: string,
    via?: string,
    context: Record<string, string> = {},
  ) =>
    kmsDecision(keyPolicyStatements(s.json, key), identity(role), {
      principalArn: roleArn(role),
      action,
      resource: keyArn(key),
      context: { ...(via === undefined ? {} : { 'kms:ViaService': via }), ...context },
    });
  const getSecret = (role: string, secret: string, stages?: string[]): boolean =>
    iamAllows(identity(role), {
      principalArn: roleArn(role),
      action: 'secretsmanager:GetSecretValue',
      resource: secret,
      context: stages === undefined ? {} : { 'secretsmanager:VersionStage': stages },
    });

  it('grants GetSecretValue on that connection only, and only for the AWSCURRENT stage', () => {
    expect(getSecret(ids.consumer, ASKARA, ['AWSCURRENT'])).toBe(true);
    expect(getSecret(ids.consumer, ASKARA, ['AWSPREVIOUS'])).toBe(false);
    expect(getSecret(ids.consumer, ASKARA)).toBe(false);
    expect(getSecret(ids.consumer, OTHER, ['AWSCURRENT'])).toBe(false);
    expect(getSecret(ids.consumer, CLIENT, ['AWSCURRENT'])).toBe(false);
    // The six-character suffix pattern does not reach a connection whose name extends this one's.
    expect(getSecret(ids.consumer, secretArn('token-refresher/askara-prod-eu'), ['AWSCURRENT'])).toBe(false);
  });

  it('grants every connection but no client credentials when no connection is named', () => {
    expect(getSecret(ids.allConsumer, ASKARA, ['AWSCURRENT'])).toBe(true);
    expect(getSecret(ids.allConsumer, OTHER, ['AWSCURRENT'])).toBe(true);
    expect(getSecret(ids.allConsumer, CLIENT, ['AWSCURRENT'])).toBe(false);
  });

  it('lets the consumer decrypt with the secrets key only through Secrets Manager, only for its secret', () => {
    const context = { 'kms:EncryptionContext:SecretARN': ASKARA };
    expect(kms(ids.secretsKey, ids.consumer, 'kms:Decrypt', SM, context).allowed).toBe(true);
    expect(kms(ids.secretsKey, ids.consumer, 'kms:Decrypt', undefined, context).allowed).toBe(false);
    expect(
      kms(ids.secretsKey, ids.consumer, 'kms:Decrypt', SM, { 'kms:EncryptionContext:SecretARN': OTHER })
        .allowed,
    ).toBe(false);
    expect(kms(ids.secretsKey, ids.consumer, 'kms:GenerateDataKey', SM, context).allowed).toBe(false);
  });

  it("has no statement in the consumer's policy that allows any KMS action on the refresh-token key", () => {
    const refreshTokenKey = keyArn(ids.refreshTokenKey);
    for (const role of [ids.consumer, ids.allConsumer]) {
      for (const action of CRYPTO_ACTIONS) {
        const request: Request = { principalArn: roleArn(role), action, resource: refreshTokenKey };
        expect(iamAllows(identity(role), request), `${role} ${action}`).toBe(false);
        expect(iamAllows(identity(role), { ...request, context: { 'kms:ViaService': SM } })).toBe(false);
      }
    }
  });

  it('proves the consumer cannot decrypt a refresh token, directly or through any service', () => {
    for (const role of [ids.consumer, ids.allConsumer]) {
      for (const action of CRYPTO_ACTIONS) {
        for (const via of VIA) {
          const decision = kms(ids.refreshTokenKey, role, action, via, {
            'kms:EncryptionContext:token-refresher:purpose': 'refresh-token',
          });
          expect(decision.allowed, `${role} ${action} via ${via}: ${decision.reason}`).toBe(false);
          // Not only unallowed: the key policy's deny applies (principal ARN is not the refresher's).
          expect(decision.reason).toBe('explicit deny (DenyEveryoneElseAnyCryptographicUse)');
        }
      }
    }
  });

  it('denies even an administrator whose IAM policy allows kms:* on everything', () => {
    expect(kms(ids.secretsKey, ids.admin, 'kms:Decrypt').allowed).toBe(true);
    for (const action of CRYPTO_ACTIONS) {
      expect(kms(ids.refreshTokenKey, ids.admin, action).allowed, action).toBe(false);
    }
    // ...while keeping the key manageable.
    expect(kms(ids.refreshTokenKey, ids.admin, 'kms:PutKeyPolicy').allowed).toBe(true);
    expect(kms(ids.refreshTokenKey, ids.admin, 'kms:DescribeKey').allowed).toBe(true);
  });

  it('lets the refresher (and only the listed break-glass role besides) encrypt and decrypt refresh tokens', () => {
    expect(kms(ids.refreshTokenKey, ids.refresher, 'kms:Decrypt').allowed).toBe(true);
    expect(kms(ids.refreshTokenKey, ids.refresher, 'kms:Encrypt').allowed).toBe(true);
    expect(kms(ids.refreshTokenKey, ids.refresher, 'kms:ReEncryptFrom').allowed).toBe(false);
    const operator = kmsDecision(keyPolicyStatements(s.json, ids.refreshTokenKey), [], {
      principalArn: OPERATOR_ROLE,
      action: 'kms:Decrypt',
      resource: keyArn(ids.refreshTokenKey),
    });
    expect(operator.allowed).toBe(true);
  });

  it('lets the refresher read records through Secrets Manager, and not decrypt them directly', () => {
    const context = { 'kms:EncryptionContext:SecretARN': ASKARA };
    expect(kms(ids.secretsKey, ids.refresher, 'kms:Decrypt', SM, context).allowed).toBe(true);
    expect(kms(ids.secretsKey, ids.refresher, 'kms:GenerateDataKey', SM, context).allowed).toBe(true);
    expect(kms(ids.secretsKey, ids.refresher, 'kms:Decrypt', undefined, context).allowed).toBe(false);
    expect(getSecret(ids.refresher, CLIENT)).toBe(true);
  });

  describe('the evaluator can fail', () => {
    it('would let the consumer decrypt if the deny were gone and someone granted kms:Decrypt broadly', () => {
      const keyPolicy = keyPolicyStatements(s.json, ids.refreshTokenKey).filter(
        (statement) => statement.Effect !== 'Deny',
      );
      const broader: Statement = { Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' };
      const decision = kmsDecision(keyPolicy, [...identity(ids.consumer), broader], {
        principalArn: roleArn(ids.consumer),
        action: 'kms:Decrypt',
        resource: keyArn(ids.refreshTokenKey),
      });
      expect(decision.allowed).toBe(true);
    });

    it('refuses condition operators it does not model', () => {
      const odd: Statement = {
        Effect: 'Allow',
        Action: '*',
        Resource: '*',
        Condition: { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } },
      };
      expect(() =>
        iamAllows([odd], { principalArn: roleArn(ids.consumer), action: 'kms:Decrypt', resource: '*' }),
      ).toThrow(/unsupported condition operator DateGreaterThan/);
    });
  });

  it('rejects connection names that would widen the grant', () => {
    expect(() => s.stack.refresher.grantReadAccessToken(new iam.AnyPrincipal(), 'askara*')).toThrow(
      /no wildcards/,
    );
    expect(() => s.stack.refresher.grantReadAccessToken(new iam.AnyPrincipal(), 'a/b')).toThrow(
      /no wildcards/,
    );
  });
});
