import { describe, expect, it } from 'vitest';
import { settingsWith } from '../../../lambda/contract/settings.js';
import { decodeHint, encodeHint, mustRead } from '../../../lambda/core/hint.js';
import type { ConnectionRecord } from '../../../lambda/core/record.js';

const now = Date.parse('2026-11-26T12:00:00.000Z');
const settings = settingsWith('p/');
const record = (expiresInMs: number, status: ConnectionRecord['status'] = 'active'): ConnectionRecord => ({
  schemaVersion: 1,
  connection: 'c',
  provider: {
    tokenEndpoint: 'https://example.test/token',
    dialect: 'form',
    clientAuth: 'client_secret_basic',
    clientCredentialsSecretId: 'clients/c',
  },
  status,
  accessToken: 'at',
  tokenType: 'Bearer',
  expiresAt: new Date(now + expiresInMs).toISOString(),
  refreshedAt: new Date(now - 30 * 60_000).toISOString(),
  refreshToken: { ciphertext: 'x', keyId: 'k' },
});

describe('scheduling hint', () => {
  it('round-trips and stays short (a few dozen bytes in the lease item)', () => {
    const hint = encodeHint('0b6f3c1e-aaaa-bbbb-cccc-0123456789ab', record(3_600_000, 'reauth_required'));
    expect(hint).toMatch(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u);
    expect(hint.length).toBeLessThanOrEqual(256);
    expect(decodeHint(hint)).toEqual({
      versionId: '0b6f3c1e-aaaa-bbbb-cccc-0123456789ab',
      status: 'reauth_required',
      expiresAt: now + 3_600_000,
      refreshedAt: now - 30 * 60_000,
    });
  });

  it('rejects malformed hints', () => {
    for (const bad of ['', 'x', '2/v/active/1/2', '1/v/sleepy/1/2', '1//active/1/2']) {
      expect(decodeHint(bad)).toBeUndefined();
    }
  });

  it('skips a connection whose current hint says it is not due', () => {
    const hint = encodeHint('v1', record(50 * 60_000));
    expect(mustRead({ name: 'p/c', currentVersionId: 'v1', hint }, now, settings)).toBe(false);
  });

  it('reads when the hint is due, stale, missing or unreadable', () => {
    expect(
      mustRead(
        { name: 'p/c', currentVersionId: 'v1', hint: encodeHint('v1', record(60_000)) },
        now,
        settings,
      ),
    ).toBe(true);
    // Stale: the hint describes a version that is no longer AWSCURRENT.
    expect(
      mustRead(
        { name: 'p/c', currentVersionId: 'v2', hint: encodeHint('v1', record(50 * 60_000)) },
        now,
        settings,
      ),
    ).toBe(true);
    expect(mustRead({ name: 'p/c', currentVersionId: 'v1' }, now, settings)).toBe(true);
    expect(mustRead({ name: 'p/c', hint: encodeHint('v1', record(50 * 60_000)) }, now, settings)).toBe(true);
    expect(mustRead({ name: 'p/c', currentVersionId: 'v1', hint: 'garbage' }, now, settings)).toBe(true);
  });

  it('never reads a connection that needs re-authentication', () => {
    const hint = encodeHint('v1', record(-60_000, 'reauth_required'));
    expect(mustRead({ name: 'p/c', currentVersionId: 'v1', hint }, now, settings)).toBe(false);
  });
});

describe('scheduling hint: backoff and re-authentication', () => {
  it('carries the backoff (rounded up) and the refresh token expiry, and an idle run skips a backing-off connection', () => {
    const withExpiry = {
      ...record(-60_000),
      refreshTokenExpiresAt: new Date(now + 10 * 86_400_000).toISOString(),
    };
    const hint = encodeHint('v1', withExpiry, { notBefore: now + 20 * 60_000 + 1 });
    expect(hint.split('/')).toHaveLength(7);
    expect(decodeHint(hint)).toMatchObject({
      notBefore: now + 20 * 60_000 + 1000,
      refreshTokenExpiresAt: now + 10 * 86_400_000,
    });
    // Expired, so due — but backing off: not read until the next attempt.
    expect(mustRead({ name: 'p/c', currentVersionId: 'v1', hint }, now, settings)).toBe(false);
    expect(mustRead({ name: 'p/c', currentVersionId: 'v1', hint }, now + 21 * 60_000, settings)).toBe(true);
    // Without either, the hint keeps its five fields.
    expect(encodeHint('v1', record(60_000)).split('/')).toHaveLength(5);
  });
});
