import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EmfMetrics } from '../../../lambda/adapters/emf-metrics.js';
import { captureOutput } from '../../support/output-capture.js';

/**
 * The EMF documents Powertools Metrics wrote (@aws-lambda-powertools/metrics 2.36, which this
 * adapter replaces; its output was compared document by document before it was removed),
 * each checked against the CloudWatch Embedded Metric Format specification:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */

const UNITS = [
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
];

const name = { type: 'string', minLength: 1, maxLength: 255 };

/** The specification's document structure (its JSON schema, with today's limits). */
const validEmf = new Ajv2020({ allErrors: true }).compile({
  type: 'object',
  required: ['_aws'],
  properties: {
    _aws: {
      type: 'object',
      required: ['Timestamp', 'CloudWatchMetrics'],
      additionalProperties: false,
      properties: {
        Timestamp: { type: 'integer', minimum: 0 },
        CloudWatchMetrics: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['Namespace', 'Dimensions', 'Metrics'],
            additionalProperties: false,
            properties: {
              Namespace: name,
              // A DimensionSet holds at most 30 dimension keys.
              Dimensions: { type: 'array', minItems: 1, items: { type: 'array', maxItems: 30, items: name } },
              // At most 100 MetricDefinitions.
              Metrics: {
                type: 'array',
                maxItems: 100,
                items: {
                  type: 'object',
                  required: ['Name'],
                  additionalProperties: false,
                  properties: { Name: name, Unit: { enum: UNITS }, StorageResolution: { enum: [1, 60] } },
                },
              },
            },
          },
        },
      },
    },
  },
});

type Directive = { Dimensions: string[][]; Metrics: { Name: string }[] };

/** The specification's rules on target members, which a schema cannot express. */
function targetViolations(document: Record<string, unknown>): string[] {
  const violations: string[] = [];
  const directives = (document._aws as { CloudWatchMetrics: Directive[] }).CloudWatchMetrics;
  for (const directive of directives) {
    for (const key of directive.Dimensions.flat()) {
      const value = document[key];
      if (typeof value !== 'string' || value === '') violations.push(`dimension ${key} is ${value}`);
    }
    for (const { Name } of directive.Metrics) {
      const value = document[Name];
      const values = Array.isArray(value) ? value : [value];
      if (values.length === 0 || values.length > 100)
        violations.push(`metric ${Name} has ${values.length} values`);
      if (!values.every(Number.isFinite)) violations.push(`metric ${Name} is ${JSON.stringify(value)}`);
    }
  }
  return violations;
}

/** The EMF documents written to stdout by `fn` (checked against the specification), and whether stderr stayed empty. */
async function documents(fn: () => void): Promise<Record<string, unknown>[]> {
  const output = captureOutput();
  await output.during(async () => fn());
  expect(output.text('stderr')).toBe('');
  const lines = output.text('stdout').split('\n');
  expect(lines.pop()).toBe('');
  const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  for (const document of parsed) {
    expect(validEmf(document), JSON.stringify(validEmf.errors)).toBe(true);
    expect(targetViolations(document)).toEqual([]);
  }
  return parsed;
}

