import { describe, expect, it } from 'vitest';
import { type ConnectionStatusRow, renderStatus, type StatusReport } from '../../../cli/commands/status.js';

const now = Date.parse('2026-11-26T12:00:00.000Z');

const row = (changes: Partial<ConnectionStatusRow>): ConnectionStatusRow => ({
  connection: 'c',
  status: 'active',
  expiresAt: new Date(now + 30 * 60_000).toISOString(),
  expiresInSeconds: 1800,
  lastRefreshAt: new Date(now - 60_000).toISOString(),
  refreshes24h: 2,
  versions24h: 3,
  versionQuota: 100,
  action: null,
  lastErrorClass: null,
  lastErrorAt: null,
  lastErrorMessage: null,
  refreshTokenExpiresAt: null,
  reauthDueInDays: null,
  lease: null,
  ...changes,
});

const report = (connections: ConnectionStatusRow[]): StatusReport => ({
  stack: 'S',
  region: 'us-east-1',
  connections,
  alarms: [],
  alarmPrefix: 'S-',
});

describe('status', () => {
  it('shows when re-authentication is due and a connection that backs off', () => {
    const text = renderStatus(
      report([
        row({
          connection: 'github',
          refreshTokenExpiresAt: '2026-12-06T12:00:00.000Z',
          reauthDueInDays: 10,
        }),
        row({
          connection: 'down',
          lastErrorClass: 'transient',
          lease: {
            held: false,
            outcome: 'ambiguous',
            rescuePending: false,
            refreshToken: 'usable',
            backoff: { failureStreak: 3, nextAttemptAt: new Date(now + 20 * 60_000).toISOString() },
          },
        }),
      ]),
      { stdout: { isTTY: false } as never },
      now,
    );
    expect(text).toMatch(/Re-auth by/);
    expect(text).toMatch(/\| github\s+\| active\s+.*\| 2026-12-06 \(10 d\)\s+\|/);
    expect(text).toMatch(/\| down\s+\| active \(backoff, next 20m\)/);
  });
});
