import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectResponse } from '../../lambda/contract/on-demand.js';
import { parseRecord, placeholderRecord } from '../../lambda/core/record.js';
import {
  loadProfiles,
  PROFILES,
  resolveProfile,
  resolveProfileWith,
} from '../../lambda/providers/profiles.js';
import { type AuthServer, startAuthServer } from '../../sandbox/auth-server.js';
import {
  type ProviderReplay,
  type ReplayProfileName,
  startProviderReplay,
} from '../../sandbox/provider-replay/replay-server.js';
import { createSecret } from '../support/aws-fixtures.js';
import { RefresherHarness } from '../support/refresher-harness.js';

/**
 * The record stores the profile a connection was connected with and the behaviour it
 * resolved to, at connect time; nothing the refresher does later reads the profiles
 * (test/unit/architecture.test.ts forbids the import), so a later change of a profile is
 * an explicit reconnect, never a silent change of behaviour.
 */
describe('the record keeps the profile and behaviour a connection was connected with', () => {
  let auth: AuthServer;
  let replay: ProviderReplay;
  let h: RefresherHarness;

  beforeAll(async () => {
    auth = await startAuthServer();
    replay = await startProviderReplay();
    h = await new RefresherHarness(auth, { allowedTokenOrigins: [replay.origin] }).setUp();
  });
  afterAll(async () => {
    await replay?.stop();
    await auth?.stop();
  });

  /**
   * The provider settings of a `connect --provider` event for `profile`, aimed at the replay
   * (its client credentials secret created, bound to the replay), and the connection's
   * placeholder secret.
   */
  async function prepare(connection: string, profile: ReplayProfileName, behaviour?: unknown) {
    const resolved = resolveProfile(profile);
    const client = replay.client(profile);
    h.sensitiveValues.add(client.clientSecret);
    const credentials = `${h.prefix.replace(/\/$/, '')}-clients/${profile}`;
    await createSecret(
      credentials,
      JSON.stringify({
        client_id: client.clientId,
        client_secret: client.clientSecret,
        token_endpoint_origins: [replay.origin],
      }),
      { client: h.secretsManager },
    ).catch((error: Error) => {
      if (error.name !== 'ResourceExistsException') throw error;
    });
    await createSecret(`${h.prefix}${connection}`, JSON.stringify(placeholderRecord(connection)), {
      client: h.secretsManager,
    });
    const provider = {
      tokenEndpoint: replay.tokenEndpoint(profile),
      dialect: resolved.dialect,
      clientAuth: resolved.clientAuth,
      clientCredentialsSecretId: credentials,
      ...(resolved.defaultScope ? { scope: resolved.defaultScope } : {}),
      profile,
      behaviour: behaviour ?? resolved.behaviour,
    };
    return { resolved, provider };
  }

  /**
   * An import (a refresh token from the replay) or a connect (a code the replay issued) event
   * for `profile`, aimed at the replay, as `connect --provider` builds it.
   */
  async function send(
    action: 'import' | 'connect',
    connection: string,
    profile: ReplayProfileName,
    behaviour?: unknown,
  ) {
    const { resolved, provider } = await prepare(connection, profile, behaviour);
    const scope = { scope: resolved.defaultScope ?? '' };
    const grant =
      action === 'import'
        ? { refreshToken: replay.grant(profile, scope).refreshToken }
        : {
            code: replay.authorizationCode(profile, scope),
            codeVerifier: 'replay-code-verifier-0123456789abcdef0123456789',
            redirectUri: 'http://127.0.0.1:53682/callback',
          };
    for (const value of Object.values(grant)) h.sensitiveValues.add(value);
    const response = (await h.invokeRaw({ action, connection, provider, ...grant })) as ConnectResponse;
    return { response, resolved };
  }
  const importWithProfile = (connection: string, profile: ReplayProfileName, behaviour?: unknown) =>
    send('import', connection, profile, behaviour);
  const connectWithProfile = (connection: string, profile: ReplayProfileName) =>
    send('connect', connection, profile);

  it('stores provider.profile and provider.behaviour from the connect/import event', async () => {
    const importedAt = Date.now();
    const { response, resolved } = await importWithProfile('box-files', 'box');
    expect(response, JSON.stringify(response)).toMatchObject({ action: 'import', outcome: 'refreshed' });
    const { record } = await h.current('box-files');
    expect(record.schemaVersion).toBe(2);
    expect(record.provider?.profile).toBe('box');
    expect(record.provider?.behaviour).toEqual(resolved.behaviour);
    expect(replay.calls('box')).toBe(1);
    // The import's own version (before its validating refresh) already says when it was granted.
    const imported = parseRecord(
      'box-files',
      (
        await h.secretsManager.send(
          new GetSecretValueCommand({ SecretId: `${h.prefix}box-files`, VersionStage: 'AWSPREVIOUS' }),
        )
      ).SecretString!,
    );
    expect(imported.accessToken).toBeUndefined();
    expect(Date.parse(imported.grantedAt ?? '')).toBeGreaterThanOrEqual(importedAt);
    expect(Date.parse(imported.grantedAt ?? '')).toBeLessThanOrEqual(Date.parse(record.refreshedAt ?? ''));
    expect(record.grantedAt).toBe(imported.grantedAt);
    expect(h.leakedValues()).toEqual([]);
  });

  it('a later change of the profile does not change the connection: refreshes keep the stored behaviour', async () => {
    const { resolved } = await importWithProfile('box-kept', 'box');
    const { name: _, ...boxData } = PROFILES.get('box')!;
    const changed = loadProfiles({
      box: {
        ...boxData,
        rotation: { ...boxData.rotation, reuseWindowSeconds: 120 },
        errors: { ...boxData.errors, codeFields: ['status'] },
      },
    }).get('box')!;
    const changedBehaviour = resolveProfileWith(changed, {}).behaviour;
    expect(changedBehaviour).not.toEqual(resolved.behaviour);

    const before = replay.calls('box');
    const refreshed = await h.request({ connection: 'box-kept', force: true });
    expect(refreshed).toMatchObject({ outcome: 'refreshed' });
    expect(replay.calls('box')).toBe(before + 1);
    const { record } = await h.current('box-kept');
    expect(record.provider?.behaviour).toEqual(resolved.behaviour);
    expect(record.provider?.profile).toBe('box');
  });

  describe('connect (the code exchange) sets what a refresh sets, read with the profile', () => {
    it('Salesforce: no expires_in (the profile default), the granted scope and the kept fields', async () => {
      const connectedAt = Date.now();
      const { response } = await connectWithProfile('sf-connect', 'salesforce');
      expect(response, JSON.stringify(response)).toMatchObject({ action: 'connect', outcome: 'refreshed' });
      const { record } = await h.current('sf-connect');
      expect(record).toMatchObject({
        status: 'active',
        tokenType: 'Bearer',
        // Without the profile's behaviour: the engine's one hour.
        tokenLifetimeSeconds: 7200,
        grantedScope: 'api refresh_token',
        providerFields: {
          instance_url: 'https://acme.my.salesforce.com',
          id: 'https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P',
          issued_at: expect.stringMatching(/^\d+$/),
        },
      });
      expect(Date.parse(record.grantedAt ?? '')).toBeGreaterThanOrEqual(connectedAt);
      expect(record.refreshTokenExpiresAt).toBeUndefined(); // Salesforce documents no lifetime
      const [request] = replay.requests('salesforce');
      expect(request?.params.grant_type).toBe('authorization_code');
      expect(h.leakedValues()).toEqual([]);
    });

    it("GitHub App: the refresh token's expiry from the response; Dropbox: account_id kept", async () => {
      const connectedAt = Date.now();
      expect((await connectWithProfile('gh-connect', 'github-app')).response).toMatchObject({
        outcome: 'refreshed',
      });
      const gh = (await h.current('gh-connect')).record;
      expect(gh).toMatchObject({ tokenType: 'bearer', tokenLifetimeSeconds: 28_800 });
      const expiry = Date.parse(gh.refreshTokenExpiresAt ?? '');
      expect(expiry).toBeGreaterThanOrEqual(connectedAt + 15_811_200_000);
      expect(expiry).toBeLessThanOrEqual(Date.now() + 15_811_200_000);

      expect((await connectWithProfile('dbx-connect', 'dropbox')).response).toMatchObject({
        outcome: 'refreshed',
      });
      const dbx = (await h.current('dbx-connect')).record;
      expect(dbx.providerFields).toEqual({ account_id: 'dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc' });
    });

    it('Spotify: the absolute lifetime counts from the connect, and a refresh keeps it', async () => {
      const connectedAt = Date.now();
      await connectWithProfile('spotify-connect', 'spotify');
      const connected = (await h.current('spotify-connect')).record;
      const expiry = Date.parse(connected.refreshTokenExpiresAt ?? '');
      expect(Math.abs(expiry - (connectedAt + 180 * 86_400_000))).toBeLessThan(60_000);
      expect(await h.request({ connection: 'spotify-connect', force: true })).toMatchObject({
        outcome: 'refreshed',
      });
      const refreshed = (await h.current('spotify-connect')).record;
      expect(refreshed.grantedAt).toBe(connected.grantedAt);
      expect(refreshed.refreshTokenExpiresAt).toBe(connected.refreshTokenExpiresAt);
    });
  });

  it('refuses an event whose behaviour is malformed, before anything is sent or stored', async () => {
    const resolved = resolveProfile('zoom');
    const malformed = { ...resolved.behaviour, rotation: { model: 'sometimes', reuseWindowSeconds: -1 } };
    const before = replay.calls('zoom');
    const { response } = await importWithProfile('zoom-bad', 'zoom', malformed);
    expect(response).toMatchObject({ action: 'import', outcome: 'failed', failureClass: 'configuration' });
    expect(response.message).toMatch(/invalid provider settings: behaviour\.rotation\.model/);
    expect(replay.calls('zoom')).toBe(before);
    expect((await h.current('zoom-bad')).record.status).toBe('reauth_required');
  });
});
