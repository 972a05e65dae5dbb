import { METRICS_NAMESPACE, SERVICE_NAME } from '../contract/names.js';
import type { Metrics, MetricUnit } from '../core/ports.js';
import { envFlag, isDevMode, writeJsonLine } from './json-lines.js';

/** The most metric definitions in one EMF document (the specification's limit). */
const MAX_METRICS = 100;
/** The most values one metric holds in one document (the specification's limit). */
const MAX_VALUES = 100;
/** The most dimensions of one metric: CloudWatch's 30, `service` included. */
const MAX_DIMENSIONS = 30;

interface Stored {
  unit: MetricUnit;
  values: number[];
}

export interface EmfMetricsOptions {
  namespace?: string;
  /** The `service` dimension of every metric. */
  serviceName?: string;
}

/**
 * Metrics as CloudWatch Embedded Metric Format log lines on stdout: no API call, so no extra
 * failure path or latency in a run. The documents are those Powertools Metrics wrote: every
 * metric has the `service` dimension; those without other dimensions are buffered, one
 * document per flush with a metric added more than once as an array of its values, a new
 * document past 100 metrics or at 100 values of one; a metric with dimensions (per failure
 * class) is written at once in a document of its own, so it keeps its dimensions.
 *
 * `POWERTOOLS_METRICS_DISABLED` (a true word) writes nothing; when it is not set, neither
 * does Powertools' dev mode (`POWERTOOLS_DEV`).
 */
export class EmfMetrics implements Metrics {
  private readonly namespace: string;
  private readonly service: string;
  private readonly disabled: boolean;
  private stored = new Map<string, Stored>();

  constructor({ namespace = METRICS_NAMESPACE, serviceName = SERVICE_NAME }: EmfMetricsOptions = {}) {
    this.namespace = namespace;
    this.service = serviceName;
    this.disabled = envFlag('POWERTOOLS_METRICS_DISABLED') ?? isDevMode();
  }

  add(name: string, unit: MetricUnit, value: number, dimensions?: Record<string, string>): void {
    // JSON has no NaN or Infinity: written as null, they would void the whole document.
    if (!Number.isFinite(value)) throw new RangeError(`${value} is not a valid value for metric ${name}`);
    if (dimensions && Object.keys(dimensions).length > 0) {
      this.write(new Map([[name, { unit, values: [value] }]]), checkedDimensions(dimensions));
      return;
    }
    if (this.stored.size >= MAX_METRICS) this.flush();
    const stored = this.stored.get(name);
    if (!stored) {
      this.stored.set(name, { unit, values: [value] });
      return;
    }
    if (stored.unit !== unit) {
      throw new Error(`Metric "${name}" has already been added with unit "${stored.unit}", not "${unit}"`);
    }
    stored.values.push(value);
    if (stored.values.length >= MAX_VALUES) this.flush();
  }

  flush(): void {
    if (this.stored.size === 0) return;
    const metrics = this.stored;
    this.stored = new Map();
    this.write(metrics, {});
  }

  private write(metrics: Map<string, Stored>, dimensions: Record<string, string>): void {
    if (this.disabled) return;
    const targets = { service: this.service, ...dimensions };
    const document: Record<string, unknown> = {
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: this.namespace,
            Dimensions: [Object.keys(targets)],
            Metrics: [...metrics].map(([name, { unit }]) => ({ Name: name, Unit: unit })),
          },
        ],
      },
      ...targets,
    };
    for (const [name, { values }] of metrics) document[name] = values.length === 1 ? values[0] : values;
    writeJsonLine(document);
  }
}

/**
 * A metric's own dimensions, refused (thrown) rather than published under other dimensions
 * when one is empty or they are too many (the engine's `emit` logs what it catches).
 */
function checkedDimensions(dimensions: Record<string, string>): Record<string, string> {
  const names = new Set(['service', ...Object.keys(dimensions)]);
  if (names.size > MAX_DIMENSIONS) throw new RangeError(`a metric has at most ${MAX_DIMENSIONS} dimensions`);
  for (const [name, value] of Object.entries(dimensions)) {
    if (name.trim() === '' || typeof value !== 'string' || value.trim() === '') {
      throw new RangeError(`dimension "${name}" needs a name and a value`);
    }
  }
  return dimensions;
}
