import { Aws, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type { Construct } from 'constructs';
import type { DeadLetterQueue } from './dead-letter-queue.js';
import { nagFinding } from './policy.js';

/**
 * The role EventBridge Scheduler invokes the refresher with, assumable only by schedules
 * of this account's default schedule group.
 */
export class SchedulerRole extends iam.Role {
  constructor(scope: Construct, id: string) {
    super(scope, id, {
      description: 'token-refresher: EventBridge Scheduler invokes the refresher',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': Aws.ACCOUNT_ID,
            'aws:SourceArn': Stack.of(scope).formatArn({
              service: 'scheduler',
              resource: 'schedule-group',
              resourceName: 'default',
            }),
          },
        },
      }),
    });
  }
}

/** Properties of a {@link RefresherSchedule}. */
export interface RefresherScheduleProps {
  /** The scheduled refresher function. */
  readonly function: lambda.IFunction;
  /** How often it runs. */
  readonly period: Duration;
  /** The role the schedule invokes the function with. */
  readonly role: iam.IRole;
  /** Where a delivery goes that failed every retry. */
  readonly deadLetterQueue: DeadLetterQueue;
}

/**
 * Runs the refresher every period with `{"action":"run"}`: 2 retries within one period
 * less a minute (a later delivery would be superseded by the next run), then the
 * dead-letter queue.
 */
export class RefresherSchedule extends scheduler.Schedule {
  constructor(scope: Construct, id: string, props: RefresherScheduleProps) {
    super(scope, id, {
      description: `token-refresher: run every ${props.period.toHumanString()}`,
      schedule: scheduler.ScheduleExpression.rate(props.period),
      target: new schedulerTargets.LambdaInvoke(props.function, {
        role: props.role,
        input: scheduler.ScheduleTargetInput.fromObject({ action: 'run' }),
        retryAttempts: 2,
        // A delivery older than this is superseded by the next scheduled run.
        maxEventAge: Duration.seconds(Math.max(60, props.period.toSeconds() - 60)),
        deadLetterQueue: props.deadLetterQueue,
      }),
    });
    Validations.of(props.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagFinding(this, `${props.function.functionArn}:*`)}]`,
      reason:
        "Added by the Scheduler LambdaInvoke target (Function.grantInvoke): the refresher function's own " +
        'qualified ARNs (versions and aliases of this one function). It grants nothing on any other resource.',
    });
  }
}