const directive = (document: Record<string, unknown>) =>
  (document._aws as { CloudWatchMetrics: (Directive & { Namespace: string })[] }).CloudWatchMetrics[0]!;

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', undefined);
  vi.stubEnv('POWERTOOLS_DEV', undefined);
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('EmfMetrics', () => {
  it('buffers metrics without dimensions until flush: one document, dimension service, a repeated metric as an array', async () => {
    const metrics = new EmfMetrics();
    const before = Date.now();
    const written = await documents(() => {
      metrics.add('RunCompleted', 'Count', 1);
      metrics.add('RefreshLatency', 'Milliseconds', 120);
      metrics.add('RefreshLatency', 'Milliseconds', 80);
      metrics.add('MinSecondsToExpiry', 'Seconds', 3599.5);
      metrics.add('ConnectionsScanned', 'Count', 3, {});
    });
    expect(written).toEqual([]);
    const [document, ...rest] = await documents(() => {
      metrics.flush();
      metrics.flush();
    });
    expect(rest).toEqual([]);
    expect(document).toEqual({
      _aws: {
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [
          {
            Namespace: 'TokenRefresher',
            Dimensions: [['service']],
            Metrics: [
              { Name: 'RunCompleted', Unit: 'Count' },
              { Name: 'RefreshLatency', Unit: 'Milliseconds' },
              { Name: 'MinSecondsToExpiry', Unit: 'Seconds' },
              { Name: 'ConnectionsScanned', Unit: 'Count' },
            ],
          },
        ],
      },
      service: 'token-refresher',
      RunCompleted: 1,
      RefreshLatency: [120, 80],
      MinSecondsToExpiry: 3599.5,
      ConnectionsScanned: 3,
    });
    expect(Object.keys(document!)[0]).toBe('_aws');
    expect((document!._aws as { Timestamp: number }).Timestamp).toBeGreaterThanOrEqual(before);
  });

  it('writes a metric with dimensions at once, in a document of its own with them after service', async () => {
    const metrics = new EmfMetrics({ namespace: 'Ns', serviceName: 'svc' });
    const written = await documents(() => {
      metrics.add('RunCompleted', 'Count', 1);
      metrics.add('RefreshFailed', 'Count', 1, { FailureClass: 'transient', Provider: 'xero' });
    });
    expect(written).toEqual([
      {
        _aws: {
          Timestamp: expect.any(Number),
          CloudWatchMetrics: [
            {
              Namespace: 'Ns',
              Dimensions: [['service', 'FailureClass', 'Provider']],
              Metrics: [{ Name: 'RefreshFailed', Unit: 'Count' }],
            },
          ],
        },
        service: 'svc',
        FailureClass: 'transient',
        Provider: 'xero',
        RefreshFailed: 1,
      },
    ]);
    const [buffered] = await documents(() => metrics.flush());
    expect(directive(buffered!).Dimensions).toEqual([['service']]);
    expect(buffered!.RunCompleted).toBe(1);
  });

  it('begins a new document past 100 metrics, and writes one as soon as a metric has 100 values', async () => {
    const metrics = new EmfMetrics();
    const [full, ...none] = await documents(() => {
      for (let i = 0; i < 101; i++) metrics.add(`Metric${i}`, 'Count', i);
    });
    expect(none).toEqual([]);
    expect(directive(full!).Metrics).toHaveLength(100);
    expect(full!.Metric99).toBe(99);
    const [rest] = await documents(() => metrics.flush());
    expect(directive(rest!).Metrics).toEqual([{ Name: 'Metric100', Unit: 'Count' }]);

    const batches = await documents(() => {
      for (let i = 0; i < 250; i++) metrics.add('Latency', 'Milliseconds', i);
    });
    expect(batches.map((document) => (document.Latency as number[]).length)).toEqual([100, 100]);
    const [last] = await documents(() => metrics.flush());
    expect(last!.Latency).toHaveLength(50);
    expect((last!.Latency as number[])[0]).toBe(200);
  });

  it('refuses what would void a document or count a metric under other dimensions, writing nothing', async () => {
    const metrics = new EmfMetrics();
    const written = await documents(() => {
      expect(() => metrics.add('Latency', 'Milliseconds', Number.NaN)).toThrow(RangeError);
      expect(() => metrics.add('Latency', 'Milliseconds', Number.POSITIVE_INFINITY)).toThrow(RangeError);
      expect(() => metrics.add('RefreshFailed', 'Count', 1, { FailureClass: ' ' })).toThrow(RangeError);
      expect(() => metrics.add('RefreshFailed', 'Count', 1, { '': 'transient' })).toThrow(RangeError);
      const dimensions = (count: number) =>
        Object.fromEntries(Array.from({ length: count }, (_, i) => [`D${i}`, 'v']));
      expect(() => metrics.add('Wide', 'Count', 1, dimensions(30))).toThrow(RangeError);
      metrics.add('Latency', 'Milliseconds', 5);
      expect(() => metrics.add('Latency', 'Seconds', 1)).toThrow(
        'already been added with unit "Milliseconds"',
      );
    });
    expect(written).toEqual([]);
    const widest = await documents(() =>
      metrics.add(
        'Wide',
        'Count',
        1,
        Object.fromEntries(Array.from({ length: 29 }, (_, i) => [`D${i}`, 'v'])),
      ),
    );
    expect(directive(widest[0]!).Dimensions[0]).toHaveLength(30);
    const [document] = await documents(() => metrics.flush());
    expect(document!.Latency).toBe(5);
  });

  it.each([
    [{ POWERTOOLS_METRICS_DISABLED: 'true' }, 0],
    [{ POWERTOOLS_METRICS_DISABLED: ' ON ' }, 0],
    [{ POWERTOOLS_METRICS_DISABLED: 'false' }, 2],
    [{ POWERTOOLS_DEV: '1' }, 0],
    [{ POWERTOOLS_DEV: 'yes', POWERTOOLS_METRICS_DISABLED: '0' }, 2],
    [{ POWERTOOLS_DEV: 'no' }, 2],
  ])('environment %j: %i documents', async (env, count) => {
    for (const [variable, value] of Object.entries(env)) vi.stubEnv(variable, value);
    const metrics = new EmfMetrics();
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const written = await documents(() => {
        metrics.add('RefreshFailed', 'Count', 1, { FailureClass: 'transient' });
        metrics.add('RunCompleted', 'Count', 1);
        metrics.flush();
      });
      // Dev mode writes through the global console, as Powertools did.
      expect(written.length + log.mock.calls.length).toBe(count);
    } finally {
      log.mockRestore();
    }
  });
});
