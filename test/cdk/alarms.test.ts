import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONNECTION_STATE_QUERY, MetricName } from '../../lambda/contract/metric-names.js';
import { ALARM_IDS, type AlarmId } from '../../lib/alarms.js';
import { resolve } from './support/policy-evaluator.js';
import {
  logicalIdOf,
  onlyPropertiesOfType,
  REPO_ROOT,
  resourcesOfType,
  type Synthesized,
  synth,
} from './support/synth.js';

const SERVICE = [{ Name: 'service', Value: 'token-refresher' }];

interface Expected {
  metric: string;
  namespace: string;
  dimensions?: unknown[];
  statistic: string;
  period: number;
  threshold: number;
  comparison: string;
  evaluationPeriods: number;
  datapointsToAlarm?: number;
  missing: 'breaching' | 'notBreaching' | 'ignore';
}

/** An engine metric whose every occurrence in a schedule period alarms. */
const ANY_IN_ONE_PERIOD = (metric: string): Expected => ({
  metric,
  namespace: 'TokenRefresher',
  dimensions: SERVICE,
  statistic: 'Sum',
  period: 300,
  threshold: 1,
  comparison: 'GreaterThanOrEqualToThreshold',
  evaluationPeriods: 1,
  missing: 'notBreaching',
});

/** A Lambda function's failed invocations (dimension FunctionName: that function). */
const LAMBDA_ERRORS: Expected = {
  ...ANY_IN_ONE_PERIOD('Errors'),
  namespace: 'AWS/Lambda',
  dimensions: undefined,
};

/** Throttles page only when they persist for 3 schedule periods. */
const LAMBDA_THROTTLES: Expected = {
  ...LAMBDA_ERRORS,
  metric: 'Throttles',
  evaluationPeriods: 3,
  datapointsToAlarm: 3,
};

/** What each alarm watches, at the default settings (schedule 5 minutes). */
const EXPECTED: Record<AlarmId, Expected> = {
  CommitFailed: ANY_IN_ONE_PERIOD(MetricName.CommitFailed),
  HeartbeatMissing: {
    metric: MetricName.RunCompleted,
    namespace: 'TokenRefresher',
    dimensions: SERVICE,
    statistic: 'Sum',
    period: 600,
    threshold: 1,
    comparison: 'LessThanThreshold',
    evaluationPeriods: 1,
    missing: 'breaching',
  },
  // Refused, nothing sent: one is enough to look.
  EndpointRefused: ANY_IN_ONE_PERIOD(MetricName.EndpointRefused),
  // Failing or backing off (a connection that backs off fails once per backoff step).
  RefreshFailuresPersisting: {
    ...ANY_IN_ONE_PERIOD(MetricName.ConnectionsFailing),
    statistic: 'Maximum',
    evaluationPeriods: 3,
    datapointsToAlarm: 3,
  },
  ReauthRequired: {
    metric: MetricName.ConnectionsNeedingReauth,
    namespace: 'TokenRefresher',
    dimensions: SERVICE,
    statistic: 'Maximum',
    period: 300,
    threshold: 0,
    comparison: 'GreaterThanThreshold',
    evaluationPeriods: 1,
    missing: 'ignore',
  },
  // Before an absolute refresh-token expiry: 14 days by default.
  ReauthenticationDue: {
    metric: MetricName.MinDaysToReauthentication,
    namespace: 'TokenRefresher',
    dimensions: SERVICE,
    statistic: 'Minimum',
    period: 300,
    threshold: 14,
    comparison: 'LessThanThreshold',
    evaluationPeriods: 1,
    missing: 'notBreaching',
  },
  AccessTokenNearExpiry: {
    metric: MetricName.MinSecondsToExpiry,
    namespace: 'TokenRefresher',
    dimensions: SERVICE,
    statistic: 'Minimum',
    period: 300,
    threshold: 300,
    comparison: 'LessThanThreshold',
    evaluationPeriods: 1,
    missing: 'notBreaching',
  },
  FrequentRefreshes: {
    metric: MetricName.EarlyRefresh,
    namespace: 'TokenRefresher',
    dimensions: SERVICE,
    statistic: 'Sum',
    period: 3600,
    threshold: 6,
    comparison: 'GreaterThanThreshold',
    evaluationPeriods: 1,
    missing: 'notBreaching',
  },
  RefreshRateAboveCeiling: {
    metric: MetricName.RefreshSucceeded,
    namespace: 'TokenRefresher',
    dimensions: SERVICE,
    statistic: 'Sum',
    period: 3600,
    threshold: 60,
    comparison: 'GreaterThanThreshold',
    evaluationPeriods: 1,
    missing: 'notBreaching',
  },
  LambdaErrors: LAMBDA_ERRORS,
  LambdaThrottles: LAMBDA_THROTTLES,
  // The on-demand function's own metrics (dimension FunctionName: that function), alike.
  OnDemandLambdaErrors: LAMBDA_ERRORS,
  OnDemandLambdaThrottles: LAMBDA_THROTTLES,
  DeadLetterQueueNotEmpty: {
    metric: 'ApproximateNumberOfMessagesVisible',
    namespace: 'AWS/SQS',
    statistic: 'Maximum',
    period: 300,
    threshold: 0,
    comparison: 'GreaterThanThreshold',
    evaluationPeriods: 1,
    missing: 'notBreaching',
  },
};

