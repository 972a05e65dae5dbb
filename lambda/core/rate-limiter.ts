import type { Clock } from './ports.js';

/**
 * A token bucket on the injected clock: at most `perSecond` acquisitions a second on
 * average, with bursts up to `burst`. Callers wait their turn in order.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly clock: Clock,
    private readonly perSecond: number,
    private readonly burst = Math.max(1, Math.floor(perSecond / 5)),
  ) {
    if (!(perSecond > 0)) throw new RangeError('perSecond must be positive');
    this.tokens = this.burst;
    this.last = clock.now();
  }

  /** Resolves when the caller may proceed. */
  acquire(): Promise<void> {
    const turn = this.queue.then(() => this.take());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async take(): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.clock.sleep(Math.ceil(((1 - this.tokens) / this.perSecond) * 1000));
    }
  }
}

/**
 * Keeps the engine's Secrets Manager writes under a ceiling, so other writers in the
 * account keep headroom under the shared 50 requests/s PutSecretValue quota. A refresh
 * makes one write (the scheduling hint rides on the lease release, not on a tag). The
 * write protocol waits on it before each write; the composition root makes one per
 * invocation, for every path.
 */
export interface WriteLimiter {
  /** Before a PutSecretValue or CreateSecret. */
  beforePut(): Promise<void>;
}

export function writeLimiter(clock: Clock, writesPerSecond: number): WriteLimiter {
  const puts = new RateLimiter(clock, writesPerSecond);
  return { beforePut: () => puts.acquire() };
}
