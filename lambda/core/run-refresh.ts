import pLimit from 'p-limit';
import { MetricName } from '../contract/metric-names.js';
import type { Budget } from './budget.js';
import { parseClientCredentials } from './client-credentials.js';
import { type EngineDeps, emit, emitFailure } from './engine.js';
import { describeError } from './errors.js';
import { currentHint, mustRead } from './hint.js';
import type { ClientCredentials, SecretSummary } from './ports.js';
import { rateLimitedStore } from './rate-limiter.js';
import { type ConnectionResult, refreshConnection } from './refresh-connection.js';

export interface RunOptions {
  budget: Budget;
  /** Refresh even when not due (operator). */
  force?: boolean;
  /** Limit the run to these connections (names without the prefix). */
  connections?: string[];
}

export interface RunSummary {
  scanned: number;
  read: number;
  refreshed: number;
  restored: number;
  skipped: number;
  failed: number;
  results: ConnectionResult[];
}

/**
 * One scheduled run: every connection under the prefix, discovered now, with bounded
 * concurrency. Connections whose hint says they are not due cost no secret read.
 * One connection's failure never stops another's refresh.
 */
export async function runRefresh(
  deps: Omit<EngineDeps, 'credentials'> & { credentials?: EngineDeps['credentials'] },
  options: RunOptions,
): Promise<RunSummary> {
  const engine: EngineDeps = {
    ...deps,
    store: rateLimitedStore(deps.store, deps.clock, deps.settings.writesPerSecond),
    credentials: deps.credentials ?? clientCredentialsReader(deps.store),
  };
  const { settings, clock, logger } = engine;
  const wanted = options.connections ? new Set(options.connections) : undefined;

  const summaries: SecretSummary[] = [];
  for await (const summary of engine.store.list(settings.prefix)) {
    const connection = summary.name.slice(settings.prefix.length);
    if (connection.length === 0) continue;
    if (wanted && !wanted.has(connection)) continue;
    summaries.push(summary);
  }

  const limit = pLimit(settings.concurrency);
  const results = await Promise.all(
    summaries.map((summary) =>
      limit(async (): Promise<ConnectionResult & { read: boolean }> => {
        const connection = summary.name.slice(settings.prefix.length);
        const hint = currentHint(summary);
        if (!options.force && !wanted && !mustRead(summary, clock.now(), settings)) {
          return {
            connection,
            status: 'skipped',
            reason: 'not_due',
            versionId: summary.currentVersionId,
            expiresAt: hint?.expiresAt,
            recordStatus: hint?.status,
            read: false,
          };
        }
        try {
          const result = await refreshConnection(engine, {
            connection,
            budget: options.budget,
            force: options.force,
            rewriteHint: hint === undefined,
          });
          return { ...result, read: true };
        } catch (error) {
          // refreshConnection does not throw; this guards the run against a bug all the same.
          emitFailure(engine, 'internal');
          logger.error('connection refresh failed unexpectedly', { connection, error: describeError(error) });
          return {
            connection,
            status: 'failed',
            failureClass: 'internal',
            message: describeError(error),
            read: true,
          };
        }
      }),
    ),
  );

  const now = clock.now();
  let minSecondsToExpiry: number | undefined;
  for (const result of results) {
    const active =
      result.status !== 'skipped' || result.recordStatus === undefined || result.recordStatus === 'active';
    if (result.expiresAt !== undefined && active) {
      const seconds = Math.round((result.expiresAt - now) / 1000);
      emit(engine, MetricName.SecondsToExpiry, 'Seconds', seconds, { Connection: result.connection });
      minSecondsToExpiry = Math.min(minSecondsToExpiry ?? seconds, seconds);
    }
  }
  if (minSecondsToExpiry !== undefined) {
    emit(engine, MetricName.MinSecondsToExpiry, 'Seconds', minSecondsToExpiry);
  }

  const count = (status: ConnectionResult['status']) => results.filter((r) => r.status === status).length;
  const summary: RunSummary = {
    scanned: summaries.length,
    read: results.filter((r) => r.read).length,
    refreshed: count('refreshed'),
    restored: count('restored'),
    skipped: count('skipped'),
    failed: count('failed'),
    results: results.map(({ read: _read, ...result }) => result),
  };
  const needingReauth = results.filter(
    (r) =>
      (r.status === 'skipped' && r.recordStatus === 'reauth_required') ||
      (r.status === 'failed' && r.failureClass === 'reauth_required'),
  ).length;
  emit(engine, MetricName.ConnectionsNeedingReauth, 'Count', needingReauth);
  emit(engine, MetricName.ConnectionsScanned, 'Count', summary.scanned);
  emit(engine, MetricName.ConnectionsRead, 'Count', summary.read);
  emit(engine, MetricName.RunCompleted, 'Count', 1);
  logger.info('run completed', {
    scanned: summary.scanned,
    read: summary.read,
    refreshed: summary.refreshed,
    restored: summary.restored,
    skipped: summary.skipped,
    failed: summary.failed,
  });
  return summary;
}

/** Reads each client-credentials secret at most once per run (or on-demand request). */
export function clientCredentialsReader(store: EngineDeps['store']): EngineDeps['credentials'] {
  const cache = new Map<string, Promise<ClientCredentials>>();
  return (secretId) => {
    let pending = cache.get(secretId);
    if (!pending) {
      pending = store.getCurrent(secretId).then((secret) => parseClientCredentials(secretId, secret.value));
      // A failed read is not cached: another connection may retry it.
      pending.catch(() => cache.delete(secretId));
      cache.set(secretId, pending);
    }
    return pending;
  };
}
