import { MetricName } from '../contract/metric-names.js';
import type { EngineSettings } from '../contract/settings.js';
import type { FailureClass } from './errors.js';
import type {
  ClientCredentials,
  Clock,
  KeyService,
  LeaseStore,
  Logger,
  Metrics,
  MetricUnit,
  SecretCreator,
  SecretStore,
  TokenEndpoint,
} from './ports.js';
import type { WriteLimiter } from './rate-limiter.js';

/** Everything the engine works through: the ports, its settings and its identity. */
export interface EngineDeps {
  store: SecretStore;
  keys: KeyService;
  tokenEndpoint: TokenEndpoint;
  leases: LeaseStore;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  settings: EngineSettings;
  /** Identifies this invocation in lease items (e.g. the Lambda request id). */
  invocationId: string;
  /** Source of randomness for backoff jitter; injectable for deterministic tests. */
  random?: () => number;
  /** Reads a client-credentials secret; the run memoises it so a run reads each once. */
  credentials: (secretId: string) => Promise<ClientCredentials>;
  /** Creates a connection's secret that does not exist yet (see `SecretCreator`). */
  secretCreator?: SecretCreator;
  /** Paces Secrets Manager writes; the composition root always sets one. */
  writeLimiter?: WriteLimiter;
}

/**
 * Emits a metric without ever failing the caller: a metrics failure never fails a refresh.
 */
export function emit(
  deps: Pick<EngineDeps, 'metrics' | 'logger'>,
  name: MetricName,
  unit: MetricUnit,
  value: number,
  dimensions?: Record<string, string>,
): void {
  try {
    deps.metrics.add(name, unit, value, dimensions);
  } catch (error) {
    try {
      deps.logger.warn('metric could not be recorded', { metric: name, error: String(error) });
    } catch {
      // Logging is best effort here too.
    }
  }
}

/**
 * Publishes the metrics buffered so far, without ever failing the caller. The metrics
 * adapter otherwise publishes when the invocation ends, and a process that dies first (a
 * crash, the Lambda timeout) takes them with it: what an operator must see (a status
 * transition, a refused endpoint) is published as it happens.
 */
export async function flushMetrics(deps: Pick<EngineDeps, 'metrics' | 'logger'>): Promise<void> {
  try {
    await deps.metrics.flush();
  } catch (error) {
    try {
      deps.logger.warn('metrics could not be flushed', { error: String(error) });
    } catch {
      // Logging is best effort here too.
    }
  }
}

/**
 * Counts a failed refresh twice: once in total (what the alarm watches) and once by class
 * (what the dashboard breaks down).
 */
export function emitFailure(deps: Pick<EngineDeps, 'metrics' | 'logger'>, failureClass: FailureClass): void {
  emit(deps, MetricName.RefreshFailed, 'Count', 1);
  emit(deps, MetricName.RefreshFailed, 'Count', 1, { FailureClass: failureClass });
}
