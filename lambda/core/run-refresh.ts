import pLimit from 'p-limit';
import { MetricName } from '../contract/metric-names.js';
import { connectionOfSecretName } from '../contract/names.js';
import type { Budget } from './budget.js';
import { decideDue } from './due.js';
import { type EngineDeps, emit, emitFailure } from './engine.js';
import { describeError } from './errors.js';
import { currentHint, mustRead } from './hint.js';
import type { SecretSummary } from './ports.js';
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
export async function runRefresh(engine: EngineDeps, options: RunOptions): Promise<RunSummary> {
  const { settings, clock, logger } = engine;
  const wanted = options.connections ? new Set(options.connections) : undefined;

  const listed: { connection: string; summary: SecretSummary }[] = [];
  for await (const summary of engine.store.list(settings.prefix)) {
    const connection = connectionOfSecretName(settings.prefix, summary.name);
    if (connection === undefined) continue;
    if (wanted && !wanted.has(connection)) continue;
    listed.push({ connection, summary });
  }

  const limit = pLimit(settings.concurrency);
  const results = await Promise.all(
    listed.map(({ connection, summary }) =>
      limit(async (): Promise<ConnectionResult & { read: boolean }> => {
        const hint = currentHint(summary);
        const now = clock.now();
        if (!options.force && !wanted && !mustRead(summary, now, settings)) {
          const backingOff = hint?.notBefore !== undefined && now < hint.notBefore;
          // Skipped on the hint: named by the guard that holds it back, as a read would name it.
          const decision = !backingOff && hint ? decideDue(hint, now, settings) : undefined;
          const guard = decision && !decision.due ? decision : undefined;
          const nextAttemptAt = backingOff ? hint.notBefore : guard?.until;
          return {
            connection,
            status: 'skipped',
            reason: backingOff ? 'backoff' : (guard?.reason ?? 'fresh'),
            versionId: summary.currentVersionId,
            expiresAt: hint?.expiresAt,
            recordStatus: hint?.status,
            ...(nextAttemptAt !== undefined ? { nextAttemptAt } : {}),
            ...(hint?.refreshTokenExpiresAt !== undefined
              ? { refreshTokenExpiresAt: hint.refreshTokenExpiresAt }
              : {}),
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
  emitReauthenticationDue(engine, results, now);
  const backingOff = results.filter((r) => r.status === 'skipped' && r.reason === 'backoff').length;
  if (backingOff > 0) emit(engine, MetricName.BackoffSkipped, 'Count', backingOff);
  emit(
    engine,
    MetricName.ConnectionsFailing,
    'Count',
    results.filter((r) => r.status === 'failed').length + backingOff,
  );

  const count = (status: ConnectionResult['status']) => results.filter((r) => r.status === status).length;
  const summary: RunSummary = {
    scanned: listed.length,
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

/** Whether a result describes a connection that is active (or was, until this run failed it transiently). */
function isActive(result: ConnectionResult): boolean {
  if (result.status === 'skipped')
    return result.recordStatus === undefined || result.recordStatus === 'active';
  if (result.status === 'failed') return result.failureClass !== 'reauth_required';
  return true;
}

/**
 * The re-authentication metrics: days until each active connection's refresh token
 * expires (`DaysToReauthentication` by connection, and the run's minimum), and how many
 * expire within `reauthDueWithin` (`ConnectionsReauthDueSoon`, a gauge emitted by every
 * run, zero included). Connections whose expiry nothing tells are not counted.
 */
function emitReauthenticationDue(engine: EngineDeps, results: ConnectionResult[], now: number): void {
  const day = 24 * 60 * 60_000;
  let minDays: number | undefined;
  let dueSoon = 0;
  for (const result of results) {
    if (result.refreshTokenExpiresAt === undefined || !isActive(result)) continue;
    const remainingMs = result.refreshTokenExpiresAt - now;
    const days = Math.round((remainingMs / day) * 100) / 100;
    emit(engine, MetricName.DaysToReauthentication, 'Count', days, { Connection: result.connection });
    minDays = Math.min(minDays ?? days, days);
    if (remainingMs < engine.settings.reauthDueWithinMs) dueSoon += 1;
  }
  if (minDays !== undefined) emit(engine, MetricName.MinDaysToReauthentication, 'Count', minDays);
  emit(engine, MetricName.ConnectionsReauthDueSoon, 'Count', dueSoon);
}
