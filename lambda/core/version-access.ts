import type { LeaseState, RescuedTokenSet } from './ports.js';

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
  | { kind: 'uncertain'; interrupted: boolean }
  | { kind: 'free' };

/** Pure: the same facts give the same answer, for refresh, connect and status changes alike. */
export function versionAccess(previous: LeaseState | undefined, versionId: string): VersionAccess {
  if (previous === undefined) return { kind: 'free' };
  if (previous.rescue?.fromVersionId === versionId) return { kind: 'restore', rescue: previous.rescue };
  if (previous.lastCommit?.fromVersionId === versionId) {
    return { kind: 'stale', replacedBy: previous.lastCommit.versionId };
  }
  if (previous.sentFromVersionId !== versionId) return { kind: 'free' };
  switch (previous.sentOutcome) {
    case undefined:
      return { kind: 'uncertain', interrupted: true };
    case 'ambiguous':
      return { kind: 'uncertain', interrupted: false };
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
