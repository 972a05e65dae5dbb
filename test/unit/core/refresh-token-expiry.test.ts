import { describe, expect, it } from 'vitest';
import { DEFAULT_BEHAVIOUR, type ProviderBehaviour } from '../../../lambda/core/provider-behaviour.js';
import { refreshTokenExpiresAt } from '../../../lambda/core/refresh-token-expiry.js';

const sentAt = Date.parse('2027-01-01T00:00:00.000Z');
const DAY = 86_400_000;
const with_ = (rotation: Partial<ProviderBehaviour['rotation']>): ProviderBehaviour => ({
  ...DEFAULT_BEHAVIOUR,
  rotation: { ...DEFAULT_BEHAVIOUR.rotation, ...rotation },
});
const iso = (ms: number) => new Date(ms).toISOString();

describe("the refresh token's expiry", () => {
  it('from the response field, counted from the send', () => {
    expect(
      refreshTokenExpiresAt({
        behaviour: with_({ absoluteLifetimeSeconds: 999 }),
        sentAt,
        refreshTokenExpiresIn: 15_811_200,
        grantedAt: sentAt - DAY,
        rotated: true,
      }),
    ).toBe(iso(sentAt + 15_811_200_000));
  });

  it('else the earlier of the idle lifetime (from this use) and the absolute one (from the grant)', () => {
    const behaviour = with_({ idleLifetimeSeconds: 60 * 86_400, absoluteLifetimeSeconds: 365 * 86_400 });
    expect(refreshTokenExpiresAt({ behaviour, sentAt, grantedAt: sentAt - 10 * DAY, rotated: true })).toBe(
      iso(sentAt + 60 * DAY),
    );
    expect(refreshTokenExpiresAt({ behaviour, sentAt, grantedAt: sentAt - 340 * DAY, rotated: true })).toBe(
      iso(sentAt + 25 * DAY),
    );
  });

  it('else unchanged when the provider did not rotate, and unknown for a new token', () => {
    const previous = iso(sentAt + 5 * DAY);
    expect(
      refreshTokenExpiresAt({
        behaviour: DEFAULT_BEHAVIOUR,
        sentAt,
        grantedAt: sentAt,
        rotated: false,
        previous,
      }),
    ).toBe(previous);
    expect(
      refreshTokenExpiresAt({
        behaviour: DEFAULT_BEHAVIOUR,
        sentAt,
        grantedAt: sentAt,
        rotated: true,
        previous,
      }),
    ).toBeUndefined();
  });
});
