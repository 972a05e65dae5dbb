import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectResponse } from '../../lambda/contract/on-demand.js';
import type { EngineSettings } from '../../lambda/contract/settings.js';
import type { KeyService } from '../../lambda/core/ports.js';
import type { ConnectionRecord } from '../../lambda/core/record.js';
import type { RefresherPorts } from '../../lambda/refresher/composition.js';
import { type AuthServer, startAuthServer } from '../../sandbox/auth-server.js';
import { createSecret } from '../support/aws-fixtures.js';
import { type CountingServer, startCountingServer } from '../support/counting-server.js';
import { RefresherHarness } from '../support/refresher-harness.js';
import { wrapStore } from '../support/store-wrapper.js';

/**
 * Pinned token endpoints (lambda/core/token-origin.ts), against real peers: moto, the
 * oidc-provider fixture, and a second local server that counts every request it gets —
 * a token endpoint nobody may send to. Whatever a record or a connect/import event names,
 * a refresh token and a client secret go only to an allowed origin their credentials are
 * bound to; a refusal sends nothing, decrypts nothing, and says why.
 */
describe('pinned token endpoints (moto + oidc-provider + a counting server)', () => {
  let auth: AuthServer;
  let elsewhere: CountingServer;

  beforeAll(async () => {
    auth = await startAuthServer({ accessTokenTtlSeconds: 3600 });
    elsewhere = await startCountingServer();
  });

  afterAll(async () => {
    await elsewhere?.stop();
    await auth?.stop();
  });

  async function harness(overrides: Partial<EngineSettings> = {}): Promise<RefresherHarness> {
    return new RefresherHarness(auth, overrides).setUp();
  }

  /** The harness's ports, recording every secret read and every refresh-token decrypt. */
  function spied(h: RefresherHarness): { ports: RefresherPorts; reads: string[]; decrypts: number } {
    const ports = h.ports();
    const spy = { reads: [] as string[], decrypts: 0 };
    const store = wrapStore(ports.store, {
      getCurrent: (secretId) => {
        spy.reads.push(secretId);
        return ports.store.getCurrent(secretId);
      },
    });
    const keys: KeyService = {
      encrypt: (plaintext, context) => ports.keys.encrypt(plaintext, context),
      decrypt: (ciphertext, context) => {
        spy.decrypts += 1;
        return ports.keys.decrypt(ciphertext, context);
      },
    };
    return Object.assign(spy, { ports: { ...ports, store, keys } });
  }

  /** Rewrites a connection's record as someone with `secretsmanager:PutSecretValue` could. */
  async function edit(h: RefresherHarness, name: string, change: (record: ConnectionRecord) => void) {
    const { record } = await h.current(name);
    change(record);
    await h.secretsManager.send(
      new PutSecretValueCommand({ SecretId: h.prefix + name, SecretString: JSON.stringify(record) }),
    );
  }

  const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

  it('a record edited to name an unlisted origin: that server gets no request, the connection says why, the metric fires', async () => {
    const h = await harness();
    await h.createConnection('edited', { client: auth.client('client_secret_basic') });
    expect((await h.invoke()).refreshed).toBe(1);
    await edit(h, 'edited', (record) => {
      record.provider!.tokenEndpoint = `${elsewhere.tokenEndpoint}?steal=1`;
      record.refreshedAt = minutesAgo(20); // past the version floor: the refusal is recorded at once
    });
    const before = await h.current('edited');
    const presented = auth.presentedRefreshTokens().length;
    const spy = spied(h);

    const summary = await h.invoke(undefined, { ports: spy.ports });

    expect(elsewhere.requests()).toBe(0);
    expect(auth.presentedRefreshTokens()).toHaveLength(presented);
    expect(summary.results[0]).toMatchObject({ status: 'failed', failureClass: 'configuration' });
    const message = summary.results[0]!.status === 'failed' ? summary.results[0]!.message : '';
    expect(message).toContain(`origin ${elsewhere.origin} is not in allowedTokenOrigins (${auth.issuer})`);
    expect(message).toContain('nothing was sent');
    expect(message).not.toContain('steal');
    // Refused before anything secret was read: no decrypt, no client credentials.
    expect(spy.decrypts).toBe(0);
    expect(spy.reads).toEqual([`${h.prefix}edited`]);
    const after = await h.current('edited');
    expect(after.record.lastError).toMatchObject({ class: 'configuration', message });
    expect(after.record.status).toBe('active');
    expect(after.refreshToken).toBe(before.refreshToken);
    expect(h.metricTotal('EndpointRefused')).toBe(1);
    expect(h.metricTotal('RefreshFailed', { FailureClass: 'configuration' })).toBe(1);

    // The next run that reads it refuses again, without writing the same error again.
    await h.invoke({ action: 'run', connections: ['edited'] });
    expect(elsewhere.requests()).toBe(0);
    expect((await h.current('edited')).versionId).toBe(after.versionId);
    expect(h.metricTotal('EndpointRefused')).toBe(2);
    expect(h.leakedValues()).toEqual([]);
  });

  it('plain http is refused unless the test-only switch is on, even to a listed loopback origin', async () => {
    const h = await harness({ allowInsecureLoopback: false });
    await h.createConnection('plain', { client: auth.client('client_secret_basic') });
    const presented = auth.presentedRefreshTokens().length;
    const summary = await h.invoke();
    expect(summary.results[0]).toMatchObject({ status: 'failed', failureClass: 'configuration' });
    expect(summary.results[0]).toMatchObject({ message: expect.stringMatching(/allowInsecureLoopback/) });
    expect(auth.presentedRefreshTokens()).toHaveLength(presented);
    expect(h.metricTotal('EndpointRefused')).toBe(1);
  });

  it('the default allow-list (the Askara origin) refuses every loopback endpoint, the Lambda Runtime API included', async () => {
    const h = await harness({ allowedTokenOrigins: ['https://api.askara.ai'], allowInsecureLoopback: false });
    await h.createConnection('runtime-api', {
      client: auth.client('client_secret_basic'),
      record: {
        provider: {
          tokenEndpoint: 'http://127.0.0.1:9001/2018-06-01/runtime/invocation/next',
          dialect: 'form',
          clientAuth: 'client_secret_basic',
          clientCredentialsSecretId: h.clientSecretId(auth.client('client_secret_basic')),
        },
      },
    });
    const summary = await h.invoke();
    expect(summary.results[0]).toMatchObject({
      status: 'failed',
      failureClass: 'configuration',
      message: expect.stringContaining('origin http://127.0.0.1:9001 is not in allowedTokenOrigins'),
    });
  });

  it('a client secret goes only to the origins its secret is bound to', async () => {
    const h = await harness({ allowedTokenOrigins: [auth.issuer, elsewhere.origin] });
    const client = auth.client('client_secret_post');
    // Another team's credentials, bound to the real provider, named by a record pointing elsewhere.
    await h.createConnection('borrowed', { client });
    await edit(h, 'borrowed', (record) => {
      record.provider!.tokenEndpoint = elsewhere.tokenEndpoint;
    });
    const spy = spied(h);
    const summary = await h.invoke(undefined, { ports: spy.ports });
    expect(elsewhere.requests()).toBe(0);
    expect(spy.decrypts).toBe(0);
    expect(summary.results[0]).toMatchObject({
      status: 'failed',
      failureClass: 'configuration',
      message: expect.stringContaining(
        `is bound to ${auth.issuer} (its "token_endpoint_origins"), not to the token endpoint's origin ${elsewhere.origin}`,
      ),
    });
    expect(h.metricTotal('EndpointRefused')).toBe(1);
  });

  it('a client-credentials secret without the binding may be sent nowhere, and the error says what to add', async () => {
    const h = await harness();
    const client = auth.client('client_secret_basic');
    await h.createClientCredentials(client, { origins: null });
    await h.createConnection('legacy', { client });
    const presented = auth.presentedRefreshTokens().length;
    const summary = await h.invoke();
    expect(auth.presentedRefreshTokens()).toHaveLength(presented);
    expect(summary.results[0]).toMatchObject({ status: 'failed', failureClass: 'configuration' });
    const message = summary.results[0]!.status === 'failed' ? summary.results[0]!.message : '';
    expect(message).toContain(`has no "token_endpoint_origins"`);
    expect(message).toContain(`"token_endpoint_origins": ["${auth.issuer}"]`);
    expect((await h.current('legacy')).record.lastError?.message).toBe(message);
    expect(h.metricTotal('EndpointRefused')).toBe(1);
  });

  describe('connect and import events name their own provider', () => {
    const importEvent = (name: string, provider: Record<string, unknown>, refreshToken: string) => ({
      action: 'import',
      connection: name,
      provider: { dialect: 'form', clientAuth: 'client_secret_post', ...provider },
      refreshToken,
    });

    it('an import naming an unlisted origin: nothing sent, nothing stored, the metric fires', async () => {
      const h = await harness();
      const credentials = await h.createClientCredentials(auth.client('client_secret_post'));
      await createSecret(
        `${h.prefix}exfil`,
        JSON.stringify({ schemaVersion: 1, connection: 'exfil', status: 'disabled' }),
        {
          client: h.secretsManager,
        },
      );
      const refreshToken = await auth.mintRefreshToken({
        clientId: auth.client('client_secret_post').clientId,
      });
      h.sensitiveValues.add(refreshToken);
      const spy = spied(h);
      const response = (await h.invokeRaw(
        importEvent(
          'exfil',
          { tokenEndpoint: elsewhere.tokenEndpoint, clientCredentialsSecretId: credentials },
          refreshToken,
        ),
        { ports: spy.ports },
      )) as ConnectResponse;
      expect(response).toMatchObject({ action: 'import', outcome: 'failed', failureClass: 'configuration' });
      expect(response.message).toContain(`origin ${elsewhere.origin} is not in allowedTokenOrigins`);
      expect(elsewhere.requests()).toBe(0);
      expect(spy.reads).toEqual([]); // not even the client credentials were read
      expect(await h.versionCount('exfil')).toBe(1);
      expect(h.metricTotal('EndpointRefused')).toBe(1);
      expect(h.leakedValues()).toEqual([]);
    });

    it("a connect naming another team's credentials secret, bound elsewhere: nothing sent", async () => {
      const h = await harness({ allowedTokenOrigins: [auth.issuer, elsewhere.origin] });
      const otherTeam = await h.createClientCredentials(auth.client('client_secret_basic'), {
        secretId: `${h.prefix.replace(/\/$/, '')}-clients/other-team`,
      });
      const response = (await h.invokeRaw({
        action: 'connect',
        connection: 'hijack',
        provider: {
          tokenEndpoint: elsewhere.tokenEndpoint,
          dialect: 'form',
          clientAuth: 'client_secret_basic',
          clientCredentialsSecretId: otherTeam,
        },
        code: 'an-authorization-code-0001',
        codeVerifier: 'a-code-verifier-0001-0001-0001-0001-0001-00',
        redirectUri: 'http://127.0.0.1/callback',
      })) as ConnectResponse;
      expect(response).toMatchObject({ action: 'connect', outcome: 'failed', failureClass: 'configuration' });
      expect(response.message).toContain(`"${otherTeam}" is bound to ${auth.issuer}`);
      expect(elsewhere.requests()).toBe(0);
      expect(h.metricTotal('EndpointRefused')).toBe(1);
      expect(h.leakedValues()).toEqual([]);
    });

    it("an import to the allowed provider with another team's credentials bound elsewhere: nothing sent", async () => {
      const h = await harness({ allowedTokenOrigins: [auth.issuer, elsewhere.origin] });
      const otherTeam = await h.createClientCredentials(auth.client('client_secret_post'), {
        secretId: `${h.prefix.replace(/\/$/, '')}-clients/elsewhere-team`,
        origins: [elsewhere.origin],
      });
      const refreshToken = await auth.mintRefreshToken({
        clientId: auth.client('client_secret_post').clientId,
      });
      h.sensitiveValues.add(refreshToken);
      const presented = auth.presentedRefreshTokens().length;
      const response = (await h.invokeRaw(
        importEvent(
          'cross',
          { tokenEndpoint: auth.tokenEndpoint, clientCredentialsSecretId: otherTeam },
          refreshToken,
        ),
      )) as ConnectResponse;
      expect(response).toMatchObject({ outcome: 'failed', failureClass: 'configuration' });
      expect(response.message).toContain(`not to the token endpoint's origin ${auth.issuer}`);
      expect(auth.presentedRefreshTokens()).toHaveLength(presented);
      expect(h.metricTotal('EndpointRefused')).toBe(1);
    });
  });
});
