import { RemovalPolicy, SecretValue, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { connectionSecretName, LEASE_TABLE_KEY } from '../lambda/contract/names.js';
import { placeholderRecord } from '../lambda/core/record.js';

/** Properties of a {@link LeaseTable}. */
export interface LeaseTableProps {
  /** The secrets key: the table holds rescued token sets. */
  readonly encryptionKey: kms.IKey;
}

/**
 * Leases, "about to send" markers and rescued token sets, one item per connection:
 * on demand, point-in-time recovery, deletion protection, retained.
 */
export class LeaseTable extends dynamodb.Table {
  constructor(scope: Construct, id: string, props: LeaseTableProps) {
    super(scope, id, {
      partitionKey: { name: LEASE_TABLE_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}

/** Properties of a {@link ConnectionSecret}. */
export interface ConnectionSecretProps {
  /** The connection's name (validated by the settings). */
  readonly connection: string;
  /** The secret-name prefix of connection records. */
  readonly prefix: string;
  /** The secrets key. */
  readonly encryptionKey: kms.IKey;
}

/**
 * A pre-created connection: its secret, holding a placeholder record (status
 * `reauth_required`, no tokens) until an operator connects it. Retained.
 */
export class ConnectionSecret extends secretsmanager.Secret {
  constructor(scope: Construct, id: string, props: ConnectionSecretProps) {
    const { connection } = props;
    super(scope, id, {
      secretName: connectionSecretName(props.prefix, connection),
      description: `token-refresher connection "${connection}" (record written by the refresher; do not edit by hand)`,
      // Safe as plain text: the placeholder holds no token or secret, only the connection
      // name and status `reauth_required`. CloudFormation writes it once, at creation;
      // the refresher writes every later version. It must stay byte-stable (see the
      // placeholder test): a changed value would make the next deploy overwrite the
      // live record.
      secretStringValue: SecretValue.unsafePlainText(JSON.stringify(placeholderRecord(connection))),
      encryptionKey: props.encryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The token refresher itself rotates this secret: every access-token refresh commits a new version ' +
        '(AWSCURRENT/AWSPREVIOUS). A Secrets Manager rotation schedule would race it and could replay a ' +
        'single-use refresh token.',
    });
  }
}
