import { describe, expect, it } from 'vitest';
import { settingsWith } from '../../../lambda/contract/settings.js';
import { activeBackoff, lostAnswerBackoff, nextBackoff } from '../../../lambda/core/backoff.js';
import type { LeaseState } from '../../../lambda/core/ports.js';

const now = Date.parse('2027-01-01T00:00:00.000Z');
const MIN = 60_000;
const settings = settingsWith('p/');
const lease = (backoff?: LeaseState['backoff']): LeaseState => ({
  connection: 'c',
  owner: 'o',
  leaseUntil: 0,
  ...(backoff ? { backoff } : {}),
});

describe('backoff across runs', () => {
  it('doubles from 5 minutes per failed run on the same version, capped at 6 hours', () => {
    let previous: LeaseState | undefined;
    const delays: number[] = [];
    for (let run = 0; run < 9; run += 1) {
      const next = nextBackoff(previous, { versionId: 'v1' }, now, settings);
      delays.push((next.nextAttemptAt - now) / MIN);
      previous = lease({ ...next, versionId: 'v1' });
    }
    expect(delays).toEqual([5, 10, 20, 40, 80, 160, 320, 360, 360]);
    expect(previous?.backoff?.failureStreak).toBe(9);
  });

  it('starts again on another version (a reconnect, an operator change)', () => {
    const previous = lease({ failureStreak: 6, nextAttemptAt: now, versionId: 'v1' });
    expect(nextBackoff(previous, { versionId: 'v2' }, now, settings)).toEqual({
      failureStreak: 1,
      nextAttemptAt: now + 5 * MIN,
    });
  });

  it('never waits past the refresh window of a still-valid access token, but always honours Retry-After', () => {
    const previous = lease({ failureStreak: 5, nextAttemptAt: now, versionId: 'v1' });
    const expiresAt = now + 60 * MIN;
    // 160 minutes would run past the window that opens 50 minutes from now.
    expect(nextBackoff(previous, { versionId: 'v1', expiresAt }, now, settings).nextAttemptAt).toBe(
      now + 50 * MIN,
    );
    // Expired or within the window: the full wait.
    expect(
      nextBackoff(previous, { versionId: 'v1', expiresAt: now + 5 * MIN }, now, settings).nextAttemptAt,
    ).toBe(now + 160 * MIN);
    expect(
      nextBackoff(previous, { versionId: 'v1', expiresAt, retryAfterMs: 90 * MIN }, now, settings)
        .nextAttemptAt,
    ).toBe(now + 90 * MIN);
    // A Retry-After of days is capped at the cap.
    expect(
      nextBackoff(undefined, { versionId: 'v1', retryAfterMs: 3 * 86_400_000 }, now, settings).nextAttemptAt,
    ).toBe(now + 360 * MIN);
  });

  it('holds only for its version and until its time', () => {
    const state = lease({ failureStreak: 1, nextAttemptAt: now + MIN, versionId: 'v1' });
    expect(activeBackoff(state, 'v1', now)).toBeDefined();
    expect(activeBackoff(state, 'v2', now)).toBeUndefined();
    expect(activeBackoff(state, 'v1', now + MIN)).toBeUndefined();
    expect(activeBackoff(undefined, 'v1', now)).toBeUndefined();
  });
});

describe('answers lost in transit', () => {
  it('back off at a static provider, which would take the token again forever', () => {
    expect(lostAnswerBackoff({ sentAt: now }, { model: 'static', reuseWindowSeconds: 0 }, settings)).toEqual({
      backsOff: true,
    });
  });

  it('back off inside a reuse window, never past two base intervals before it closes (Xero: 30 min)', () => {
    const xero = { model: 'rotating', reuseWindowSeconds: 1800 } as const;
    const lost = lostAnswerBackoff({ sentAt: now }, xero, settings);
    expect(lost).toEqual({ backsOff: true, notAfter: now + 20 * MIN });
    // The third failure would wait 20 minutes from minute 15: capped at minute 20, a run before the window's last.
    const previous = lease({ failureStreak: 2, nextAttemptAt: now, versionId: 'v1' });
    const at = now + 15 * MIN;
    const next = nextBackoff(previous, { versionId: 'v1', notAfter: now + 20 * MIN }, at, settings);
    expect(next.nextAttemptAt).toBe(now + 20 * MIN);
    // Once the bound has passed, the next run may go at once (and meets the window's end).
    const late = nextBackoff(
      previous,
      { versionId: 'v1', notAfter: now + 20 * MIN },
      now + 26 * MIN,
      settings,
    );
    expect(late.nextAttemptAt).toBe(now + 26 * MIN);
  });

  it('do not wait at a strict provider: the next run moves the connection to reauth_required', () => {
    expect(
      lostAnswerBackoff({ sentAt: now }, { model: 'rotating', reuseWindowSeconds: 0 }, settings),
    ).toEqual({
      backsOff: false,
    });
  });
});