function alarmProperties(s: Synthesized, id: AlarmId): Record<string, unknown> {
  const logicalId = logicalIdOf(s.json, 'AWS::CloudWatch::Alarm', `TokenRefresher${id}Alarm`);
  return s.json.Resources[logicalId]?.Properties ?? {};
}

describe('alarms', () => {
  let s: Synthesized;
  let topic: string;
  let fn: string;
  let onDemandFn: string;
  let queue: string;

  beforeAll(() => {
    s = synth();
    topic = logicalIdOf(s.json, 'AWS::SNS::Topic', 'TokenRefresherAlarmTopic');
    fn = logicalIdOf(s.json, 'AWS::Lambda::Function', 'TokenRefresherFunction');
    onDemandFn = logicalIdOf(s.json, 'AWS::Lambda::Function', 'TokenRefresherOnDemandFunction');
    queue = logicalIdOf(s.json, 'AWS::SQS::Queue', 'TokenRefresherDeadLetterQueue');
  });

  it('creates exactly the runbook alarms', () => {
    expect(resourcesOfType(s.json, 'AWS::CloudWatch::Alarm')).toHaveLength(ALARM_IDS.length);
  });

  for (const id of ALARM_IDS) {
    it(`${id}: watches the right metric with the right threshold, and notifies the topic on ALARM and OK`, () => {
      const alarm = alarmProperties(s, id);
      const expected = EXPECTED[id];
      const dimensions =
        expected.dimensions ??
        (expected.namespace === 'AWS/Lambda'
          ? [{ Name: 'FunctionName', Value: { Ref: id.startsWith('OnDemand') ? onDemandFn : fn } }]
          : [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }]);
      expect(alarm).toMatchObject({
        AlarmName: `TokenRefresher-${id}`,
        MetricName: expected.metric,
        Namespace: expected.namespace,
        Dimensions: dimensions,
        Statistic: expected.statistic,
        Period: expected.period,
        Threshold: expected.threshold,
        ComparisonOperator: expected.comparison,
        EvaluationPeriods: expected.evaluationPeriods,
        TreatMissingData: expected.missing,
        ActionsEnabled: true,
        AlarmActions: [{ Ref: topic }],
        OKActions: [{ Ref: topic }],
      });
      expect(alarm.DatapointsToAlarm).toBe(expected.datapointsToAlarm);
      expect(alarm.AlarmDescription).toMatch(new RegExp(`Runbook: docs/runbook\\.md#${id.toLowerCase()}$`));
    });
  }

  it('heartbeat: two schedule periods, missing data breaching', () => {
    const alarm = alarmProperties(s, 'HeartbeatMissing');
    expect(alarm.Period).toBe(2 * 300);
    expect(alarm.TreatMissingData).toBe('breaching');
  });

  it("watches the on-demand function's own errors and throttles, not only the scheduled function's", () => {
    for (const id of ['OnDemandLambdaErrors', 'OnDemandLambdaThrottles'] as const) {
      expect(alarmProperties(s, id).Dimensions).toEqual([
        { Name: 'FunctionName', Value: { Ref: onDemandFn } },
      ]);
    }
  });

  it('marks the commit failure and the heartbeat critical', () => {
    expect(alarmProperties(s, 'CommitFailed').AlarmDescription).toMatch(/^\[CRITICAL\]/);
    expect(alarmProperties(s, 'HeartbeatMissing').AlarmDescription).toMatch(/^\[CRITICAL\]/);
  });

  it('follows the configured schedule and thresholds', () => {
    const custom = synth({
      scheduleMinutes: 2,
      refreshWindowSeconds: 900,
      nearExpirySeconds: 120,
      failureAlarmPeriods: 5,
      earlyRefreshesPerHour: 2,
      reauthDueWithinDays: 30,
      connections: JSON.stringify(Array.from({ length: 20 }, (_, i) => `c${i}`)),
    });
    expect(alarmProperties(custom, 'ReauthenticationDue').Threshold).toBe(30);
    expect(alarmProperties(custom, 'HeartbeatMissing').Period).toBe(240);
    expect(alarmProperties(custom, 'RefreshFailuresPersisting')).toMatchObject({
      Period: 120,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
    });
    expect(alarmProperties(custom, 'AccessTokenNearExpiry').Threshold).toBe(120);
    expect(alarmProperties(custom, 'FrequentRefreshes').Threshold).toBe(2);
    // 4 an hour per pre-created connection once that exceeds the floor of 60.
    expect(alarmProperties(custom, 'RefreshRateAboveCeiling').Threshold).toBe(80);
  });
});

