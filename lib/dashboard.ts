import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { CONNECTION_STATE_QUERY, MetricName } from '../lambda/contract/metric-names.js';
import { METRICS_NAMESPACE } from '../lambda/contract/names.js';
import { ALARM_IDS, type AlarmId, engineMetric } from './alarms.js';
import type { ResolvedSettings } from './settings.js';

export interface TokenRefresherDashboardProps {
  readonly dashboardName: string;
  readonly serviceName: string;
  readonly settings: ResolvedSettings;
  readonly function: lambda.IFunction;
  /** The scheduled function's log group: its runs' per-connection lines. */
  readonly logGroup: logs.ILogGroup;
  readonly onDemandFunction: lambda.IFunction;
  readonly deadLetterQueue: sqs.IQueue;
  readonly alarms: Readonly<Record<AlarmId, cloudwatch.Alarm>>;
}

/**
 * A CloudWatch SEARCH over the engine metric `metricName` split by `dimension` (one line
 * per failure class or per connection; new ones appear without a deploy).
 */
export function searchExpression(
  serviceName: string,
  metricName: MetricName,
  dimension: 'FailureClass' | 'Connection',
  statistic: 'Sum' | 'Minimum',
  periodSeconds: number,
): string {
  return (
    `SEARCH('{${METRICS_NAMESPACE},${dimension},service} service="${serviceName}" ` +
    `MetricName="${metricName}"', '${statistic}', ${periodSeconds})`
  );
}

/**
 * The operations dashboard: refreshes, failures by class, the soonest expiry and the
 * connections near it (and, per connection, a Logs Insights table of the runs' lines),
 * re-auth needed, durations, Lambda errors and throttles, and the state of
 * every alarm.
 */
export function createDashboard(scope: Construct, props: TokenRefresherDashboardProps): cloudwatch.Dashboard {
  const { settings, serviceName } = props;
  const period = settings.schedule;
  const periodSeconds = period.toSeconds();
  const metric = (name: MetricName, statistic: string, label: string) =>
    engineMetric(serviceName, name, statistic, period, label);

  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    dashboardName: props.dashboardName,
    defaultInterval: Duration.days(1),
  });

  dashboard.addWidgets(
    new cloudwatch.AlarmStatusWidget({
      title: 'Alarms',
      alarms: ALARM_IDS.map((id) => props.alarms[id]),
      width: 24,
      height: 4,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Refreshes',
      left: [
        metric(MetricName.RefreshSucceeded, cloudwatch.Stats.SUM, 'Succeeded'),
        metric(MetricName.EarlyRefresh, cloudwatch.Stats.SUM, 'Early (forced or on demand)'),
        metric(MetricName.RunCompleted, cloudwatch.Stats.SUM, 'Runs completed'),
      ],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Failures by class',
      left: [
        new cloudwatch.MathExpression({
          expression: searchExpression(
            serviceName,
            MetricName.RefreshFailed,
            'FailureClass',
            'Sum',
            periodSeconds,
          ),
          label: '',
          period,
        }),
        metric(MetricName.CommitFailed, cloudwatch.Stats.SUM, 'Commit failed (critical)'),
        metric(MetricName.EndpointRefused, cloudwatch.Stats.SUM, 'Endpoint refused (not an allowed origin)'),
      ],
      stacked: true,
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Connections needing re-authentication',
      left: [metric(MetricName.ConnectionsNeedingReauth, cloudwatch.Stats.MAXIMUM, 'Needing re-auth')],
      leftYAxis: { min: 0 },
      width: 8,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Access tokens: soonest expiry (s) and connections near expiry',
      left: [metric(MetricName.MinSecondsToExpiry, cloudwatch.Stats.MINIMUM, 'Soonest expiry (s)')],
      right: [metric(MetricName.ConnectionsNearExpiry, cloudwatch.Stats.MAXIMUM, 'Near expiry (count)')],
      leftAnnotations: [
        {
          value: settings.nearExpiryThreshold.toSeconds(),
          label: 'Near-expiry alarm',
          color: cloudwatch.Color.RED,
        },
        {
          value: settings.refreshWindow.toSeconds(),
          label: 'Refresh window',
          color: cloudwatch.Color.ORANGE,
        },
      ],
      leftYAxis: { min: 0 },
      rightYAxis: { min: 0 },
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Re-authentication: soonest (days) and connections due soon',
      left: [metric(MetricName.MinDaysToReauthentication, cloudwatch.Stats.MINIMUM, 'Soonest (days)')],
      right: [metric(MetricName.ConnectionsReauthDueSoon, cloudwatch.Stats.MAXIMUM, 'Due soon (count)')],
      leftAnnotations: [
        {
          value: settings.reauthDueWithin.toDays(),
          label: 'Re-authentication due alarm',
          color: cloudwatch.Color.RED,
        },
      ],
      leftYAxis: { min: 0 },
      rightYAxis: { min: 0 },
      width: 12,
    }),
  );
  dashboard.addWidgets(
    // Per connection from the runs' log lines, not from metrics (a metric per connection is billed per month).
    new cloudwatch.LogQueryWidget({
      title: 'Connections, soonest access-token expiry first (Logs Insights)',
      logGroupNames: [props.logGroup.logGroupName],
      queryString: CONNECTION_STATE_QUERY,
      view: cloudwatch.LogQueryVisualizationType.TABLE,
      width: 24,
      height: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Connections backing off (skipped per run)',
      left: [metric(MetricName.BackoffSkipped, cloudwatch.Stats.SUM, 'Backing off')],
      leftYAxis: { min: 0 },
      width: 12,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Duration (ms)',
      left: [
        metric(MetricName.RefreshLatency, cloudwatch.Stats.AVERAGE, 'Token request, average'),
        metric(MetricName.RefreshLatency, cloudwatch.Stats.MAXIMUM, 'Token request, max'),
      ],
      right: [
        props.function.metricDuration({ period, statistic: cloudwatch.Stats.MAXIMUM, label: 'Run, max' }),
        props.function.metricDuration({ period, statistic: cloudwatch.Stats.AVERAGE, label: 'Run, average' }),
      ],
      rightAnnotations: [
        { value: settings.timeout.toMilliseconds(), label: 'Timeout', color: cloudwatch.Color.RED },
      ],
      width: 12,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Lambda errors and throttles',
      left: [
        props.function.metricErrors({ period, statistic: cloudwatch.Stats.SUM, label: 'Errors' }),
        props.function.metricThrottles({ period, statistic: cloudwatch.Stats.SUM, label: 'Throttles' }),
        props.function.metricInvocations({ period, statistic: cloudwatch.Stats.SUM, label: 'Invocations' }),
        props.onDemandFunction.metricErrors({
          period,
          statistic: cloudwatch.Stats.SUM,
          label: 'On-demand errors',
        }),
        props.onDemandFunction.metricThrottles({
          period,
          statistic: cloudwatch.Stats.SUM,
          label: 'On-demand throttles',
        }),
        props.onDemandFunction.metricInvocations({
          period,
          statistic: cloudwatch.Stats.SUM,
          label: 'On-demand invocations',
        }),
      ],
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Dead-letter queue',
      left: [
        props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period,
          statistic: cloudwatch.Stats.MAXIMUM,
          label: 'Messages visible',
        }),
      ],
      leftYAxis: { min: 0 },
      width: 12,
    }),
  );
  return dashboard;
}
