import { FAULT_KINDS, type FaultKind } from './faults.js';
import { DEFAULT_FLOODS } from './floods.js';
import { HEALTH_WINDOW_MS, INVARIANTS, type InvariantId } from './oracle.js';
import {
  DEFAULT_LIFETIMES,
  DEFAULT_MIN_INTERVAL_MS,
  SIM_START,
  type SimulationResult,
} from './simulation.js';

/** The command that replays a run. */
export function replayCommand(result: SimulationResult): string {
  const o = result.options;
  let command = `npm run simulate -- --seed ${o.seed} --days ${o.days} --connections ${o.connections}`;
  if (o.faults !== 1) command += ` --faults ${o.faults}`;
  if (o.consumers !== 1) command += ` --consumers ${o.consumers}`;
  if (o.lifetimes !== DEFAULT_LIFETIMES) command += ` --lifetimes ${o.lifetimes.map(([m]) => m).join(',')}`;
  if (result.settings.minIntervalMs !== DEFAULT_MIN_INTERVAL_MS) {
    command += ` --min-interval ${result.settings.minIntervalMs / 1000}`;
  }
  const floor = (result.settings as { versionFloorMs?: number }).versionFloorMs;
  if (floor !== undefined && floor !== o.defaultVersionFloorMs) command += ` --version-floor ${floor / 1000}`;
  if (o.floodPerMinute !== DEFAULT_FLOODS.perMinute) command += ` --flood ${o.floodPerMinute}`;
  if (o.floodBurstsPerDay !== DEFAULT_FLOODS.burstsPerDay)
    command += ` --flood-bursts ${o.floodBurstsPerDay}`;
  if (o.floodReplay !== DEFAULT_FLOODS.replay) command += ` --flood-replay ${o.floodReplay}`;
  for (const name of o.mutations) command += ` --mutate ${name}`;
  return command;
}

/** Virtual time as "day D HH:MM:SS.mmm" from the start of the run. */
export function virtualTime(t: number): string {
  const ms = t - SIM_START;
  const day = Math.floor(ms / 86_400_000);
  const rest = new Date(ms - day * 86_400_000).toISOString().slice(11, 23);
  return `day ${day} ${rest}`;
}

const pad = (text: string, width: number) => text.padEnd(width);

/**
 * The readable report. Everything in it is a function of the options and the seed (no
 * wall-clock time), so the same seed prints the same bytes.
 */
