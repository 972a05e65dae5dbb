import { randomUUID } from 'node:crypto';
import type { Budget } from './budget.js';
import type { EngineDeps } from './engine.js';
import { describeError } from './errors.js';
import type { LeaseState } from './ports.js';

export type TakenLease =
  | { taken: true; owner: string; previous?: LeaseState }
  /** Another invocation holds it: single flight, do nothing. */
  | { taken: false; held: true }
  | { taken: false; held: false; message: string };

/**
 * Takes a connection's lease for the rest of this invocation (plus the margin that
 * outlives clock skew). Every writer of a record goes through here first.
 */
export async function takeLease(
  deps: Pick<EngineDeps, 'leases' | 'settings' | 'invocationId'>,
  connection: string,
  budget: Budget,
  purpose?: string,
): Promise<TakenLease> {
  const owner = [deps.invocationId, purpose, randomUUID()].filter(Boolean).join('/');
  try {
    const acquired = await deps.leases.acquire(connection, {
      owner,
      leaseUntil: budget.deadline + deps.settings.leaseMarginMs,
    });
    if (!acquired.acquired) return { taken: false, held: true };
    return { taken: true, owner, previous: acquired.previous };
  } catch (error) {
    return {
      taken: false,
      held: false,
      message: `the connection's lease could not be taken: ${describeError(error)}`,
    };
  }
}
