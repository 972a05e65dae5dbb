import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerStore } from '../../lambda/adapters/secrets-manager-store.js';
import {
  ReauthRequiredError,
  type RefreshRequester,
  TokenClient,
  UnauthorizedAfterRefreshError,
} from '../../lambda/client/index.js';
import { type AuthServer, startAuthServer } from '../../sandbox/auth-server.js';
import { type ProtectedResource, startProtectedResource } from '../../sandbox/protected-resource.js';
import { RefresherHarness } from '../support/refresher-harness.js';

/**
 * Consumers against real peers: moto's Secrets Manager, the refresher's on-demand path
 * (run in-process, as moto's Lambda cannot run code), oidc-provider, and an API that
 * validates bearer tokens at the provider's introspection endpoint.
 */
describe('consumer library (moto + oidc-provider + protected API)', () => {
  let auth: AuthServer;
  let api: ProtectedResource;

  beforeAll(async () => {
    auth = await startAuthServer({ accessTokenTtlSeconds: 3600 });
    api = await startProtectedResource(auth);
  });

  afterAll(async () => {
    await api?.stop();
    await auth?.stop();
  });

  /** The refresher's on-demand function, invoked in-process with the consumer-facing config. */
  function requester(h: RefresherHarness): RefreshRequester & { calls: number } {
    const counter = {
      calls: 0,
      requestRefresh: async (connection: string, ifVersion: string) => {
        counter.calls += 1;
        return h.request({ connection, ifVersion }, { config: { onDemandOnly: true } });
      },
    };
    return counter;
  }

  function consumer(h: RefresherHarness, requests: RefreshRequester): TokenClient {
    // Each consumer has its own clients, as separate Lambda instances would.
    return new TokenClient({
      prefix: h.prefix,
      secrets: new SecretsManagerStore(new SecretsManagerClient({})),
      requester: requests,
    });
  }

  async function connected(minIntervalMs = 0) {
    const h = await new RefresherHarness(auth, { minIntervalMs }).setUp();
    await h.createConnection('api', { client: auth.client('client_secret_basic') });
    await h.invoke();
    return h;
  }

  it('a consumer gets a valid token in one call and calls the API', async () => {
    const h = await connected();
    const tokens = consumer(h, requester(h));
    const token = await tokens.getAccessToken('api');
    expect((await auth.introspect(token.accessToken)).active).toBe(true);
    const response = await tokens.fetch('api')(api.url);
    expect(response.status).toBe(200);
  });

  it('100 consumers hit 401 at once: exactly one refresh reaches the provider, and all succeed on their single retry', async () => {
    const h = await connected();
    const requests = requester(h);
    const consumers = Array.from({ length: 100 }, () => consumer(h, requests));
    const stale = await Promise.all(consumers.map((c) => c.getAccessToken('api')));
    const { refreshToken } = await h.current('api');
    // The provider revokes the access token every consumer holds (e.g. a key rotation at the API).
    expect(await auth.revokeAccessToken(stale[0]!.accessToken)).toBe(true);
    const presentedBefore = auth.presentedRefreshTokens().length;
    const before = api.counts();

    const responses = await Promise.all(consumers.map((c) => c.fetch('api')(api.url)));

    expect(responses.map((r) => r.status)).toEqual(Array(100).fill(200));
    expect(auth.presentedRefreshTokens().length - presentedBefore).toBe(1);
    expect(auth.presentedRefreshTokens().at(-1)).toMatchObject({ refreshToken, status: 200 });
    const after = api.counts();
    expect(after.unauthorized - before.unauthorized).toBe(100); // each consumer's first try
    expect(after.ok - before.ok).toBe(100); // each consumer's single retry
    expect(auth.reusedRefreshTokens().filter((r) => r.replayedAfterConsumption)).toEqual([]);
    expect(h.leakedValues()).toEqual([]);
  });

  it('a revoked grant: one refresh attempt, then a typed re-authentication error, no loop', async () => {
    const h = await connected();
    const requests = requester(h);
    const tokens = consumer(h, requests);
    await tokens.getAccessToken('api');
    const { refreshToken } = await h.current('api');
    await auth.revokeGrantOf(refreshToken);
    const presentedBefore = auth.presentedRefreshTokens().length;

    await expect(tokens.fetch('api')(api.url)).rejects.toBeInstanceOf(ReauthRequiredError);
    expect(auth.presentedRefreshTokens().length - presentedBefore).toBe(1);
    expect(requests.calls).toBe(1);
    // Later calls fail fast on the record's status: no refresher call, no provider call.
    await expect(tokens.fetch('api')(api.url)).rejects.toThrow(
      /needs re-authentication.*token-refresher connect api/,
    );
    expect(requests.calls).toBe(1);
    expect(auth.presentedRefreshTokens().length - presentedBefore).toBe(1);
  });

  it('the minimum interval holds for on-demand requests: a consumer cannot force a refresh loop', async () => {
    const h = await connected(10 * 60_000);
    const tokens = consumer(h, requester(h));
    const token = await tokens.getAccessToken('api');
    await auth.revokeAccessToken(token.accessToken);
    const presentedBefore = auth.presentedRefreshTokens().length;
    await expect(tokens.fetch('api')(api.url)).rejects.toThrow(/minimum interval/);
    expect(auth.presentedRefreshTokens().length).toBe(presentedBefore);
  });

  it('a second 401 after a refresh surfaces as a typed error, never a second retry', async () => {
    const h = await connected();
    const tokens = consumer(h, requester(h));
    let calls = 0;
    const alwaysUnauthorized: typeof fetch = async () => {
      calls += 1;
      return new Response(null, { status: 401 });
    };
    await expect(
      tokens.fetch('api', { fetch: alwaysUnauthorized })('https://api.example.test/x'),
    ).rejects.toBeInstanceOf(UnauthorizedAfterRefreshError);
    expect(calls).toBe(2);
  });

  it('on-demand requests name a version: any other is answered "current" and nothing else, without a refresh', async () => {
    const h = await connected();
    const presentedBefore = auth.presentedRefreshTokens().length;
    expect(await h.request({ connection: 'api', ifVersion: 'not-the-current-version' })).toEqual({
      connection: 'api',
      outcome: 'current',
    });
    expect(auth.presentedRefreshTokens().length).toBe(presentedBefore);
  });

  it('the consumer-facing function refuses force and runs', async () => {
    const h = await connected();
    await expect(
      h.request({ connection: 'api', force: true }, { config: { onDemandOnly: true } }),
    ).rejects.toThrow(/does not accept force/);
    await expect(h.invokeRaw({ action: 'run' }, { config: { onDemandOnly: true } })).rejects.toThrow(
      /on-demand refresh requests only/,
    );
  });
});
