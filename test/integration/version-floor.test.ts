import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../lambda/adapters/system-clock.js';
import type {
  Clock,
  RefreshGrantRequest,
  SecretStore,
  TokenEndpoint,
  TokenEndpointOutcome,
} from '../../lambda/core/ports.js';
import { type AuthServer, startAuthServer } from '../../sandbox/auth-server.js';
import { RefresherHarness } from '../support/refresher-harness.js';
import { wrapStore } from '../support/store-wrapper.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/**
 * The version floor counts every commit the refresher makes on its own, status and
 * last-error commits included (lambda/core/status-commit.ts, lambda/core/due.ts): Secrets
 * Manager keeps about 100 versions and deletes none younger than a day, so a connection
 * whose configuration error comes and goes must not write a version per flap.
 */
describe('the version floor counts status and last-error commits (moto)', () => {
  let auth: AuthServer;

  beforeAll(async () => {
    auth = await startAuthServer({ accessTokenTtlSeconds: 3600 });
  });

  afterAll(async () => {
    await auth?.stop();
  });

  /** A provider that alternates: a token set (valid 10 minutes), then invalid_client, then a token set... */
  function flappingProvider(): TokenEndpoint & { requests: number } {
    const provider = {
      requests: 0,
      async refresh(_request: RefreshGrantRequest): Promise<TokenEndpointOutcome> {
        provider.requests += 1;
        if (provider.requests % 2 === 0) return { kind: 'oauth_error', status: 401, error: 'invalid_client' };
        return {
          kind: 'tokens',
          tokens: {
            accessToken: `at-flap-${provider.requests}-0123456789`,
            tokenType: 'Bearer',
            expiresIn: 600,
            refreshToken: `rt-flap-${provider.requests}-0123456789`,
          },
        };
      },
    };
    return provider;
  }

  /** The harness's store, counting the versions written. */
  function countingStore(store: SecretStore): SecretStore & { puts: string[] } {
    const puts: string[] = [];
    return Object.assign(
      wrapStore(store, {
        putVersion: async (secretId, value, token) => {
          const put = await store.putVersion(secretId, value, token);
          puts.push(value);
          return put;
        },
      }),
      { puts },
    );
  }

  it('a configuration error that flaps all day adds at most ~100 versions (one per floor period)', async () => {
    const h = await new RefresherHarness(auth).setUp();
    await h.createConnection('flapping', { client: auth.client('client_secret_basic') });
    let now = Date.now();
    const clock: Clock = {
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    };
    const provider = flappingProvider();
    const ports = h.ports(clock);
    const store = countingStore(ports.store);
    const flapping = { ...ports, clock, store, tokenEndpoint: provider };

    // A scheduled run every 5 minutes for a day.
    for (const end = now + DAY; now < end; now += 5 * MINUTE) {
      await h.invoke(undefined, { ports: flapping, clock });
    }

    const lastErrors = store.puts.filter((value) => value.includes('"class":"configuration"')).length;
    const refreshes = store.puts.length - lastErrors;
    // It did flap: both kinds of commit, many times...
    expect(refreshes).toBeGreaterThanOrEqual(40);
    expect(lastErrors).toBeGreaterThanOrEqual(40);
    // ...and one version per 15-minute floor at most, whatever kind.
    expect(store.puts.length).toBeLessThanOrEqual(96);
    expect(h.output.text()).not.toContain('rt-flap-');
  }, 120_000);

  it('a last error due less than the floor after the previous commit is skipped and logged, then written', async () => {
    const h = await new RefresherHarness(auth).setUp();
    await h.createConnection('recent', { client: auth.client('client_secret_basic') });
    expect((await h.invoke()).refreshed).toBe(1); // a version committed just now
    const { record } = await h.current('recent');
    record.provider!.tokenEndpoint = 'https://somewhere-else.example/token';
    await h.secretsManager.send(
      new PutSecretValueCommand({ SecretId: `${h.prefix}recent`, SecretString: JSON.stringify(record) }),
    );
    const edited = await h.current('recent');

    // Refused at once (metric and result), but the last error waits for the floor.
    const refused = await h.invoke({ action: 'run', connections: ['recent'] });
    expect(refused.results[0]).toMatchObject({ status: 'failed', failureClass: 'configuration' });
    expect(h.metricTotal('EndpointRefused')).toBe(1);
    expect((await h.current('recent')).versionId).toBe(edited.versionId);
    expect(h.output.text()).toContain('the last error was not written');

    // Past the floor, it is written (once).
    const later: Clock = { now: () => Date.now() + 16 * MINUTE, sleep: systemClock.sleep };
    await h.invoke({ action: 'run', connections: ['recent'] }, { clock: later });
    const written = await h.current('recent');
    expect(written.versionId).not.toBe(edited.versionId);
    expect(written.record.lastError).toMatchObject({ class: 'configuration' });
    expect(written.record.lastError?.message).toContain('somewhere-else.example');
    await h.invoke({ action: 'run', connections: ['recent'] }, { clock: later });
    expect((await h.current('recent')).versionId).toBe(written.versionId);
  });

  it('a run that skips on the hint names the guard that holds the connection back, and when it lifts', async () => {
    const h = await new RefresherHarness(auth, { versionFloorMs: 2 * 60 * MINUTE }).setUp();
    await h.createConnection('floored', { client: auth.client('client_secret_basic') });
    expect((await h.invoke()).refreshed).toBe(1);
    const refreshedAt = Date.parse((await h.current('floored')).record.refreshedAt!);
    // 61 minutes on, the 1-hour token has expired, but the 2-hour floor holds it back.
    const later: Clock = { now: () => Date.now() + 61 * MINUTE, sleep: systemClock.sleep };
    const run = await h.invoke(undefined, { clock: later });
    expect(run.results[0]).toMatchObject({ status: 'skipped', reason: 'version_quota' });
    const next = (run.results[0] as { nextAttemptAt?: number }).nextAttemptAt!;
    // The hint keeps whole seconds.
    expect(Math.abs(next - (refreshedAt + 2 * 60 * MINUTE))).toBeLessThan(1_000);
    // Not yet expiring: the decision's own name, never a catch-all.
    const fresh = await h.invoke();
    expect(fresh.results[0]).toMatchObject({ status: 'skipped', reason: 'fresh' });
  });
});
