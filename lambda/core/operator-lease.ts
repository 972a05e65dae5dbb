import { Budget } from './budget.js';
import { ConnectionBusyError, TokenRefresherError } from './errors.js';
import { type ConnectionLease, type ProtocolDeps, takeConnectionLease } from './write-protocol.js';

/** How long an operator's change may take, lease included. */
export const OPERATOR_BUDGET_MS = 60_000;

/**
 * The lease for an operator's own change (disable, enable, remove). Throws
 * `ConnectionBusyError` while a refresh holds it, and a plain error when the lease table
 * cannot be reached.
 */
export async function takeOperatorLease(
  deps: ProtocolDeps,
  connection: string,
  purpose: string,
): Promise<ConnectionLease> {
  const budget = Budget.fromRemaining(deps.clock, OPERATOR_BUDGET_MS);
  const attempt = await takeConnectionLease(deps, connection, budget, purpose);
  if (attempt.kind === 'held') throw new ConnectionBusyError(connection);
  if (attempt.kind === 'unavailable') throw new TokenRefresherError(attempt.message);
  return attempt.lease;
}
