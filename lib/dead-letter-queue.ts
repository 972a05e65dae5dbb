import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { viaService } from './policy.js';

/** Properties of a {@link DeadLetterQueue}. */
export interface DeadLetterQueueProps {
  /** The ops key. */
  readonly encryptionKey: kms.IKey;
}

/**
 * Failed schedule deliveries and failed asynchronous invocations: encrypted with the ops
 * key, TLS enforced, kept 14 days. The `DeadLetterQueueNotEmpty` alarm watches it.
 */
export class DeadLetterQueue extends sqs.Queue {
  private readonly messageKey: kms.IKey;

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    super(scope, id, {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.messageKey = props.encryptionKey;
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue: of the EventBridge Scheduler schedule and of the ' +
        "function's failed asynchronous invocations. Nothing consumes it automatically; the " +
        'DeadLetterQueueNotEmpty alarm pages an operator, so a dead-letter queue behind it would never be read.',
    });
  }

  /**
   * Lets `sender` (a role that may already send to this queue) have SQS encrypt its
   * messages: SQS encrypts a message with the queue's key on behalf of the sender.
   */
  public grantEncryptMessages(sender: iam.IRole): void {
    sender.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptDeadLetters',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.messageKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': viaService('sqs') } },
      }),
    );
  }

  /**
   * This queue as a function's on-failure destination, with permissions written out (the
   * stock `SqsDestination` grants `kms:GenerateDataKey*` and `kms:ReEncrypt*` wildcards on
   * the queue's key). The function's role needs `sqs:SendMessage` and
   * {@link grantEncryptMessages}.
   */
  public asFailureDestination(): lambda.IDestination {
    const queueArn = this.queueArn;
    return { bind: () => ({ destination: queueArn }) };
  }
}
