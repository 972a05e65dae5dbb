import type { LambdaClient } from '@aws-sdk/client-lambda';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCodeFlow } from '../../cli/code-flow.js';
import { LambdaInvoker } from '../../cli/invoker.js';
import type { ConnectResponse } from '../../lambda/contract/on-demand.js';
import { placeholderRecord } from '../../lambda/core/record.js';
import type { RefresherPorts } from '../../lambda/refresher/composition.js';
import { parseEvent } from '../../lambda/refresher/events.js';
import { type AuthServer, type AuthServerClient, startAuthServer } from '../../sandbox/auth-server.js';
import { headlessAuthorize } from '../../sandbox/headless-browser.js';
import { createSecret } from '../support/aws-fixtures.js';
import { RefresherHarness } from '../support/refresher-harness.js';

/**
 * The refresher's `connect` and `import` actions through `handleInvocation` (what the CLI
 * invokes), against moto and the oidc-provider fixture.
 */
describe('refresher connect and import actions', () => {
  let auth: AuthServer;
  let h: RefresherHarness;

  beforeAll(async () => {
    auth = await startAuthServer({ autoApprove: true });
    h = await new RefresherHarness(auth).setUp();
  });

  afterAll(async () => {
    await auth?.stop();
  });

  async function authorize(client: AuthServerClient) {
    const flow = await runCodeFlow({
      authorizationEndpoint: auth.authorizationEndpoint,
      clientId: client.clientId,
      scope: 'openid offline_access api:read',
      extraParams: { prompt: 'consent' },
      redirectUri: 'http://127.0.0.1:0/callback',
      timeoutMs: 10_000,
      open: async (url) => {
        await headlessAuthorize(url);
      },
      show: () => {},
    });
    h.sensitiveValues.add(flow.code);
    h.sensitiveValues.add(flow.codeVerifier);
    return flow;
  }

  async function provider(client: AuthServerClient) {
    return {
      tokenEndpoint: auth.tokenEndpoint,
      dialect: 'form',
      clientAuth: client.authMethod,
      clientCredentialsSecretId: await h.createClientCredentials(client),
    };
  }

  async function placeholder(name: string) {
    await createSecret(h.prefix + name, JSON.stringify(placeholderRecord(name)));
  }

  it('parses connect and import events, and refuses them on the consumer-facing function', async () => {
    await expect(
      parseEvent({
        action: 'connect',
        connection: 'a',
        provider: {},
        code: 'c',
        codeVerifier: 'v',
        redirectUri: 'http://127.0.0.1:1/cb',
      }),
    ).resolves.toMatchObject({ action: 'connect' });
    await expect(
      parseEvent({ action: 'import', connection: 'a', provider: {}, refreshToken: 'r' }),
    ).resolves.toMatchObject({ action: 'import' });
    await expect(
      parseEvent({ action: 'connect', connection: 'a', provider: {}, code: 'secret-code' }),
    ).rejects.toThrow(/^unrecognised event/);
    await expect(
      h.invokeRaw(
        { action: 'import', connection: 'a', provider: {}, refreshToken: 'never-used-token-value' },
        { config: { onDemandOnly: true } },
      ),
    ).rejects.toThrow(/does not accept connect or import/);
  });

  it('connects from an authorization code: exchange, encrypt, one version under the lease', async () => {
    const client = auth.client('client_secret_basic');
    await placeholder('coded');
    const flow = await authorize(client);
    const response = (await h.invokeRaw({
      action: 'connect',
      connection: 'coded',
      provider: await provider(client),
      ...flow,
    })) as ConnectResponse;
    expect(response).toMatchObject({
      action: 'connect',
      connection: 'coded',
      outcome: 'refreshed',
      validated: true,
    });
    const current = await h.current('coded');
    expect(current.versionId).toBe(response.versionId);
    expect(current.record).toMatchObject({ status: 'active', lastError: null, tokenLifetimeSeconds: 60 });
    expect(Date.parse(response.expiresAt!)).toBeGreaterThan(Date.now() + 50_000);
    expect((await auth.introspect(current.refreshToken)).active).toBe(true);
    // The scheduled run sees it, and a forced refresh works with the stored token.
    expect(await h.request({ connection: 'coded', force: true })).toMatchObject({ outcome: 'refreshed' });

    // The same code again: the provider refuses it (and revokes what it issued).
    const again = (await h.invokeRaw({
      action: 'connect',
      connection: 'coded',
      provider: await provider(client),
      ...flow,
    })) as ConnectResponse;
    expect(again).toMatchObject({ outcome: 'failed', failureClass: 'reauth_required' });
    expect(again.message).toMatch(/^the provider rejected the authorization code: invalid_grant/);
    expect(h.leakedValues()).toEqual([]);
  });

  it('names bad provider fields, and a missing secret, without echoing values', async () => {
    const bad = (await h.invokeRaw({
      action: 'import',
      connection: 'bad-provider',
      provider: { tokenEndpoint: 'nope', dialect: 'yaml', clientAuth: 'client_secret_post' },
      refreshToken: 'imported-token-value-1234',
    })) as ConnectResponse;
    expect(bad).toMatchObject({ outcome: 'failed', failureClass: 'configuration' });
    expect(bad.message).toBe(
      'invalid provider settings: tokenEndpoint: invalid_format; dialect: invalid_value; clientCredentialsSecretId: invalid_type',
    );
    const missing = (await h.invokeRaw({
      action: 'import',
      connection: 'no-secret',
      provider: await provider(auth.client('client_secret_post')),
      refreshToken: 'imported-token-value-5678',
    })) as ConnectResponse;
    expect(missing).toMatchObject({ outcome: 'failed', failureClass: 'configuration' });
    expect(missing.message).toMatch(/^connection "no-secret" has no secret/);
    h.sensitiveValues.add('imported-token-value-1234');
    h.sensitiveValues.add('imported-token-value-5678');
    expect(h.leakedValues()).toEqual([]);
  });

  it('creates the secret when a creator is wired, and answers in_progress while the lease is held', async () => {
    const client = auth.client('client_secret_post');
    const refreshToken = await auth.mintRefreshToken({ clientId: client.clientId });
    h.sensitiveValues.add(refreshToken);
    const ports: RefresherPorts = {
      ...h.ports(),
      secretCreator: {
        async createSecret(secretId, value, clientRequestToken) {
          const created = await h.secretsManager.send(
            new CreateSecretCommand({
              Name: secretId,
              SecretString: value,
              ClientRequestToken: clientRequestToken,
            }),
          );
          return { versionId: created.VersionId! };
        },
      },
    };
    const created = (await h.invokeRaw(
      { action: 'import', connection: 'created', provider: await provider(client), refreshToken },
      { ports },
    )) as ConnectResponse;
    expect(created).toMatchObject({ outcome: 'refreshed', validated: true });
    expect((await h.current('created')).record.status).toBe('active');

    const leases = h.ports().leases;
    await leases.acquire('created', { owner: 'someone-else', leaseUntil: Date.now() + 60_000 });
    const busy = (await h.invokeRaw({
      action: 'import',
      connection: 'created',
      provider: await provider(client),
      refreshToken: 'other-token-value-000',
    })) as ConnectResponse;
    expect(busy).toMatchObject({ outcome: 'in_progress' });
    await leases.release('created', 'someone-else', 'not_sent');
    expect(h.leakedValues()).toEqual([]);
  });
});

