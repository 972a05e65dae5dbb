import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../../../lambda/contract/settings.js';
import { decideDue, dueFactsOf } from '../../../lambda/core/due.js';

const minute = 60_000;
const now = Date.parse('2026-11-26T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
/** The due facts of a record whose token expires in `expiresInMs`, refreshed `refreshedAgoMs` ago. */
const record = (
  expiresInMs: number,
  refreshedAgoMs: number,
  status: 'active' | 'reauth_required' | 'disabled' = 'active',
) =>
  dueFactsOf({
    status,
    accessToken: 'at',
    expiresAt: iso(now + expiresInMs),
    refreshedAt: iso(now - refreshedAgoMs),
  });

describe('decideDue', () => {
  it('counts a last-error commit against the version floor, like a refresh', () => {
    const failing = (lastErrorAgoMs: number, trigger: 'schedule' | 'on_demand' | 'forced' = 'schedule') =>
      decideDue(
        {
          ...record(-1, 60 * minute),
          ...dueFactsOf({
            status: 'active',
            lastError: { class: 'configuration', message: 'm', at: iso(now - lastErrorAgoMs) },
          }),
          expiresAt: now - 1,
        },
        now,
        DEFAULT_SETTINGS,
        trigger,
      );
    // Until the floor after the error's commit (15 min): 10 minutes from now.
    const until = now + 10 * minute;
    expect(failing(5 * minute)).toEqual({ due: false, reason: 'version_quota', until });
    expect(failing(5 * minute, 'on_demand')).toEqual({ due: false, reason: 'version_quota', until });
    expect(failing(5 * minute, 'forced')).toEqual({ due: true, reason: 'forced' });
    expect(failing(15 * minute)).toEqual({ due: true, reason: 'expired' });
  });

  it('leaves a fresh token alone', () => {
    expect(decideDue(record(50 * minute, 10 * minute), now, DEFAULT_SETTINGS)).toEqual({
      due: false,
      reason: 'fresh',
    });
  });

  it('refreshes inside the window (5 min + schedule period by default)', () => {
    expect(decideDue(record(10 * minute, 50 * minute), now, DEFAULT_SETTINGS)).toEqual({
      due: true,
      reason: 'expiring',
    });
    expect(decideDue(record(10 * minute + 1, 50 * minute), now, DEFAULT_SETTINGS).due).toBe(false);
  });

  it('refreshes an expired token, but never more often than the version floor', () => {
    expect(decideDue(record(-1, 20 * minute), now, DEFAULT_SETTINGS)).toEqual({
      due: true,
      reason: 'expired',
    });
    expect(decideDue(record(0, 15 * minute), now, DEFAULT_SETTINGS)).toEqual({
      due: true,
      reason: 'expired',
    });
    // A 5-minute token expired 1 minute after its refresh: wait for the floor (15 min).
    expect(decideDue(record(-60_000, 6 * minute), now, DEFAULT_SETTINGS)).toEqual({
      due: false,
      reason: 'version_quota',
      until: now + 9 * minute,
    });
    // A longer minimum interval does not hold back an expired token past the floor.
    expect(
      decideDue(record(-1, 20 * minute), now, { ...DEFAULT_SETTINGS, minIntervalMs: 60 * minute }).due,
    ).toBe(true);
  });

  it('guards the minimum interval for a token that is expiring but still valid', () => {
    // A token refreshed 2 minutes ago is inside the window, but not yet 15 minutes old.
    expect(decideDue(record(3 * minute, 2 * minute), now, DEFAULT_SETTINGS)).toEqual({
      due: false,
      reason: 'min_interval',
      until: now + 13 * minute,
    });
    expect(decideDue(record(3 * minute, 15 * minute), now, DEFAULT_SETTINGS).due).toBe(true);
  });

  it('refreshes idle grants older than the max age', () => {
    expect(decideDue(record(20 * 60 * minute, 24 * 60 * minute), now, DEFAULT_SETTINGS)).toEqual({
      due: true,
      reason: 'max_age',
    });
  });

  it('forces only active connections', () => {
    expect(decideDue(record(50 * minute, 1 * minute), now, DEFAULT_SETTINGS, 'forced')).toEqual({
      due: true,
      reason: 'forced',
    });
    expect(decideDue(record(-1, 60 * minute, 'reauth_required'), now, DEFAULT_SETTINGS, 'forced')).toEqual({
      due: false,
      reason: 'not_active',
    });
    expect(decideDue(record(-1, 60 * minute, 'disabled'), now, DEFAULT_SETTINGS).due).toBe(false);
  });

  it('refreshes a record without an access token', () => {
    expect(decideDue({ status: 'active' }, now, DEFAULT_SETTINGS)).toEqual({
      due: true,
      reason: 'no_access_token',
    });
  });

  it('refreshes on demand whatever the expiry, within the minimum interval and the version floor', () => {
    expect(decideDue(record(50 * minute, 20 * minute), now, DEFAULT_SETTINGS, 'on_demand')).toEqual({
      due: true,
      reason: 'on_demand',
    });
    expect(decideDue(record(50 * minute, 5 * minute), now, DEFAULT_SETTINGS, 'on_demand')).toEqual({
      due: false,
      reason: 'min_interval',
      until: now + 10 * minute,
    });
    expect(decideDue(record(-1, 20 * minute), now, DEFAULT_SETTINGS, 'on_demand')).toEqual({
      due: true,
      reason: 'expired',
    });
    expect(decideDue(record(-1, 5 * minute), now, DEFAULT_SETTINGS, 'on_demand')).toEqual({
      due: false,
      reason: 'version_quota',
      until: now + 10 * minute,
    });
  });
});
