import { ArnFormat, Aws, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { MetricName } from '../lambda/contract/metric-names.js';
import { METRICS_NAMESPACE } from '../lambda/contract/names.js';
import type { ResolvedSettings } from './settings.js';

/** Every alarm, in runbook order. Each has a section `## <id>` in docs/runbook.md. */
export const ALARM_IDS = [
  'CommitFailed',
  'HeartbeatMissing',
  'EndpointRefused',
  'RefreshFailuresPersisting',
  'ReauthRequired',
  'ReauthenticationDue',
  'AccessTokenNearExpiry',
  'FrequentRefreshes',
  'RefreshRateAboveCeiling',
  'LambdaErrors',
  'LambdaThrottles',
  'OnDemandLambdaErrors',
  'OnDemandLambdaThrottles',
  'DeadLetterQueueNotEmpty',
] as const;

export type AlarmId = (typeof ALARM_IDS)[number];

export interface TokenRefresherAlarmsProps {
  readonly alarmNamePrefix: string;
  /** The service name (the `service` dimension of every engine metric). */
  readonly serviceName: string;
  readonly settings: ResolvedSettings;
  readonly function: lambda.IFunction;
  /** The function consumers invoke after a 401. */
  readonly onDemandFunction: lambda.IFunction;
  readonly deadLetterQueue: sqs.IQueue;
  readonly topic: sns.ITopic;
}

/** Properties of an {@link AlarmTopic}. */
export interface AlarmTopicProps {
  /** The ops key. */
  readonly masterKey: kms.IKey;
  /** The alarms' name prefix: only alarms named with it may publish. */
  readonly alarmNamePrefix: string;
  /**
   * An e-mail address to subscribe.
   * @default - no subscription
   */
  readonly alarmEmail?: string;
}

/**
 * The topic every alarm notifies: encrypted with the ops key, TLS enforced, and only
 * this stack's alarms (by name prefix, in this account) may publish to it.
 */
export class AlarmTopic extends sns.Topic {
  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id, {
      displayName: 'token-refresher alarms',
      masterKey: props.masterKey,
      enforceSSL: true,
    });
    this.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowThisStacksAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topicArn],
        conditions: {
          ArnLike: {
            'aws:SourceArn': Stack.of(this).formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: `${props.alarmNamePrefix}*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        },
      }),
    );
    if (props.alarmEmail !== undefined) {
      this.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }
  }
}

/**
 * An engine metric (namespace `TokenRefresher`). The EMF adapter adds the `service` dimension
 * to every metric; the totals the alarms watch carry only that dimension.
 */
export function engineMetric(
  serviceName: string,
  metricName: MetricName,
  statistic: string,
  period: Duration,
  label?: string,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: serviceName },
    statistic,
    period,
    ...(label === undefined ? {} : { label }),
  });
}

/** The alarms of docs/runbook.md, each notifying `topic` on ALARM and on OK. */
export function createAlarms(
  scope: Construct,
  props: TokenRefresherAlarmsProps,
): Readonly<Record<AlarmId, cloudwatch.Alarm>> {
  const { settings, serviceName } = props;
  const period = settings.schedule;
  const hour = Duration.hours(1);
  const metric = (name: MetricName, statistic: string, metricPeriod: Duration) =>
    engineMetric(serviceName, name, statistic, metricPeriod);
  const seconds = (d: Duration) => d.toSeconds();

  type Definition = {
    severity: 'CRITICAL' | 'HIGH' | 'WARNING';
    summary: string;
    options: Omit<cloudwatch.AlarmProps, 'alarmName' | 'alarmDescription' | 'actionsEnabled'>;
  };

  const definitions: Record<AlarmId, Definition> = {
    CommitFailed: {
      severity: 'CRITICAL',
      summary:
        'A new token set could not be committed after the provider rotated the refresh token. It was rescued ' +
        'to the lease table (or, last resort, logged as ciphertext); a wrong move now can lose the grant.',
      options: {
        metric: metric(MetricName.CommitFailed, cloudwatch.Stats.SUM, period),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    },
    HeartbeatMissing: {
      severity: 'CRITICAL',
      summary: `No refresher run completed in two schedule periods (${seconds(period) * 2} s); missing data counts as breaching.`,
      options: {
        metric: metric(MetricName.RunCompleted, cloudwatch.Stats.SUM, Duration.seconds(seconds(period) * 2)),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      },
    },
    EndpointRefused: {
      severity: 'HIGH',
      summary:
        'A connection record, or a connect/import event, named a token endpoint outside the allowed origins ' +
        '(allowedTokenOrigins). Nothing was sent: someone edited a record or invoked the refresher to send a ' +
        'refresh token elsewhere, or the provider moved its token endpoint.',
      options: {
        metric: metric(MetricName.EndpointRefused, cloudwatch.Stats.SUM, period),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    },
    RefreshFailuresPersisting: {
      severity: 'HIGH',
      summary:
        `A connection failed to refresh, or waited out the backoff of its failures, in each of ` +
        `${settings.failureAlarmPeriods} consecutive schedule periods.`,
      options: {
        // A gauge: a connection that backs off fails only once per backoff step.
        metric: metric(MetricName.ConnectionsFailing, cloudwatch.Stats.MAXIMUM, period),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: settings.failureAlarmPeriods,
        datapointsToAlarm: settings.failureAlarmPeriods,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    },
    ReauthRequired: {
      severity: 'HIGH',
      summary:
        'At least one connection needs re-authentication (status reauth_required: the provider refused its ' +
        'refresh token, or it was never connected). It stays in ALARM until every such connection is reconnected.',
      options: {
        metric: metric(MetricName.ConnectionsNeedingReauth, cloudwatch.Stats.MAXIMUM, period),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // A gauge emitted by every run: without runs, keep the last state (HeartbeatMissing covers that).
        treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      },
    },
    ReauthenticationDue: {
      severity: 'WARNING',
      summary:
        `An active connection's refresh token expires within ${settings.reauthDueWithin.toDays()} days (the provider ` +
        'said so, or its documented lifetime ends): run the authorization code flow again before then, or it ' +
        'moves to reauth_required.',
      options: {
        metric: metric(MetricName.MinDaysToReauthentication, cloudwatch.Stats.MINIMUM, period),
        threshold: settings.reauthDueWithin.toDays(),
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // Emitted by every run while any connection's expiry is known; none known is not a breach.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    },
    AccessTokenNearExpiry: {
      severity: 'HIGH',
      summary: `An active connection's access token expires within ${seconds(settings.nearExpiryThreshold)} s (consumers may soon get 401s).`,
      options: {
        metric: metric(MetricName.MinSecondsToExpiry, cloudwatch.Stats.MINIMUM, period),
        threshold: seconds(settings.nearExpiryThreshold),
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    },
    FrequentRefreshes: {
      severity: 'WARNING',
      summary:
        `More than ${settings.earlyRefreshesPerHour} refreshes in one hour were made before the schedule would have made ` +
        'them (forced or on-demand): possible token theft, a consumer loop, or a misbehaving provider.',
      options: {
        metric: metric(MetricName.EarlyRefresh, cloudwatch.Stats.SUM, hour),
        threshold: settings.earlyRefreshesPerHour,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    },
    RefreshRateAboveCeiling: {
      severity: 'WARNING',
      summary:
        `More than ${settings.maxRefreshesPerHour} refreshes succeeded in one hour, more than token lifetimes explain: ` +
        'a refresh loop or very short-lived tokens. Sustained, it exhausts the secret version quota.',
      options: {
        metric: metric(MetricName.RefreshSucceeded, cloudwatch.Stats.SUM, hour),
        threshold: settings.maxRefreshesPerHour,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    },
    LambdaErrors: {
      severity: 'HIGH',
      summary:
        'A refresher invocation failed as a whole (crash, timeout, misconfiguration); per-connection failures ' +
        'do not count here.',
      options: {
        metric: props.function.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    },
    LambdaThrottles: {
      severity: 'WARNING',
      summary:
        'Invocations were throttled in 3 consecutive schedule periods. With reserved concurrency 1 a single ' +
        'overlap (an operator run during a scheduled one) is throttled and retried; only persistent throttling pages.',
      options: {
        metric: props.function.metricThrottles({ period, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    },
    OnDemandLambdaErrors: {
      severity: 'WARNING',
      summary:
        'An invocation of the on-demand function (the one consumers invoke after a 401) failed as a whole: a ' +
        'crash, a timeout, or an event it refuses (run, force, connect, import: someone who may invoke it is ' +
        'probing it).',
      options: {
        metric: props.onDemandFunction.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    },
    OnDemandLambdaThrottles: {
      severity: 'WARNING',
      summary:
        `The on-demand function was throttled at its reserved concurrency (${settings.onDemandReservedConcurrency}) ` +
        'in 3 consecutive schedule periods: a consumer flood or a loop. Scheduled refreshes are unaffected.',
      options: {
        metric: props.onDemandFunction.metricThrottles({ period, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    },
    DeadLetterQueueNotEmpty: {
      severity: 'HIGH',
      summary:
        'The dead-letter queue holds a schedule delivery that failed or a failed asynchronous invocation; ' +
        'a scheduled run did not happen.',
      options: {
        metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    },
  };

  const action = new actions.SnsAction(props.topic);
  const alarms = {} as Record<AlarmId, cloudwatch.Alarm>;
  for (const id of ALARM_IDS) {
    const { severity, summary, options } = definitions[id];
    const alarm = new cloudwatch.Alarm(scope, `${id}Alarm`, {
      ...options,
      alarmName: `${props.alarmNamePrefix}${id}`,
      alarmDescription: `[${severity}] ${summary} Runbook: docs/runbook.md#${id.toLowerCase()}`,
      actionsEnabled: true,
    });
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    alarms[id] = alarm;
  }
  return alarms;
}