describe('LambdaInvoker (the CLI in AWS)', () => {
  const payload = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

  it('waits while the refresher is throttled (reserved concurrency 1), then returns its answer', async () => {
    let calls = 0;
    const client = {
      send: async () => {
        calls += 1;
        if (calls === 1)
          throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
        return { Payload: payload({ connection: 'a', outcome: 'refreshed', versionId: 'v2' }) };
      },
    } as unknown as LambdaClient;
    const notices: string[] = [];
    const invoker = new LambdaInvoker(client, 'fn', (message) => notices.push(message));
    expect(await invoker.invoke({ action: 'refresh', connection: 'a' })).toMatchObject({
      outcome: 'refreshed',
    });
    expect(calls).toBe(2);
    expect(notices).toEqual(['the refresher is busy (a scheduled run is in progress); waiting for it']);
  });

  it('turns a function error into one line and a missing function into a clear error', async () => {
    const failing = {
      send: async () => ({
        FunctionError: 'Unhandled',
        Payload: payload({ errorType: 'Error', errorMessage: 'unrecognised event: expected ...\nstack' }),
      }),
    } as unknown as LambdaClient;
    await expect(new LambdaInvoker(failing, 'fn', () => {}).invoke({})).rejects.toThrow(
      /^the refresher function failed: Error: unrecognised event: expected \.\.\.$/,
    );
    const missing = {
      send: async () => {
        throw Object.assign(new Error('Function not found'), { name: 'ResourceNotFoundException' });
      },
    } as unknown as LambdaClient;
    await expect(new LambdaInvoker(missing, 'fn', () => {}).invoke({})).rejects.toThrow(
      'the refresher function "fn" was not found',
    );
  });
});
