import { Aws, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

/*
 * Three keys, three audiences. The secrets key protects what consumers may read (the
 * access token); the refresh-token key protects what only the refresher functions may
 * read (RefreshTokenKey says exactly what its policy does and does not stop). The ops
 * key protects operational data (alarm notifications, dead-lettered events) that AWS
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
  /** The refresher functions' roles (one per function): the principals meant to use the key. */
  readonly refresherRoles: readonly iam.IRole[];
  /**
   * Further role ARNs that may use the key (break-glass roles).
   * @default - none
   */
  readonly operatorRoleArns?: readonly string[];
}

/**
 * Encrypts the refresh token inside each record.
 *
 * What its policy does, and no more: it keeps the account's administrative access (so the
 * key stays manageable and IAM policies apply), lets the break-glass roles encrypt and
 * decrypt, and denies any cryptographic use to every principal whose ARN is not a
 * refresher role or a break-glass role, whatever its IAM policies say (an administrator
 * with `kms:*` included). The refresher roles themselves get the key only through their
 * own IAM policies, which allow it only from inside their own function and deny it
 * anywhere else (`lambda:SourceFunctionArn`, see refresher-function.ts: that key cannot
 * be used in a key policy).
 *
 * What it does not stop (docs/security.md, and the watch rules that report each): an
 * administrator who rewrites this policy (`kms:PutKeyPolicy`) or a refresher role's
 * policy (`iam:PutRolePolicy`); anyone who can change a refresher function's code or
 * configuration, who then runs as the refresher.
 */
export class RefreshTokenKey extends kms.Key {
  constructor(scope: Construct, id: string, props: RefreshTokenKeyProps) {
    super(
      scope,
      id,
      keyProps(scope, 'refresh tokens inside connection records; only the refresher functions may use it'),
    );
    const operators = [...(props.operatorRoleArns ?? [])];
    const users = [...props.refresherRoles.map((role) => role.roleArn), ...operators];
    // Principal "*" narrowed by aws:PrincipalArn rather than the roles as principals: KMS
    // validates principals when the policy is set, which can fail for a role created
    // seconds earlier; the condition has the same meaning without that race.
    if (operators.length > 0) {
      this.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowTheBreakGlassRolesToEncryptAndDecrypt',
          principals: [new iam.AnyPrincipal()],
          actions: ['kms:Encrypt', 'kms:Decrypt'],
          resources: ['*'],
          conditions: { ArnEquals: { 'aws:PrincipalArn': operators } },
        }),
      );
    }
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
    // CloudWatch alarms publish to the encrypted topic as the CloudWatch service; only for
    // alarms of this account (confused deputy: aws:SourceAccount).
    this.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublishToTheEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
  }

  /**
   * Lets EventBridge deliver the token-store watch rules' events to the encrypted alarm
   * topic. Without aws:SourceAccount / aws:SourceArn: the SNS developer guide
   * ("Enable compatibility between event sources from AWS services and encrypted topics")
   * says EventBridge's KMS requests do not carry them, so a condition on them would drop
   * every notification. The topic policy limits publishing to this stack's rules.
   */
  public allowEventBridgeToPublish(): void {
    this.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowEventBridgeToPublishToTheEncryptedTopic',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
  }
}