describe('runbook', () => {
  const runbook = readFileSync(join(REPO_ROOT, 'docs', 'runbook.md'), 'utf8');
  const sections = new Map<string, string>();
  for (const part of runbook.split(/^## /m).slice(1)) {
    const [heading = '', ...body] = part.split('\n');
    sections.set(heading.trim(), body.join('\n'));
  }

  for (const id of ALARM_IDS) {
    it(`has a section for ${id}: what it means, what to do, which command`, () => {
      const section = sections.get(id);
      expect(section, `docs/runbook.md has no "## ${id}" section`).toBeDefined();
      expect(section).toMatch(/\*\*What it means\*\*/);
      expect(section).toMatch(/\*\*What to do\*\*/);
      expect(section).toMatch(/```(sh|bash)\n/);
    });
  }
});

describe('dashboard', () => {
  let s: Synthesized;
  let body: { widgets: { type: string; properties: Record<string, unknown> }[] };

  beforeAll(() => {
    s = synth();
    const dashboard = onlyPropertiesOfType(s.json, 'AWS::CloudWatch::Dashboard');
    body = JSON.parse(resolve(s.json, dashboard.DashboardBody) as string);
  });

  const titles = () => body.widgets.map((widget) => widget.properties.title);
  const metricsOf = (title: string) =>
    JSON.stringify(body.widgets.find((widget) => widget.properties.title === title)?.properties.metrics);

  it('has every panel the operators need', () => {
    expect(titles()).toEqual([
      'Alarms',
      'Refreshes',
      'Failures by class',
      'Connections needing re-authentication',
      'Access tokens: soonest expiry (s) and connections near expiry',
      'Re-authentication: soonest (days) and connections due soon',
      'Connections, soonest access-token expiry first (Logs Insights)',
      'Connections backing off (skipped per run)',
      'Duration (ms)',
      'Lambda errors and throttles',
      'Dead-letter queue',
    ]);
  });

  it('shows the state of every alarm', () => {
    const alarmWidget = body.widgets.find((widget) => widget.type === 'alarm');
    expect([...((alarmWidget?.properties.alarms ?? []) as string[])].sort()).toEqual(
      ALARM_IDS.map((id) => `arn:aws:cloudwatch:eu-west-1:111122223333:alarm:TokenRefresher-${id}`).sort(),
    );
  });

  it('splits failures by class with SEARCH; no metric has a per-connection dimension', () => {
    expect(metricsOf('Failures by class')).toContain(
      `SEARCH('{TokenRefresher,FailureClass,service} service=\\"token-refresher\\" MetricName=\\"RefreshFailed\\"', 'Sum', 300)`,
    );
    expect(JSON.stringify(body)).not.toContain('Connection,service');
    expect(metricsOf('Access tokens: soonest expiry (s) and connections near expiry')).toContain(
      '"MinSecondsToExpiry"',
    );
    expect(metricsOf('Access tokens: soonest expiry (s) and connections near expiry')).toContain(
      '"ConnectionsNearExpiry"',
    );
  });

  it("shows each connection from the runs' log lines with a Logs Insights query", () => {
    const widget = body.widgets.find((w) => w.type === 'log');
    expect(widget?.properties.title).toBe('Connections, soonest access-token expiry first (Logs Insights)');
    expect(String(widget?.properties.query)).toContain(CONNECTION_STATE_QUERY);
    expect(String(widget?.properties.query)).toMatch(/^SOURCE '/);
  });

  it("plots the on-demand function's errors, throttles and invocations, and refused endpoints", () => {
    const onDemand = logicalIdOf(s.json, 'AWS::Lambda::Function', 'TokenRefresherOnDemandFunction');
    expect(metricsOf('Lambda errors and throttles')).toContain(onDemand);
    expect(metricsOf('Failures by class')).toContain('"EndpointRefused"');
  });

  it('plots refreshes, re-auth needed, durations, errors and throttles', () => {
    expect(metricsOf('Refreshes')).toContain('"RefreshSucceeded"');
    expect(metricsOf('Connections needing re-authentication')).toContain('"ConnectionsNeedingReauth"');
    expect(metricsOf('Duration (ms)')).toContain('"RefreshLatency"');
    expect(metricsOf('Duration (ms)')).toContain('"Duration"');
    expect(metricsOf('Lambda errors and throttles')).toContain('"Errors"');
    expect(metricsOf('Lambda errors and throttles')).toContain('"Throttles"');
  });
});
