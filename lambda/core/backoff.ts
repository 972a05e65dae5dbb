import type { EngineSettings } from '../contract/settings.js';
import type { FailureClass } from './errors.js';
import type { BackoffState, LeaseState } from './ports.js';
import type { ProviderBehaviour } from './provider-behaviour.js';

/**
 * No hammering: a connection whose refresh keeps failing waits longer and longer between
 * attempts, across runs (docs/refresh-transaction.md, "Backoff across runs"). The state
 * lives in the lease item (`LeaseState.backoff`), next to the marker, and is mirrored in
 * the scheduling hint so an idle run does not even read the record.
 */

/** The failure classes that back off: the provider answered, and asking again soon will not help. */
export const BACKING_OFF_CLASSES: readonly FailureClass[] = [
  'transient',
  'invalid_response',
  'configuration',
];

/**
 * Whether an answer lost in transit backs off, and the latest its next attempt may be:
 * - a static provider accepts the token again at any time, so retries would go on every
 *   run while the answers keep getting lost: it backs off like any other failure;
 * - a provider with a reuse window accepts it only inside the window (`mayResendUncertain`):
 *   it backs off, but never past two base intervals before the window closes, so the retry
 *   the window allows still happens;
 * - a strict provider gets no blind retry beyond the documented one: the next run moves
 *   the connection to `reauth_required` at once, so nothing waits.
 */
export function lostAnswerBackoff(
  marker: { sentAt?: number },
  rotation: Pick<ProviderBehaviour['rotation'], 'model' | 'reuseWindowSeconds'>,
  settings: Pick<BackoffSettings, 'failureBackoffBaseMs'>,
): { backsOff: false } | { backsOff: true; notAfter?: number } {
  if (rotation.model === 'static') return { backsOff: true };
  if (rotation.reuseWindowSeconds <= 0 || marker.sentAt === undefined) return { backsOff: false };
  // Two base intervals short of the window's end: the schedule runs every base interval by
  // default, so at least one run falls inside whatever the schedule's phase and the hint's
  // rounding to the second (one interval short, the retry could land at the window's edge).
  const notAfter = marker.sentAt + rotation.reuseWindowSeconds * 1000 - 2 * settings.failureBackoffBaseMs;
  return { backsOff: true, notAfter };
}

/** Runs in a row a transient failure must last before it is written to the record's `lastError`. */
export const PERSISTENT_TRANSIENT_RUNS = 3;

export type BackoffSettings = Pick<
  EngineSettings,
  'failureBackoffBaseMs' | 'failureBackoffCapMs' | 'refreshWindowMs'
>;

/**
 * The backoff after one more failed run on `versionId` (pure):
 *
 *   delay = min(cap, base × 2^(streak − 1))    (5 min, 10, 20, … 6 h with the defaults)
 *
 * - the streak goes on while the backoff names the version read (a status commit of the
 *   failure itself carries it over); any other version starts it again at 1;
 * - while the access token is still valid, the exponential wait never runs past the start
 *   of its refresh window (`expiresAt − refreshWindow`), so a provider that is healthy again
 *   is asked before the token needs it;
 * - a bound the caller sets (`notAfter`: a lost answer's reuse window) caps it;
 * - the provider's `Retry-After` is honoured across runs: the next attempt is never before
 *   it (capped at `cap` too).
 */
export function nextBackoff(
  previous: LeaseState | undefined,
  failure: { versionId: string; retryAfterMs?: number; expiresAt?: number; notAfter?: number },
  now: number,
  settings: BackoffSettings,
): Omit<BackoffState, 'versionId'> {
  const before = previous?.backoff;
  const failureStreak =
    before !== undefined && before.versionId === failure.versionId ? before.failureStreak + 1 : 1;
  const { failureBackoffBaseMs: base, failureBackoffCapMs: cap } = settings;
  let nextAttemptAt = now + Math.min(cap, base * 2 ** Math.min(failureStreak - 1, 30));
  if (failure.expiresAt !== undefined) {
    const windowOpens = failure.expiresAt - settings.refreshWindowMs;
    if (windowOpens > now) nextAttemptAt = Math.min(nextAttemptAt, windowOpens);
  }
  if (failure.notAfter !== undefined)
    nextAttemptAt = Math.max(now, Math.min(nextAttemptAt, failure.notAfter));
  if (failure.retryAfterMs !== undefined) {
    nextAttemptAt = Math.max(nextAttemptAt, now + Math.min(failure.retryAfterMs, cap));
  }
  return { failureStreak, nextAttemptAt };
}

/** The backoff that holds for `versionId` at `now`, if any (an operator's force ignores it). */
export function activeBackoff(
  previous: LeaseState | undefined,
  versionId: string,
  now: number,
): BackoffState | undefined {
  const backoff = previous?.backoff;
  return backoff !== undefined && backoff.versionId === versionId && now < backoff.nextAttemptAt
    ? backoff
    : undefined;
}
