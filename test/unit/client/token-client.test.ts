import { describe, expect, it } from 'vitest';
import {
  ConnectionDisabledError,
  ConnectionNotFoundError,
  RefresherBusyError,
  TokenClient,
  TokenExpiredError,
} from '../../../lambda/client/index.js';
import type { OnDemandResponse } from '../../../lambda/contract/on-demand.js';
import { SecretNotFoundError } from '../../../lambda/core/errors.js';

const T0 = Date.parse('2026-11-26T12:00:00.000Z');

/** A fake clock: sleeping advances time instantly. */
function fakeClock(start = T0) {
  const clock = {
    t: start,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.t += ms;
    },
  };
  return clock;
}

/** An in-memory secret with versions; counts reads. */
function fakeSecret(clock: { now(): number }) {
  const secret = {
    reads: 0,
    version: 0,
    value: '',
    set(fields: Record<string, unknown>) {
      secret.version += 1;
      secret.value = JSON.stringify({ schemaVersion: 1, status: 'active', tokenType: 'Bearer', ...fields });
    },
    setToken(expiresInMs: number) {
      secret.set({
        accessToken: `at-${secret.version + 1}`,
        expiresAt: new Date(clock.now() + expiresInMs).toISOString(),
      });
    },
    reader: {
      getCurrent: async (secretId: string) => {
        secret.reads += 1;
        await Promise.resolve();
        if (secretId !== 'p/c') throw new SecretNotFoundError(secretId);
        return { versionId: `v${secret.version}`, value: secret.value };
      },
    },
  };
  return secret;
}

describe('TokenClient cache (fake clock)', () => {
  it('does not read while the token is valid, reads once near expiry, and shares concurrent reads', async () => {
    const clock = fakeClock();
    const secret = fakeSecret(clock);
    secret.setToken(60 * 60_000);
    const client = new TokenClient({ prefix: 'p/', secrets: secret.reader, clock, skewSeconds: 60 });

    const tokens = await Promise.all(Array.from({ length: 10 }, () => client.getAccessToken('c')));
    expect(new Set(tokens.map((t) => t.accessToken))).toEqual(new Set(['at-1']));
    expect(secret.reads).toBe(1);

    clock.t += 58 * 60_000; // still more than the skew before expiry
    await client.getAccessToken('c');
    expect(secret.reads).toBe(1);

    clock.t += 61_000; // inside the skew: one read, which finds the refresher's new token
    secret.setToken(60 * 60_000);
    expect((await client.getAccessToken('c')).accessToken).toBe('at-2');
    await client.getAccessToken('c');
    expect(secret.reads).toBe(2);
  });

  it('re-reads at most every few seconds while the refresher is late, and never returns an expired token', async () => {
    const clock = fakeClock();
    const secret = fakeSecret(clock);
    secret.setToken(30_000); // already inside the 60 s skew
    const responses: OnDemandResponse[] = [];
    const client = new TokenClient({
      prefix: 'p/',
      secrets: secret.reader,
      clock,
      maxWaitSeconds: 3,
      requester: {
        requestRefresh: async (connection) => {
          const response: OnDemandResponse = { connection, outcome: 'in_progress' };
          responses.push(response);
          return response;
        },
      },
    });
    expect((await client.getAccessToken('c')).accessToken).toBe('at-1');
    clock.t += 1_000;
    await client.getAccessToken('c');
    expect(secret.reads).toBe(1);
    clock.t += 5_000;
    await client.getAccessToken('c');
    expect(secret.reads).toBe(2);

    clock.t += 30_000; // past expiry; the refresher never delivers
    await expect(client.getAccessToken('c')).rejects.toBeInstanceOf(TokenExpiredError);
    expect(responses.length).toBeGreaterThan(0);
  });

  it('an expired token in the secret makes one on-demand request for that version', async () => {
    const clock = fakeClock();
    const secret = fakeSecret(clock);
    secret.setToken(-1);
    const asked: string[] = [];
    const client = new TokenClient({
      prefix: 'p/',
      secrets: secret.reader,
      clock,
      requester: {
        requestRefresh: async (connection, ifVersion) => {
          asked.push(ifVersion);
          secret.setToken(3_600_000);
          return { connection, outcome: 'refreshed', versionId: `v${secret.version}` };
        },
      },
    });
    const results = await Promise.all([client.getAccessToken('c'), client.getAccessToken('c')]);
    expect(results.map((t) => t.accessToken)).toEqual(['at-2', 'at-2']);
    expect(asked).toEqual(['v1']);
  });
});

