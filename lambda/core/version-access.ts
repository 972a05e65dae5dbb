import type { LeaseState, RescuedTokenSet } from './ports.js';
import type { ProviderBehaviour } from './provider-behaviour.js';

/**
 * What a lease holder may do with the AWSCURRENT version it read, given what earlier
 * holders recorded (docs/refresh-transaction.md, "The marker rule" and "The stale-read rule"):
 * - `restore`: a token set rescued from this very version waits; commit it, send nothing;
 * - `stale`: this version was already replaced by a commit, so the read is stale; re-read;
 * - `spent`: its refresh token was answered and the answer is not in the record; never send it;
 * - `uncertain`: its refresh token was sent and the answer is unknown (lost, or the sender
 *   died: `interrupted`); the ambiguous-answer policy applies;
 * - `free`: nothing is known against sending it.
 */
export type VersionAccess =
  | { kind: 'restore'; rescue: RescuedTokenSet }
  | { kind: 'stale'; replacedBy: string }
  | { kind: 'spent' }
  | { kind: 'uncertain'; interrupted: boolean; sentAt?: number; sentAttempts?: number }
  | { kind: 'free' };

/** Pure: the same facts give the same answer, for refresh, connect and status changes alike. */
export function versionAccess(previous: LeaseState | undefined, versionId: string): VersionAccess {
  if (previous === undefined) return { kind: 'free' };
  if (previous.rescue?.fromVersionId === versionId) return { kind: 'restore', rescue: previous.rescue };
  if (previous.lastCommit?.fromVersionId === versionId) {
    return { kind: 'stale', replacedBy: previous.lastCommit.versionId };
  }
  if (previous.sentFromVersionId !== versionId) return { kind: 'free' };
  const marker = {
    ...(previous.sentAt !== undefined ? { sentAt: previous.sentAt } : {}),
    ...(previous.sentAttempts !== undefined ? { sentAttempts: previous.sentAttempts } : {}),
  };
  switch (previous.sentOutcome) {
    case undefined:
      return { kind: 'uncertain', interrupted: true, ...marker };
    case 'ambiguous':
      return { kind: 'uncertain', interrupted: false, ...marker };
    case 'not_sent':
      return { kind: 'free' };
    case 'unsaved':
    case 'rescued':
      // Rescued with the rescue gone (discarded by hand): the answer is not in the record either.
      return { kind: 'spent' };
    case 'committed':
      // Its answer was committed, so a later version exists: this read is stale.
      return { kind: 'stale', replacedBy: previous.lastCommit?.versionId ?? 'a later version' };
  }
}

/** Requests beyond the first that may carry a refresh token whose answer is unknown, anywhere. */
export const DOCUMENTED_AMBIGUOUS_RETRIES = 1;

/**
 * The ambiguous-answer policy (docs/refresh-transaction.md, "Ambiguous failures"): whether
 * one more request may carry a refresh token whose earlier answer is unknown (pure).
 *
 * - The documented retry: a token that went out once (`sentAttempts` ≤ 1) may go once more
 *   — in the same run, or in the next one after an interrupted send.
 * - At a provider with a documented reuse window (`rotation.reuseWindowSeconds`, Xero
 *   1800 s), every resend, the documented retry included, only inside it, counted from the
 *   token's first send, with `marginMs` (the request's time) to spare: there a replaced
 *   token still works, so a retry on a later run recovers; past it a resend is a reuse.
 *   A strict provider (0) gets no blind retry beyond the documented one.
 * - A provider that never rotates (`rotation.model` `static`: Google, HubSpot) never
 *   replaced the token, whatever became of the lost request: a retry is always safe.
 *
 * A marker written before the count existed has none: it counts as one send.
 */
export function mayResendUncertain(
  marker: { sentAt?: number; sentAttempts?: number },
  rotation: Pick<ProviderBehaviour['rotation'], 'model' | 'reuseWindowSeconds'>,
  now: number,
  marginMs: number,
): boolean {
  if (rotation.model === 'static') return true;
  const { reuseWindowSeconds } = rotation;
  if (reuseWindowSeconds > 0 && marker.sentAt !== undefined) {
    return now + marginMs < marker.sentAt + reuseWindowSeconds * 1000;
  }
  return (marker.sentAttempts ?? 1) <= DOCUMENTED_AMBIGUOUS_RETRIES;
}
