import type { LeaseOutcome } from './ports.js';

/**
 * What one leased attempt knows about the refresh token it read, as one value:
 * - `unsent`: not sent, or refused without being processed: still valid;
 * - `maybe_consumed`: sent (or in flight) and no answer received: the provider may have rotated it;
 * - `spent`: the provider answered with a new token set that is not stored yet;
 * - `rescued`: that set is stored in the lease table for the next run to commit;
 * - `committed`: a new version was committed.
 */
export type TransactionState = 'unsent' | 'maybe_consumed' | 'spent' | 'rescued' | 'committed';

/** Each state is exactly one lease outcome, recorded at release. */
export const LEASE_OUTCOME_OF: Readonly<Record<TransactionState, LeaseOutcome>> = {
  unsent: 'not_sent',
  maybe_consumed: 'ambiguous',
  spent: 'unsaved',
  rescued: 'rescued',
  committed: 'committed',
};