describe('TokenClient after a 401', () => {
  it('re-reads first: a version changed by another consumer is used without asking the refresher', async () => {
    const clock = fakeClock();
    const secret = fakeSecret(clock);
    secret.setToken(3_600_000);
    let asked = 0;
    const client = new TokenClient({
      prefix: 'p/',
      secrets: secret.reader,
      clock,
      requester: {
        requestRefresh: async (connection) => {
          asked += 1;
          return { connection, outcome: 'current' };
        },
      },
    });
    const rejected = await client.getAccessToken('c');
    secret.setToken(3_600_000);
    expect((await client.refreshAfterUnauthorized('c', rejected)).accessToken).toBe('at-2');
    expect(asked).toBe(0);
  });

  it('concurrent 401s in one process make one request for the rejected version', async () => {
    const clock = fakeClock();
    const secret = fakeSecret(clock);
    secret.setToken(3_600_000);
    const asked: string[] = [];
    const client = new TokenClient({
      prefix: 'p/',
      secrets: secret.reader,
      clock,
      requester: {
        requestRefresh: async (connection, ifVersion) => {
          asked.push(ifVersion);
          secret.setToken(3_600_000);
          return { connection, outcome: 'refreshed', versionId: `v${secret.version}` };
        },
      },
    });
    const rejected = await client.getAccessToken('c');
    const renewed = await Promise.all(
      Array.from({ length: 20 }, () => client.refreshAfterUnauthorized('c', rejected)),
    );
    expect(new Set(renewed.map((t) => t.versionId))).toEqual(new Set(['v2']));
    expect(asked).toEqual(['v1']);
  });

  it('a refresher that stays busy ends in RefresherBusyError within the wait', async () => {
    const clock = fakeClock();
    const secret = fakeSecret(clock);
    secret.setToken(3_600_000);
    let asked = 0;
    const client = new TokenClient({
      prefix: 'p/',
      secrets: secret.reader,
      clock,
      maxWaitSeconds: 5,
      requester: {
        requestRefresh: async (connection) => {
          asked += 1;
          return { connection, outcome: 'in_progress' };
        },
      },
    });
    const rejected = await client.getAccessToken('c');
    await expect(client.refreshAfterUnauthorized('c', rejected)).rejects.toBeInstanceOf(RefresherBusyError);
    expect(asked).toBeGreaterThanOrEqual(2); // asked again after waiting, but bounded
    expect(asked).toBeLessThanOrEqual(4);
  });

  it('without a refresher function configured, a 401 says so', async () => {
    const clock = fakeClock();
    const secret = fakeSecret(clock);
    secret.setToken(3_600_000);
    const client = new TokenClient({
      prefix: 'p/',
      secrets: secret.reader,
      clock,
      refresherFunction: undefined,
    });
    const previous = process.env.TOKEN_REFRESHER_FUNCTION;
    delete process.env.TOKEN_REFRESHER_FUNCTION;
    try {
      const rejected = await client.getAccessToken('c');
      await expect(client.refreshAfterUnauthorized('c', rejected)).rejects.toThrow(
        /TOKEN_REFRESHER_FUNCTION/,
      );
    } finally {
      if (previous !== undefined) process.env.TOKEN_REFRESHER_FUNCTION = previous;
    }
  });
});

describe('TokenClient errors', () => {
  it('says what to do for a missing, disabled or unreadable connection', async () => {
    const clock = fakeClock();
    const secret = fakeSecret(clock);
    const client = new TokenClient({ prefix: 'p/', secrets: secret.reader, clock });
    await expect(client.getAccessToken('other')).rejects.toBeInstanceOf(ConnectionNotFoundError);
    secret.set({ status: 'disabled' });
    await expect(client.getAccessToken('c')).rejects.toBeInstanceOf(ConnectionDisabledError);
    secret.set({ status: 'reauth_required', lastError: { message: 'invalid_grant' } });
    await expect(client.getAccessToken('c')).rejects.toThrow(/needs re-authentication \(invalid_grant\)/);
    secret.value = 'not json';
    await expect(client.getAccessToken('c')).rejects.toThrow(/unreadable record/);
  });
});
