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
const functionArn = (logicalId: string) =>
  `arn:aws:lambda:${ENV.region}:${ENV.account}:function:${logicalId}`;
/** The encryption context of a refresh token of connection askara-prod (lambda/core/record.ts). */
const REFRESH_TOKEN_CONTEXT = {
  'kms:EncryptionContext:token-refresher:secret': 'token-refresher/askara-prod',
  'kms:EncryptionContext:token-refresher:purpose': 'refresh-token',
};

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
    onDemand: string;
    scheduledFunction: string;
    onDemandFunction: string;
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
      onDemand: logicalIdOf(s.json, 'AWS::IAM::Role', 'TokenRefresherOnDemandFunctionRole'),
      scheduledFunction: logicalIdOf(s.json, 'AWS::Lambda::Function', 'TokenRefresherFunction'),
      onDemandFunction: logicalIdOf(s.json, 'AWS::Lambda::Function', 'TokenRefresherOnDemandFunction'),
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

  it('conditions the read on the single-valued VersionStage with StringEquals, not a set operator', () => {
    const statements = identity(ids.consumer).filter((statement) =>
      JSON.stringify(statement.Action).includes('secretsmanager:GetSecretValue'),
    );
    expect(statements).toHaveLength(1);
    expect(statements[0]!.Condition).toEqual({
      StringEquals: { 'secretsmanager:VersionStage': 'AWSCURRENT' },
    });
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
      const decision = kms(ids.refreshTokenKey, ids.admin, action);
      expect(decision.allowed, action).toBe(false);
      expect(decision.reason).toBe('explicit deny (DenyEveryoneElseAnyCryptographicUse)');
      // Even with a refresher's context, as if from inside a refresher function: it is not its role.
      const inside = kms(ids.refreshTokenKey, ids.admin, action, undefined, {
        ...REFRESH_TOKEN_CONTEXT,
        'lambda:SourceFunctionArn': functionArn(ids.scheduledFunction),
      });
      expect(inside.allowed, action).toBe(false);
    }
    // ...while keeping the key manageable (which is why KeyPolicyOrGrantChanged watches it).
    expect(kms(ids.refreshTokenKey, ids.admin, 'kms:PutKeyPolicy').allowed).toBe(true);
    expect(kms(ids.refreshTokenKey, ids.admin, 'kms:DescribeKey').allowed).toBe(true);
  });

  /** A refresher role's request on the refresh-token key, from inside `fromFunction` (or from outside any). */
  const fromFunction = (
    role: string,
    action: string,
    fromFunctionId?: string,
    context: Record<string, string> = REFRESH_TOKEN_CONTEXT,
  ) =>
    kms(ids.refreshTokenKey, role, action, undefined, {
      ...context,
      ...(fromFunctionId === undefined ? {} : { 'lambda:SourceFunctionArn': functionArn(fromFunctionId) }),
    });

  it('lets each refresher role encrypt and decrypt refresh tokens from inside its own function', () => {
    for (const [role, fn] of [
      [ids.refresher, ids.scheduledFunction],
      [ids.onDemand, ids.onDemandFunction],
    ] as const) {
      for (const action of ['kms:Decrypt', 'kms:Encrypt']) {
        const decision = fromFunction(role, action, fn);
        expect(decision.allowed, `${role} ${action}: ${decision.reason}`).toBe(true);
        expect(decision.reason).toBe('the key policy delegates to IAM, which allows');
      }
      // A rescued access token is encrypted under the same key with its own purpose.
      const rescue = {
        ...REFRESH_TOKEN_CONTEXT,
        'kms:EncryptionContext:token-refresher:purpose': 'rescued-access-token',
      };
      expect(fromFunction(role, 'kms:Encrypt', fn, rescue).allowed).toBe(true);
      expect(fromFunction(role, 'kms:ReEncryptFrom', fn).allowed).toBe(false);
      expect(fromFunction(role, 'kms:GenerateDataKey', fn).allowed).toBe(false);
    }
  });

  it("denies a refresher role's credentials used outside its function: no source function, or another function", () => {
    const strangerFunction = 'SomeoneElsesFunction';
    for (const [role, own, other] of [
      [ids.refresher, ids.scheduledFunction, ids.onDemandFunction],
      [ids.onDemand, ids.onDemandFunction, ids.scheduledFunction],
    ] as const) {
      for (const action of CRYPTO_ACTIONS) {
        // Taken out of the function (a laptop, another service): no lambda:SourceFunctionArn.
        const outside = fromFunction(role, action);
        expect(outside.allowed, `${role} ${action} outside`).toBe(false);
        expect(outside.reason).toBe('explicit deny (DenyTheRefreshTokenKeyOutsideTheOwnFunction)');
        // Passed to a new function, or used from the other refresher function.
        for (const fn of [strangerFunction, other]) {
          const elsewhere = fromFunction(role, action, fn);
          expect(elsewhere.allowed, `${role} ${action} from ${fn}`).toBe(false);
          expect(elsewhere.reason).toBe('explicit deny (DenyTheRefreshTokenKeyOutsideTheOwnFunction)');
        }
      }
      // From its own function, only with a refresher encryption context.
      expect(fromFunction(role, 'kms:Decrypt', own, {}).allowed).toBe(false);
      expect(
        fromFunction(role, 'kms:Decrypt', own, {
          ...REFRESH_TOKEN_CONTEXT,
          'kms:EncryptionContext:token-refresher:secret': 'token-refresher-clients/askara',
        }).allowed,
      ).toBe(false);
      expect(
        fromFunction(role, 'kms:Decrypt', own, {
          ...REFRESH_TOKEN_CONTEXT,
          'kms:EncryptionContext:token-refresher:purpose': 'anything',
        }).allowed,
      ).toBe(false);
    }
  });

  it("binds the role's allow itself to its own function, not only its deny (either alone keeps the key in the function)", () => {
    for (const [role, own, other] of [
      [ids.refresher, ids.scheduledFunction, ids.onDemandFunction],
      [ids.onDemand, ids.onDemandFunction, ids.scheduledFunction],
    ] as const) {
      const allowsOnly = identity(role).filter((statement) => statement.Effect === 'Allow');
      const decide = (fn?: string) =>
        kmsDecision(keyPolicyStatements(s.json, ids.refreshTokenKey), allowsOnly, {
          principalArn: roleArn(role),
          action: 'kms:Decrypt',
          resource: keyArn(ids.refreshTokenKey),
          context: {
            ...REFRESH_TOKEN_CONTEXT,
            ...(fn === undefined ? {} : { 'lambda:SourceFunctionArn': functionArn(fn) }),
          },
        });
      expect(decide(own).allowed).toBe(true);
      expect(decide(other).allowed).toBe(false);
      expect(decide().allowed).toBe(false);
    }
  });

  it('lets the listed break-glass role, and no one else, use the key without being a refresher function', () => {
    const operator = kmsDecision(keyPolicyStatements(s.json, ids.refreshTokenKey), [], {
      principalArn: OPERATOR_ROLE,
      action: 'kms:Decrypt',
      resource: keyArn(ids.refreshTokenKey),
    });
    expect(operator.allowed).toBe(true);
    expect(operator.reason).toBe('the key policy allows the principal');
  });

  it('refuses a key policy that names lambda:SourceFunctionArn (AWS ignores it in resource-based policies)', () => {
    const keyPolicy: Statement[] = [
      ...keyPolicyStatements(s.json, ids.refreshTokenKey),
      {
        Effect: 'Deny',
        Principal: '*',
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { ArnNotEquals: { 'lambda:SourceFunctionArn': functionArn(ids.scheduledFunction) } },
      },
    ];
    expect(() =>
      kmsDecision(keyPolicy, [], {
        principalArn: roleArn(ids.refresher),
        action: 'kms:Decrypt',
        resource: '*',
      }),
    ).toThrow(/lambda:SourceFunctionArn in a resource-based policy/);
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
