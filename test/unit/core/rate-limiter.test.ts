import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../lambda/core/rate-limiter.js';

function fakeClock() {
  const clock = {
    t: 0,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.t += ms;
    },
  };
  return clock;
}

describe('RateLimiter', () => {
  it('lets a burst through, then holds the average to the ceiling', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(clock, 25);
    const times: number[] = [];
    await Promise.all(
      Array.from({ length: 105 }, async () => {
        await limiter.acquire();
        times.push(clock.now());
      }),
    );
    expect(times.filter((t) => t === 0)).toHaveLength(5); // burst = perSecond / 5
    // 100 more at 25/s take about 4 seconds, never faster.
    expect(Math.max(...times)).toBeGreaterThanOrEqual(3_960);
    expect(Math.max(...times)).toBeLessThan(4_200);
    for (let i = 0; i + 25 < times.length; i += 1) {
      expect(times[i + 25]! - times[i]!).toBeGreaterThanOrEqual(800); // no 1-s window over 25 + burst
    }
  });

  it('refuses a non-positive ceiling', () => {
    expect(() => new RateLimiter(fakeClock(), 0)).toThrow(RangeError);
  });
});
