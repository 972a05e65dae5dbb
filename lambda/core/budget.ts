import type { Clock } from './ports.js';

/**
 * The time an invocation has left. Work that cannot finish (and commit) before the
 * deadline is not started.
 */
export class Budget {
  constructor(
    private readonly clock: Clock,
    readonly deadline: number,
  ) {}

  static fromRemaining(clock: Clock, remainingMs: number): Budget {
    return new Budget(clock, clock.now() + remainingMs);
  }

  remainingMs(): number {
    return this.deadline - this.clock.now();
  }

  /** Whether `ms` of work still fits while keeping `reserveMs` back. */
  fits(ms: number, reserveMs = 0): boolean {
    return this.remainingMs() - reserveMs >= ms;
  }
}

/** Full-jitter exponential backoff: a random delay in [0, min(cap, base * 2^attempt)]. */
export function backoffDelayMs(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}
