import { Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../contract/names.js';
import type { Metrics, MetricUnit } from '../core/ports.js';

/**
 * Metrics as CloudWatch Embedded Metric Format log lines (Powertools Metrics): no API call,
 * so no extra failure path or latency in a run. Metrics with dimensions (per connection,
 * per failure class) are published as single metrics so each keeps its own dimensions.
 */
export class EmfMetrics implements Metrics {
  constructor(
    private readonly metrics: PowertoolsMetrics = new PowertoolsMetrics({
      namespace: METRICS_NAMESPACE,
      serviceName: SERVICE_NAME,
    }),
  ) {}

  add(name: string, unit: MetricUnit, value: number, dimensions?: Record<string, string>): void {
    if (dimensions && Object.keys(dimensions).length > 0) {
      const single = this.metrics.singleMetric();
      for (const [key, dimension] of Object.entries(dimensions)) single.addDimension(key, dimension);
      single.addMetric(name, unit, value);
      return;
    }
    this.metrics.addMetric(name, unit, value);
  }

  flush(): void {
    // The engine also flushes mid-invocation (core/engine.ts, `flushMetrics`): publishing
    // nothing would only log Powertools' "no application metrics" warning.
    if (this.metrics.hasStoredMetrics()) this.metrics.publishStoredMetrics();
  }
}
