import pLimit from 'p-limit';
import { CONNECTION_STATE_LOG, MetricName } from '../contract/metric-names.js';
import { connectionOfSecretName } from '../contract/names.js';
import type { Budget } from './budget.js';
import { decideDue } from './due.js';
import { type EngineDeps, emit, emitFailure } from './engine.js';
import { describeError } from './errors.js';
import { currentHint, type HintedSummary, mustRead } from './hint.js';
import type { ConnectionResult } from './refresh-connection.js';

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
 * One scheduled run: every connection under the prefix, discovered now (`ListSecrets`,
 * which names each secret's AWSCURRENT version), with bounded concurrency. Connections
 * whose hint (the lease store's pages) says they are not due cost no secret read.
 * One connection's failure never stops another's refresh.
 */
export async function runRefresh(engine: EngineDeps, options: RunOptions): Promise<RunSummary> {
  const { settings, clock, logger } = engine;
  const wanted = options.connections ? new Set(options.connections) : undefined;

  const listed: { connection: string; summary: HintedSummary }[] = [];
  for await (const summary of engine.store.list(settings.prefix)) {
    const connection = connectionOfSecretName(settings.prefix, summary.name);
    if (connection === undefined) continue;
    if (wanted && !wanted.has(connection)) continue;
    listed.push({ connection, summary });
  }
  // Read after the listing or before, a hint names its version: one that a commit in
  // between made stale costs a read, never a skip. Forced and named runs read every record.
  if (!options.force && !wanted && listed.length > 0) {
    const hints = await readHints(engine);
    for (const entry of listed) {
      const hint = hints.get(entry.connection);
      if (hint !== undefined) entry.summary = { ...entry.summary, hint };
    }
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
          // Loaded when a connection must be read: an idle run never loads the refresh path
          // (the bundle puts it in a chunk of its own, lib/handler-code.ts).
          const { refreshConnection } = await import('./refresh-connection.js');
          const result = await refreshConnection(engine, {
            connection,
            budget: options.budget,
            force: options.force,
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
  emitAccessTokenExpiry(engine, results, now);
  emitReauthenticationDue(engine, results, now);
  logConnectionStates(engine, results, now);
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

/**
 * Every connection's scheduling hint from the lease store. When its pages cannot be read,
 * the run goes on without hints: every connection is read (a missing hint costs a read,
 * never a missed refresh).
 */
async function readHints(engine: EngineDeps): Promise<Map<string, string>> {
  const hints = new Map<string, string>();
  try {
    for await (const { connection, hint } of engine.leases.hints()) hints.set(connection, hint);
  } catch (error) {
    emit(engine, MetricName.HintsUnavailable, 'Count', 1);
    engine.logger.warn('the scheduling hints could not be read; this run reads every record', {
      error: describeError(error),
    });
  }
  return hints;
}

/** Whether a result describes a connection that is active (or was, until this run failed it transiently). */
function isActive(result: ConnectionResult): boolean {
  if (result.status === 'skipped')
    return result.recordStatus === undefined || result.recordStatus === 'active';
  if (result.status === 'failed') return result.failureClass !== 'reauth_required';
  return true;
}

const DAY_MS = 24 * 60 * 60_000;

/** Seconds until a result's access token expires, when it describes an active connection's. */
function secondsToExpiryOf(result: ConnectionResult, now: number): number | undefined {
  const active =
    result.status !== 'skipped' || result.recordStatus === undefined || result.recordStatus === 'active';
  return result.expiresAt !== undefined && active ? Math.round((result.expiresAt - now) / 1000) : undefined;
}

/** Days until a result's refresh token expires, when it describes an active connection's and it is known. */
function daysToReauthenticationOf(result: ConnectionResult, now: number): number | undefined {
  if (result.refreshTokenExpiresAt === undefined || !isActive(result)) return undefined;
  return Math.round(((result.refreshTokenExpiresAt - now) / DAY_MS) * 100) / 100;
}

/**
 * The access-token metrics, priced per deployment (no per-connection dimension): the
 * smallest seconds to expiry over active connections (`MinSecondsToExpiry`, what the
 * near-expiry alarm watches) and how many expire within `nearExpiryMs`
 * (`ConnectionsNearExpiry`, a gauge emitted by every run, zero included). Which ones they
 * are: the run's per-connection log lines (`logConnectionStates`).
 */
function emitAccessTokenExpiry(engine: EngineDeps, results: ConnectionResult[], now: number): void {
  let minSeconds: number | undefined;
  let near = 0;
  for (const result of results) {
    const seconds = secondsToExpiryOf(result, now);
    if (seconds === undefined) continue;
    minSeconds = Math.min(minSeconds ?? seconds, seconds);
    if (seconds * 1000 < engine.settings.nearExpiryMs) near += 1;
  }
  if (minSeconds !== undefined) emit(engine, MetricName.MinSecondsToExpiry, 'Seconds', minSeconds);
  emit(engine, MetricName.ConnectionsNearExpiry, 'Count', near);
}

/**
 * The re-authentication metrics: the smallest days until an active connection's refresh
 * token expires (`MinDaysToReauthentication`), and how many expire within
 * `reauthDueWithin` (`ConnectionsReauthDueSoon`, a gauge emitted by every run, zero
 * included). Connections whose expiry nothing tells are not counted.
 */
function emitReauthenticationDue(engine: EngineDeps, results: ConnectionResult[], now: number): void {
  let minDays: number | undefined;
  let dueSoon = 0;
  for (const result of results) {
    const days = daysToReauthenticationOf(result, now);
    if (days === undefined || result.refreshTokenExpiresAt === undefined) continue;
    minDays = Math.min(minDays ?? days, days);
    if (result.refreshTokenExpiresAt - now < engine.settings.reauthDueWithinMs) dueSoon += 1;
  }
  if (minDays !== undefined) emit(engine, MetricName.MinDaysToReauthentication, 'Count', minDays);
  emit(engine, MetricName.ConnectionsReauthDueSoon, 'Count', dueSoon);
}

/**
 * One structured log line per connection per run (`CONNECTION_STATE_LOG`): the detail the
 * aggregate metrics leave out, for the dashboard's Logs Insights widget and the runbook's
 * query. Nothing secret: names, states and times.
 */
function logConnectionStates(engine: EngineDeps, results: ConnectionResult[], now: number): void {
  for (const result of results) {
    const secondsToExpiry = secondsToExpiryOf(result, now);
    const daysToReauthentication = daysToReauthenticationOf(result, now);
    const connectionStatus =
      result.status === 'failed' && result.failureClass === 'reauth_required'
        ? 'reauth_required'
        : result.status === 'skipped'
          ? result.recordStatus
          : result.status === 'failed'
            ? undefined
            : 'active';
    engine.logger.info(CONNECTION_STATE_LOG, {
      connection: result.connection,
      outcome: result.status,
      ...(result.status === 'skipped' ? { reason: result.reason } : {}),
      ...(result.status === 'failed' ? { failureClass: result.failureClass } : {}),
      ...(connectionStatus !== undefined ? { connectionStatus } : {}),
      ...(secondsToExpiry !== undefined ? { secondsToExpiry } : {}),
      ...(daysToReauthentication !== undefined ? { daysToReauthentication } : {}),
    });
  }
}
