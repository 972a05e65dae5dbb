import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectResponse } from '../../lambda/contract/on-demand.js';
import { placeholderRecord } from '../../lambda/core/record.js';
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

  /** An import event for `profile`, aimed at the replay, as `connect --provider` builds it. */
  async function importWithProfile(connection: string, profile: ReplayProfileName, behaviour?: unknown) {
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
    const { refreshToken } = replay.grant(profile, { scope: resolved.defaultScope ?? '' });
    h.sensitiveValues.add(refreshToken);
    const response = (await h.invokeRaw({
      action: 'import',
      connection,
      provider: {
        tokenEndpoint: replay.tokenEndpoint(profile),
        dialect: resolved.dialect,
        clientAuth: resolved.clientAuth,
        clientCredentialsSecretId: credentials,
        ...(resolved.defaultScope ? { scope: resolved.defaultScope } : {}),
        profile,
        behaviour: behaviour ?? resolved.behaviour,
      },
      refreshToken,
    })) as ConnectResponse;
    return { response, resolved, refreshToken };
  }

  it('stores provider.profile and provider.behaviour from the connect/import event', async () => {
    const { response, resolved } = await importWithProfile('box-files', 'box');
    expect(response, JSON.stringify(response)).toMatchObject({ action: 'import', outcome: 'refreshed' });
    const { record } = await h.current('box-files');
    expect(record.schemaVersion).toBe(2);
    expect(record.provider?.profile).toBe('box');
    expect(record.provider?.behaviour).toEqual(resolved.behaviour);
    expect(replay.calls('box')).toBe(1);
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
