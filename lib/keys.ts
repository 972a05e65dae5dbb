import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

/*
 * Three keys, three audiences. The secrets key protects what consumers may read (the
 * access token); the refresh-token key protects what only the refresher may read. The
 * ops key protects operational data (alarm notifications, dead-lettered events) that AWS
 * services must be able to write: putting those service principals on either token key
 * would widen who can use a key that guards tokens.
 */

/** Rotation on, and retained: a deleted key would make every ciphertext under it unreadable. */
function keyProps(scope: Construct, purpose: string): kms.KeyProps {
  return {
    description: `token-refresher (${Stack.of(scope).stackName}): ${purpose}`,
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  };
}

/**
 * Secrets Manager encrypts the connection records with this key, and the lease table is
 * encrypted with it. Consumers may decrypt with it only through Secrets Manager.
 */
export class SecretsKey extends kms.Key {
  constructor(scope: Construct, id: string) {
    super(scope, id, keyProps(scope, 'Secrets Manager encryption of connection records and the lease table'));
  }
}

/** Properties of a {@link RefreshTokenKey}. */
export interface RefreshTokenKeyProps {
  /** The refresher's role: the one principal meant to encrypt and decrypt refresh tokens. */
  readonly refresher: iam.IRole;
  /**
   * Further role ARNs that may use the key (break-glass roles).
   * @default - none
   */
  readonly operatorRoleArns?: readonly string[];
}

/**
 * Encrypts the refresh token inside each record. Its policy keeps the account's
 * administrative access (so the key stays manageable and IAM policies apply), allows the
 * refresher's role (and the operator roles) to encrypt and decrypt, and explicitly denies
 * every other principal — an administrator's IAM policy included — any cryptographic use.
 */
export class RefreshTokenKey extends kms.Key {
  constructor(scope: Construct, id: string, props: RefreshTokenKeyProps) {
    super(
      scope,
      id,
      keyProps(scope, 'refresh tokens inside connection records; only the refresher may use it'),
    );
    const users = [props.refresher.roleArn, ...(props.operatorRoleArns ?? [])];
    // Principal "*" narrowed by aws:PrincipalArn rather than the role as principal: KMS
    // validates principals when the policy is set, which can fail for a role created
    // seconds earlier; the condition has the same meaning without that race.
    this.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowTheRefresherToEncryptAndDecryptRefreshTokens',
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Encrypt', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { ArnEquals: { 'aws:PrincipalArn': users } },
      }),
    );
    this.addToResourcePolicy(
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
}

/** Encrypts the alarm topic and the dead-letter queue (operational data, no tokens). */
export class OpsKey extends kms.Key {
  constructor(scope: Construct, id: string) {
    super(scope, id, keyProps(scope, 'alarm topic and dead-letter queue'));
    // CloudWatch alarms publish to the encrypted topic as the CloudWatch service.
    this.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublishToTheEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
  }
}