export function formatReport(result: SimulationResult): string {
  const c = (name: string) => result.counts.get(name) ?? 0;
  const lines: string[] = [];
  const o = result.options;
  const s = result.settings;
  lines.push(
    `token-refresher simulation: seed ${o.seed}, ${o.days} days, ${o.connections} connections, faults ×${o.faults}` +
      (o.mutations.length > 0 ? `, MUTATIONS: ${o.mutations.join(', ')}` : ''),
  );
  lines.push(
    `  engine: schedule ${o.scheduleMinutes} min, timeout ${o.timeoutSeconds} s (on-demand ${o.onDemandTimeoutSeconds} s), ` +
      `refresh window ${s.refreshWindowMs / 1000} s, min interval ${s.minIntervalMs / 1000} s, ` +
      `version floor ${((s as { versionFloorMs?: number }).versionFloorMs ?? 0) / 1000} s, max age ${s.maxAgeMs / 1000} s, concurrency ${s.concurrency}`,
  );
  lines.push(
    `  lifetimes (min×weight): ${o.lifetimes.map(([m, w]) => `${m}×${w}`).join(' ')}; ` +
      `${o.consumers} consumer(s) per connection reading every ~${o.readEveryMinutes} min`,
  );
  lines.push(
    `  simulated to ${virtualTime(result.endedAt)}; ${result.events} events; trace digest ${result.digest}`,
  );
  const inv = result.invocations;
  lines.push(
    `  invocations: scheduled ${inv.get('scheduled') ?? 0}, duplicate ${inv.get('duplicate') ?? 0}, operator ${inv.get('operator') ?? 0}, ` +
      `on-demand ${inv.get('on_demand') ?? 0}, flood ${inv.get('flood') ?? 0}; died: crash ${c('invocations.died.crash')}, timeout ${c('invocations.died.timeout')}`,
  );
  lines.push('');
  lines.push('Invariants');
  const detail: Record<InvariantId, string> = {
    1:
      `presentations ${c('presentations')}; re-presentations after a lost answer ` +
      `${sumPrefix(result, 'represented.after_lost_answer.')} (${breakdown(result, 'represented.after_lost_answer.')}); ` +
      `documented double-fault re-sends ${c('represented.documented_double_fault')}; ` +
      `replaced tokens presented again inside the provider's reuse window (a new set, no theft) ${c('grace_reuse')}; ` +
      `family revocations: by reuse ${c('revoked.reuse')}, by the user ${c('revoked.user')}`,
    2:
      `consumer reads ${c('consumer.reads_ok') + c('consumer.reads_failed')}, checked while healthy ${c('consumer.reads_checked_healthy')}` +
      ` (healthy: nothing touched the connection for ${HEALTH_WINDOW_MS / 60_000} min); failed ${c('consumer.reads_failed')} (all under faults or stale by design)` +
      `; stale by design (lifetime too short for the version floor) ${c('consumer.stale_by_design')}; expired tokens under faults ${c('consumer.expired_under_faults')}; on-demand requests ${c('consumer.on_demand_requests')}, API 401s ${c('consumer.api_401')}`,
    3: `token sets issued by refreshes ${[...result.fates.values()].reduce((a, b) => a + b, 0)}: ${[
      ...result.fates.entries(),
    ]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    4:
      `steady-state refreshes checked ${c('steady_refreshes')}; max versions per connection per rolling 24 h by lifetime: ` +
      result.versions.map((v) => `${v.lifetimeMinutes} min→${v.maxPer24h}`).join(', ') +
      `; version quota refusals ${c('version_quota_reached')}`,
    5: `reauth_required episodes ${c('reauth_required')}, reconnects ${c('reconnects')}`,
    7:
      `moves ${c('reauth.moves')}: reported by the holder that committed ${c('reauth.reported_by_committer')}, ` +
      `late by the next holder that read it ${c('reauth.reported_late')}, again (at least once) ${c('reauth.reported_again')}` +
      `; ReauthRequired published ${c('metric.ReauthRequired')}; longest until reported ${fmtSeconds(result.maxReportDelayMs)}` +
      `; unreported at the end of the run ${result.unreportedMoves}`,
    8:
      `records edited: to an unlisted origin ${c('endpoint.edited.unlisted')}, to an endpoint their credentials are not bound to ${c('endpoint.edited.unbound')}` +
      `; reported (EndpointRefused published) ${c('endpoint.reported')}, longest until reported ${fmtSeconds(result.maxRefusalDelayMs)}` +
      `; EndpointRefused published ${c('endpoint.refusals_published')}; fixed by the operator ${c('endpoint.fixed')}, overwritten before any report ${c('endpoint.overwritten')}` +
      `; requests that reached another endpoint ${c('endpoint.misdirected')}`,
    9:
      `bogus on-demand requests ${c('flood.requests')} (${result.options.floodPerMinute}/min, bursts ${c('flood.bursts')}, replays ${c('flood.kind.replay')}; ` +
      `${breakdown(result, 'flood.kind.')}): answered current ${c('flood.answer.current')}, in_progress ${c('flood.answer.in_progress')}, ` +
      `the fixed transient answer ${c('flood.answer.failed')}, ` +
      `refused ${c('flood.refused')}, died ${c('flood.died')}; stale reads served to them ${c('stale_read.flood')}, leases they took ${c('flood.leases_taken')}, ` +
      `held when another invocation needed it ${c('flood.held_a_lease_another_needed')}; answered as if current, naming the version an insider's write had just replaced (a stale read) ${c('flood.answered_as_current_after_an_outside_write')}`,
    6: `log lines ${sumPrefix(result, 'log.') - c('log.critical')} (CRITICAL ${c('log.critical')}) checked, metrics and responses checked`,
    10:
      `backoffs recorded ${c('backoff.recorded')}, BackoffSkipped ${c('metric.BackoffSkipped')}; ` +
      `ConnectionsFailing summed over runs ${c('metric.ConnectionsFailing')}`,
    11:
      `requests with a token whose answer was lost: on strict providers ${c('resent_after_lost_answer.strict')}, ` +
      `inside a reuse window ${c('resent_after_lost_answer.window')}; recovered inside the window ${c('recovered.within_reuse_window')}; ` +
      `moves to reauth_required while the provider would still have refreshed with the stored token: ` +
      `rotating (a lost request it never processed) ${c('reauth.needless.rotating')}, static ${c('reauth.needless.static')}`,
    12:
      `absolute lifetimes: grants checked ${c('reauth_due.signalled_ahead') + c('reauth_due.ended_otherwise')} ` +
      `(signalled ahead ${c('reauth_due.signalled_ahead')}, ended otherwise first ${c('reauth_due.ended_otherwise')}), ` +
      `reached ${c('reauth_due.absolute_expiries')}; dead-token answers received ${c('dead_answers_received')}, ` +
      `moves they led to ${c('dead_answers_acted_on')} (longest ${fmtSeconds(result.maxDeadToMoveMs)}; ` +
      `not written within 30 min, the status commit having failed ${c('dead_answers_move_not_written')}), ` +
      `superseded by a commit that landed late ${c('dead_answers_superseded')}`,
  };
  for (const id of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] as InvariantId[]) {
    const n = result.violationsByInvariant.get(id) ?? 0;
    lines.push(`  ${n === 0 ? '✓' : '✗'} ${id}. ${INVARIANTS[id]}${n > 0 ? `: ${n} VIOLATION(S)` : ''}`);
    lines.push(`       ${detail[id]}`);
  }
  lines.push('');
  lines.push('Refreshes');
  lines.push(
    `  issued by the provider ${c('issued')}, received by the engine ${c('delivered')}, RefreshSucceeded ${c('metric.RefreshSucceeded')}, ` +
      `versions written ${c('versions')}, EarlyRefresh ${c('metric.EarlyRefresh')}`,
  );
  lines.push(
    `  RefreshFailed ${c('metric.RefreshFailed')} by class: ${breakdown(result, 'metric.RefreshFailed.')}; dead-token answers: ` +
      breakdown(result, 'dead.'),
  );
  lines.push('');
  lines.push('Faults injected');
  const faults = [...result.faults.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  for (const [kind, n] of faults)
    lines.push(`  ${pad(kind, 32)} ${String(n).padStart(7)}  ${FAULT_KINDS[kind as FaultKind]}`);
  lines.push('');
  lines.push('Recoveries');
  lines.push(
    `  rescues stored ${c('rescues_stored')}, restored ${c('metric.RescueRestored')}, discarded after commit ${c('rescue_removed.after_commit')}, ` +
      `by reconnect ${c('rescue_removed.by_reconnect')}, RescueStale ${c('metric.RescueStale')}`,
  );
  lines.push(
    `  ambiguous outcomes ${c('metric.AmbiguousRefresh')}, retries that then succeeded ${c('recovered.ambiguous_retry_succeeded')}, ` +
      `interrupted refreshes ${c('metric.InterruptedRefresh')}, CommitFailed ${c('metric.CommitFailed')}`,
  );
  lines.push(
    `  reauth_required ${c('reauth_required')} (ReauthRequired metric ${c('metric.ReauthRequired')}), operator reconnects ${c('reconnects')}, ` +
      `lease contention ${c('metric.LeaseContended')}, hint write failures ${c('metric.HintUpdateFailed')}`,
  );
  lines.push(
    `  stale AWSCURRENT reads served: to the engine ${c('stale_read.engine')}, to consumers ${c('stale_read.consumer')}; ` +
      `StaleRead metric ${c('metric.StaleRead')}, runs that stayed stale and sent nothing ${c('stale_read.engine_gave_up')}`,
  );
  lines.push(
    `  spent tokens: released unsaved ${c('unsaved.released')}, found by the next holder ${c('unsaved.found_by_next_holder')}, ` +
      `found again after a refusal or skip ${c('unsaved.found_again')}, SpentTokenRefused ${c('metric.SpentTokenRefused')}, ` +
      `status commits that failed: ${breakdown(result, 'status_not_recorded.')}`,
  );
  lines.push(
    `  answers lost: ${breakdown(result, 'lost_answer.')}; consumer errors under faults: ${[
      ...result.consumerErrors.entries(),
    ]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  lines.push('');
  if (result.passed) {
    lines.push('PASS: every invariant held.');
  } else {
    const first = result.violations[0]!;
    lines.push(`FAIL: ${result.violations.length} violation(s).`);
    lines.push(`  first: [invariant ${first.invariant}] ${virtualTime(first.at)}: ${first.message}`);
    const seen = new Set<number>([first.invariant]);
    for (const v of result.violations) {
      if (seen.has(v.invariant)) continue;
      seen.add(v.invariant);
      lines.push(`  first of invariant ${v.invariant}: ${virtualTime(v.at)}: ${v.message}`);
    }
  }
  lines.push(`Replay: ${replayCommand(result)}`);
  return lines.join('\n');
}

function sumPrefix(result: SimulationResult, prefix: string): number {
  let total = 0;
  for (const [key, value] of result.counts) if (key.startsWith(prefix)) total += value;
  return total;
}

function breakdown(result: SimulationResult, prefix: string): string {
  const parts: string[] = [];
  for (const [key, value] of [...result.counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (key.startsWith(prefix) && !key.slice(prefix.length).includes('.')) {
      parts.push(`${key.slice(prefix.length)} ${value}`);
    }
  }
  return parts.length > 0 ? parts.join(', ') : 'none';
}

function fmtSeconds(ms: number): string {
  return ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`;
}
