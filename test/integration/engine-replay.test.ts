import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbLeaseStore } from '../../lambda/adapters/dynamodb-lease-store.js';
import { systemClock } from '../../lambda/adapters/system-clock.js';
import type { EngineSettings } from '../../lambda/contract/settings.js';
import type { Clock } from '../../lambda/core/ports.js';
import type { ConnectionRecord, ProviderSettings } from '../../lambda/core/record.js';
import type { RunSummary } from '../../lambda/core/run-refresh.js';
import { versionAccess } from '../../lambda/core/version-access.js';
import {
  exampleParams,
  PROFILES,
  profileNamed,
  type ResolvedProfile,
  resolveProfile,
} from '../../lambda/providers/profiles.js';
import type { RefresherPorts } from '../../lambda/refresher/composition.js';
import {
  type AfterProcessing,
  type ProviderReplay,
  REPLAY_PROVIDERS,
  type ReplayProfileName,
  startProviderReplay,
} from '../../sandbox/provider-replay/replay-server.js';
import { type HarnessProvider, RefresherHarness } from '../support/refresher-harness.js';

/**
 * The engine's proof against replayed provider answers: the real engine and adapters, moto
 * for AWS, the real provider profiles (`lambda/providers/profiles.json`) as each record
 * stores them, and the provider replay server (`sandbox/provider-replay/`) answering as
 * each provider documents. The records name the replay's endpoint for each profile instead
 * of the provider's (the profile's host is the only thing that differs). Every assertion
 * on hammering counts the requests each provider received.
 */

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/** Every profile, each replayed at `<origin>/<profile>/token`. */
const NAMES = [...PROFILES.keys()] as ReplayProfileName[];

/** Salesforce's refresh-token rotation is a connected-app setting (off by default): on here. */
const ROTATION = { salesforce: 'rotate' } as const;

let replay: ProviderReplay;

beforeAll(async () => {
  replay = await startProviderReplay({ rotation: ROTATION });
});

afterAll(async () => {
  await replay?.stop();
});

/** The real profile, its placeholders filled with their examples. */
const profile = (name: ReplayProfileName): ResolvedProfile =>
  resolveProfile(name, exampleParams(profileNamed(name)));

/** Whether the replayed provider gives a new refresh token on each refresh. */
const rotates = (name: ReplayProfileName): boolean =>
  ((ROTATION as Partial<Record<ReplayProfileName, string>>)[name] ?? REPLAY_PROVIDERS[name].rotation) ===
  'rotate';

/** What the harness needs of the replay: its origin, its clients, the refresh tokens it saw. */
function replayProvider(): HarnessProvider {
  return {
    issuer: replay.origin,
    clients: NAMES.map((name) => ({ ...replay.client(name), authMethod: profile(name).clientAuth })),
    tokenEndpoint: replay.tokenEndpoint('askara'),
    jsonTokenEndpoint: replay.tokenEndpoint('askara'),
    presentedRefreshTokens: () =>
      NAMES.flatMap((name) =>
        replay
          .requests(name)
          .flatMap(({ params }) => (params.refresh_token ? [{ refreshToken: params.refresh_token }] : [])),
      ),
  };
}

const harness = (overrides: Partial<EngineSettings> = {}): Promise<RefresherHarness> =>
  new RefresherHarness(replayProvider(), overrides).setUp();

/**
 * A connection to `provider`'s replay, its record carrying what `connect --provider`
 * stores: the profile's name, request style and behaviour, and its scope (by default the
 * profile's). The grant's first refresh token comes from the replay.
 */
async function connect(
  h: RefresherHarness,
  name: string,
  provider: ReplayProfileName,
  options: { scope?: string; record?: Partial<ConnectionRecord> } = {},
): Promise<{ refreshToken: string }> {
  const resolved = profile(provider);
  const scope = options.scope ?? resolved.defaultScope;
  const credentialsId = await h.createClientCredentials({
    ...replay.client(provider),
    authMethod: resolved.clientAuth,
  });
  const provided: ProviderSettings = {
    tokenEndpoint: replay.tokenEndpoint(provider),
    dialect: resolved.dialect,
    clientAuth: resolved.clientAuth,
    clientCredentialsSecretId: credentialsId,
    ...(scope ? { scope } : {}),
    profile: provider,
    // As stored (the schema's arrays are mutable; the profile's are read-only).
    behaviour: structuredClone(resolved.behaviour) as ProviderSettings['behaviour'],
  };
  const { refreshToken } = replay.grant(provider, scope ? { scope } : {});
  return h.storeConnection(name, provided, refreshToken, options.record);
}

/** A clock `offsetMs` ahead of the real one (a later run). */
const later = (offsetMs: number): Clock => ({
  now: () => Date.now() + offsetMs,
  sleep: systemClock.sleep,
});

const run = (h: RefresherHarness, connection: string, options: { force?: boolean; clock?: Clock } = {}) =>
  h.invoke(
    { action: 'run', connections: [connection], ...(options.force ? { force: true } : {}) },
    options.clock ? { clock: options.clock } : {},
  );

const resultOf = (summary: RunSummary, connection: string) =>
  summary.results.find((result) => result.connection === connection);

/** `count` copies of one scripted answer: a provider that keeps answering so. */
const times = <T>(count: number, answer: T): T[] => Array.from({ length: count }, () => answer);

/** GitHub's default encoding: the success form-encoded, as when the request does not ask for JSON. */
const formEncoded: AfterProcessing = (success) => ({
  status: success.status,
  headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
  body: new URLSearchParams(
    Object.entries(success.body as Record<string, unknown>).map(([key, value]): [string, string] => [
      key,
      String(value),
    ]),
  ).toString(),
});

describe('the four providers that broke: refreshed on success, reauth_required on a dead refresh token', () => {
  it('Salesforce: no expires_in (the profile default), instance_url kept; a dead token is invalid_grant', async () => {
    const h = await harness();
    const { refreshToken } = await connect(h, 'sf', 'salesforce');
    const before = replay.calls('salesforce');
    expect(resultOf(await run(h, 'sf'), 'sf')).toMatchObject({ status: 'refreshed' });
    const { record, refreshToken: stored } = await h.current('sf');
    expect(record).toMatchObject({
      status: 'active',
      tokenType: 'Bearer',
      tokenLifetimeSeconds: 7200,
      providerFields: {
        instance_url: 'https://acme.my.salesforce.com',
        id: 'https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P',
        issued_at: expect.stringMatching(/^\d+$/),
      },
      grantedScope: 'api refresh_token',
    });
    expect(JSON.stringify(record)).not.toContain('c2lnbmF0dXJl'); // the signature is never kept
    // Rotation on: the new refresh token was committed; run 2 uses it, not the old one.
    expect(stored).not.toBe(refreshToken);
    expect(stored).toBe(replay.currentRefreshToken(refreshToken));
    expect(resultOf(await run(h, 'sf', { force: true }), 'sf')).toMatchObject({ status: 'refreshed' });
    expect(replay.calls('salesforce') - before).toBe(2);
    expect(replay.callsWith(refreshToken)).toBe(1);

    replay.revoke(refreshToken);
    expect(resultOf(await run(h, 'sf', { force: true }), 'sf')).toMatchObject({
      status: 'failed',
      failureClass: 'reauth_required',
    });
    expect((await h.current('sf')).record).toMatchObject({
      status: 'reauth_required',
      lastError: { class: 'reauth_required' },
    });
    await run(h, 'sf', { force: true });
    expect(replay.calls('salesforce') - before).toBe(3);
    expect(h.leakedValues()).toEqual([]);
  });

  it('Slack: token_type bot accepted and stored as sent; 200 {ok:false, invalid_refresh_token} is a dead token', async () => {
    const h = await harness();
    const { refreshToken } = await connect(h, 'slack', 'slack', { scope: 'commands,incoming-webhook' });
    const before = replay.calls('slack');
    expect(resultOf(await run(h, 'slack'), 'slack')).toMatchObject({ status: 'refreshed' });
    const { record, refreshToken: stored } = await h.current('slack');
    expect(record).toMatchObject({
      tokenType: 'bot',
      tokenLifetimeSeconds: 43_200,
      grantedScope: 'commands,incoming-webhook',
      providerFields: { app_id: 'A0KRD7HC3', bot_user_id: 'U0KRQLJ9H' },
    });
    expect(stored).not.toBe(refreshToken);

    replay.revoke(refreshToken);
    expect(resultOf(await run(h, 'slack', { force: true }), 'slack')).toMatchObject({
      status: 'failed',
      failureClass: 'reauth_required',
    });
    const dead = (await h.current('slack')).record;
    expect(dead.status).toBe('reauth_required');
    expect(dead.lastError?.message).toMatch(
      /^the provider rejected the refresh token: invalid_refresh_token\. /,
    );
    expect(replay.requests('slack').at(-1)).toMatchObject({ status: 200 });
    expect(replay.calls('slack') - before).toBe(2);
    expect(h.leakedValues()).toEqual([]);
  });

  it('GitHub App: a form-encoded answer, the refresh token lifetime kept; 200 error=bad_refresh_token is a dead token', async () => {
    const h = await harness();
    await connect(h, 'gh', 'github-app');
    const before = replay.calls('github-app');
    const sentAt = Date.now();
    replay.next('github-app', formEncoded);
    expect(resultOf(await run(h, 'gh'), 'gh')).toMatchObject({ status: 'refreshed' });
    const { record } = await h.current('gh');
    expect(record).toMatchObject({ tokenType: 'bearer', tokenLifetimeSeconds: 28_800 });
    const rtExpiry = Date.parse(record.refreshTokenExpiresAt ?? '');
    expect(rtExpiry).toBeGreaterThanOrEqual(sentAt + 15_811_200_000 - 5_000);
    expect(rtExpiry).toBeLessThanOrEqual(Date.now() + 15_811_200_000);

    // The provider's form-encoded error (its default when JSON is not asked for), inside a 200.
    replay.next('github-app', 'dead_token_form');
    expect(resultOf(await run(h, 'gh', { force: true }), 'gh')).toMatchObject({
      failureClass: 'reauth_required',
    });
    expect(replay.requests('github-app').at(-1)).toMatchObject({ status: 200 });
    const dead = (await h.current('gh')).record;
    expect(dead.status).toBe('reauth_required');
    expect(dead.lastError?.message).toMatch(/^the provider rejected the refresh token: bad_refresh_token\. /);
    // The provider's own words stay out of the record.
    expect(JSON.stringify(dead)).not.toContain('incorrect or expired');
    expect(replay.calls('github-app') - before).toBe(2);
  });

  it('HubSpot: a static refresh token is kept; 400 {status: BAD_REFRESH_TOKEN} is a dead token', async () => {
    const h = await harness();
    const { refreshToken } = await connect(h, 'hub', 'hubspot');
    const before = replay.calls('hubspot');
    expect(resultOf(await run(h, 'hub'), 'hub')).toMatchObject({ status: 'refreshed' });
    const { record, refreshToken: stored } = await h.current('hub');
    expect(record).toMatchObject({ tokenType: 'bearer', tokenLifetimeSeconds: 1800 });
    // HubSpot does not rotate: the old refresh token stays, and keeps working.
    expect(stored).toBe(refreshToken);
    expect(resultOf(await run(h, 'hub', { force: true }), 'hub')).toMatchObject({ status: 'refreshed' });
    expect((await h.current('hub')).refreshToken).toBe(refreshToken);

    replay.revoke(refreshToken);
    expect(resultOf(await run(h, 'hub', { force: true }), 'hub')).toMatchObject({
      failureClass: 'reauth_required',
    });
    const dead = (await h.current('hub')).record;
    expect(dead.status).toBe('reauth_required');
    expect(dead.lastError?.message).toMatch(/^the provider rejected the refresh token: BAD_REFRESH_TOKEN\. /);
    expect(JSON.stringify(dead)).not.toContain('missing or unknown');
    expect(replay.calls('hubspot') - before).toBe(3);
  });
});

describe('every profile, against its replayed provider', () => {
  it.each(NAMES)(
    '%s: refreshes (one request), keeps a static refresh token, and a dead one is reauth_required',
    async (name) => {
      const h = await harness();
      const connection = `c-${name}`;
      const { refreshToken } = await connect(h, connection, name);
      const before = replay.calls(name);
      expect(resultOf(await run(h, connection), connection)).toMatchObject({ status: 'refreshed' });
      expect(replay.calls(name) - before).toBe(1);
      const { record, refreshToken: stored } = await h.current(connection);
      // The record's scope goes with the refresh only where the profile says the provider wants it.
      const sent = replay.requests(name).at(-1)?.params;
      expect(sent?.grant_type).toBe('refresh_token');
      if (profile(name).behaviour.scope.sendOnRefresh) expect(sent?.scope).toBe(record.provider?.scope);
      else expect(sent).not.toHaveProperty('scope');
      expect(record.status).toBe('active');
      expect(record.accessToken).toMatch(new RegExp(`^${name}-at-`));
      // The refresh token the provider now holds good: a new one where it rotates, else the same.
      expect(stored).toBe(replay.currentRefreshToken(refreshToken));
      if (rotates(name)) expect(stored).not.toBe(refreshToken);
      else expect(stored).toBe(refreshToken);

      replay.revoke(refreshToken);
      expect(resultOf(await run(h, connection, { force: true }), connection)).toMatchObject({
        failureClass: 'reauth_required',
      });
      expect((await h.current(connection)).record.status).toBe('reauth_required');
      // No further request once reauth_required.
      await run(h, connection, { force: true });
      await h.invoke();
      expect(replay.calls(name) - before).toBe(2);
      expect(h.leakedValues()).toEqual([]);
    },
  );

  it('stores the granted scope as sent, even narrower than asked (Microsoft Entra)', async () => {
    const h = await harness();
    await connect(h, 'entra', 'microsoft-entra', {
      scope: 'https://graph.microsoft.com/Mail.Read https://outlook.office.com/Mail.Send offline_access',
    });
    await run(h, 'entra');
    const { record } = await h.current('entra');
    expect(record.provider?.scope).toContain('Mail.Send');
    expect(record.grantedScope).toBe('https://graph.microsoft.com/Mail.Read');
  });

  it("keeps the refresh token's expiry from the response field or the profile's lifetimes", async () => {
    const h = await harness();
    await connect(h, 'exp-keycloak', 'keycloak', { scope: 'openid' });
    // The profile's default scope asks for offline_access: an offline token, refresh_expires_in 0.
    await connect(h, 'exp-keycloak-offline', 'keycloak');
    for (const name of ['quickbooks', 'xero', 'microsoft-entra', 'box', 'spotify', 'hubspot'] as const) {
      await connect(h, `exp-${name}`, name);
    }
    const connectedAt = Date.now();
    const granted = new Date(connectedAt - 10 * DAY_MS).toISOString();
    await connect(h, 'exp-spotify-old', 'spotify', { record: { grantedAt: granted } });
    const summary = await h.invoke();
    expect(summary.refreshed).toBe(9);
    const expiry = async (connection: string) => {
      const at = (await h.current(connection)).record.refreshTokenExpiresAt;
      return at === undefined ? undefined : Date.parse(at) - connectedAt;
    };
    const near = (value: number | undefined, expected: number) => {
      expect(value).toBeDefined();
      expect(Math.abs((value ?? 0) - expected)).toBeLessThan(60_000);
    };
    near(await expiry('exp-keycloak'), 1800 * 1000); // refresh_expires_in
    // refresh_expires_in 0 says the token has no maximum (not that it expires now): the
    // profile's idle lifetime (Keycloak's offline session idle, 30 days) from this refresh
    near(await expiry('exp-keycloak-offline'), 30 * DAY_MS);
    // x_refresh_token_expires_in (the grant's 5 years left), not the profile's 100 days idle
    near(await expiry('exp-quickbooks'), 5 * 365 * DAY_MS);
    near(await expiry('exp-xero'), 60 * DAY_MS); // idle, from this refresh
    near(await expiry('exp-microsoft-entra'), 90 * DAY_MS); // idle
    near(await expiry('exp-box'), 60 * DAY_MS); // idle
    near(await expiry('exp-spotify'), 180 * DAY_MS); // absolute, from the grant (this first refresh)
    near(await expiry('exp-spotify-old'), 170 * DAY_MS); // absolute, from the grant ten days ago
    expect(await expiry('exp-hubspot')).toBeUndefined(); // nothing documented

    // The run's metrics: the soonest re-authentication (Keycloak, 30 minutes) and those within 14 days.
    const last = (name: string) => {
      const values = h.output
        .jsonLines()
        .filter((entry) => typeof entry[name] === 'number')
        .map((entry) => entry[name] as number);
      return values.at(-1);
    };
    await h.invoke();
    expect(last('MinDaysToReauthentication')).toBeCloseTo(0.02, 1);
    expect(last('ConnectionsReauthDueSoon')).toBe(1);
  });
});

describe('no hammering: a failing provider is not called again within its backoff', () => {
  it('persistent 5xx: three attempts, then nothing until the backoff ends, and the record says so once', async () => {
    const h = await harness({ failureBackoffBaseMs: 20 * MINUTE_MS });
    await connect(h, 'down', 'google', { scope: 'https://www.googleapis.com/auth/drive.metadata.readonly' });
    replay.next('google', ...times(1000, 'server_error'));
    try {
      const before = replay.calls('google');
      const first = resultOf(await h.invoke(), 'down');
      expect(first).toMatchObject({ status: 'failed', failureClass: 'transient' });
      const nextAttemptAt = first?.status === 'failed' ? first.nextAttemptAt : undefined;
      expect(nextAttemptAt).toBeGreaterThan(Date.now() + 19 * MINUTE_MS);
      expect(replay.calls('google') - before).toBe(3);

      // The next scheduled runs read nothing (the hint carries the backoff) and send nothing,
      // yet count the connection as failing (what RefreshFailuresPersisting watches).
      const failing = () =>
        h.output
          .jsonLines()
          .filter((entry) => typeof entry.ConnectionsFailing === 'number')
          .map((entry) => entry.ConnectionsFailing as number)
          .at(-1);
      expect(failing()).toBe(1);
      for (const offset of [5, 10, 19]) {
        const summary = await h.invoke(undefined, { clock: later(offset * MINUTE_MS) });
        expect(resultOf(summary, 'down')).toMatchObject({ status: 'skipped', reason: 'backoff' });
        expect(summary.read).toBe(0);
        expect(failing()).toBe(1);
      }
      // An on-demand request (a consumer's 401) is held back too.
      const version = (await h.current('down')).versionId;
      // It says when the refresher tries again.
      expect(await h.request({ connection: 'down', ifVersion: version })).toMatchObject({
        outcome: 'declined',
        reason: 'backoff',
        nextAttemptAt: new Date(nextAttemptAt ?? 0).toISOString(),
      });
      expect(replay.calls('google') - before).toBe(3);

      // Past it: one more attempt (three requests); then the wait doubles (40 min).
      expect(resultOf(await h.invoke(undefined, { clock: later(21 * MINUTE_MS) }), 'down')).toMatchObject({
        failureClass: 'transient',
      });
      expect(replay.calls('google') - before).toBe(6);
      expect(resultOf(await h.invoke(undefined, { clock: later(55 * MINUTE_MS) }), 'down')).toMatchObject({
        reason: 'backoff',
      });
      expect(replay.calls('google') - before).toBe(6);
      // Third failed run: the record's lastError says it, once.
      await h.invoke(undefined, { clock: later(62 * MINUTE_MS) });
      expect(replay.calls('google') - before).toBe(9);
      const { record } = await h.current('down');
      expect(record.lastError).toMatchObject({ class: 'transient' });
      expect(record.lastError?.message).toMatch(/keeps failing \(3 runs in a row/);

      // The provider is healthy again: an operator's force goes through at once and ends it.
      replay.clearNext('google');
      expect(resultOf(await run(h, 'down', { force: true }), 'down')).toMatchObject({ status: 'refreshed' });
      expect((await h.current('down')).record.lastError).toBeNull();
    } finally {
      replay.clearNext('google');
    }
  });

  it("Retry-After beyond the run is the next attempt's time", async () => {
    const h = await harness();
    await connect(h, 'slow', 'hubspot');
    replay.next('hubspot', {
      status: 429,
      headers: { 'retry-after': '3600' },
      body: { status: 'error', message: 'You have reached your daily limit.', errorType: 'RATE_LIMIT' },
    });
    const before = replay.calls('hubspot');
    const failed = resultOf(await h.invoke(), 'slow');
    expect(failed).toMatchObject({ failureClass: 'transient' });
    expect(replay.calls('hubspot') - before).toBe(1);
    const next = failed?.status === 'failed' ? (failed.nextAttemptAt ?? 0) : 0;
    expect(next).toBeGreaterThanOrEqual(Date.now() + 3590_000);
    expect(resultOf(await h.invoke(undefined, { clock: later(40 * MINUTE_MS) }), 'slow')).toMatchObject({
      reason: 'backoff',
    });
    expect(replay.calls('hubspot') - before).toBe(1);
    expect(resultOf(await h.invoke(undefined, { clock: later(61 * MINUTE_MS) }), 'slow')).toMatchObject({
      status: 'refreshed',
    });
    expect(replay.calls('hubspot') - before).toBe(2);
  });

  it('a configuration error and an unusable answer: written once, then backed off', async () => {
    const h = await harness();
    await connect(h, 'cfg', 'quickbooks');
    replay.next('quickbooks', ...times(1000, 'invalid_client'));
    try {
      const before = replay.calls('quickbooks');
      expect(resultOf(await h.invoke(), 'cfg')).toMatchObject({ failureClass: 'configuration' });
      const versions = await h.versionCount('cfg');
      for (const offset of [5, 10, 20, 60]) {
        await h.invoke(undefined, { clock: later(offset * MINUTE_MS) });
      }
      // Attempts at 0, then after the version floor and the backoff (20 min), then 60: three in all.
      expect(replay.calls('quickbooks') - before).toBe(3);
      expect(await h.versionCount('cfg')).toBe(versions);
      expect((await h.current('cfg')).record.lastError).toMatchObject({ class: 'configuration' });
    } finally {
      replay.clearNext('quickbooks');
    }

    // HubSpot's generic error carries its code where its dead-token code goes (status), but
    // "error" is no code the profile knows: an unknown code, so not a dead token, backed off.
    await connect(h, 'hub-generic', 'hubspot');
    replay.next('hubspot', {
      status: 400,
      body: {
        status: 'error',
        message: 'Something went wrong: request 5e1f validation failed',
        correlationId: '9c1d2e3f-replay',
        category: 'VALIDATION_ERROR',
      },
    });
    try {
      const before = replay.calls('hubspot');
      const failed = resultOf(await h.invoke(undefined, { clock: later(0) }), 'hub-generic');
      expect(failed).toMatchObject({ status: 'failed', failureClass: 'configuration' });
      expect(failed?.status === 'failed' && failed.nextAttemptAt).toBeGreaterThan(Date.now());
      const { record } = await h.current('hub-generic');
      expect(record.status).toBe('active');
      expect(record.lastError?.message).toMatch(/^the token endpoint refused the client: error \(HTTP 400\)/);
      expect(JSON.stringify(record)).not.toContain('Something went wrong');
      await h.invoke(undefined, { clock: later(5 * MINUTE_MS) });
      expect(replay.calls('hubspot') - before).toBe(1);
    } finally {
      replay.clearNext('hubspot');
    }

    await connect(h, 'odd', 'keycloak');
    replay.next('keycloak', ...times(1000, { status: 200, body: { hello: 'world' } }));
    try {
      const before = replay.calls('keycloak');
      const failed = resultOf(await h.invoke(undefined, { clock: later(0) }), 'odd');
      expect(failed).toMatchObject({ failureClass: 'invalid_response' });
      // The body was read in full and carried no new refresh token: the old one is still good
      // (the marker says not_sent, not ambiguous).
      expect((await h.current('odd')).record.lastError).toMatchObject({ class: 'invalid_response' });
      const leases = new DynamoDbLeaseStore({ client: h.dynamodb, tableName: h.config.leaseTableName });
      const current = await h.current('odd');
      expect(versionAccess(await leases.get('odd'), current.versionId)).toEqual({ kind: 'free' });
      for (const offset of [5, 10]) await h.invoke(undefined, { clock: later(offset * MINUTE_MS) });
      expect(replay.calls('keycloak') - before).toBe(1);
    } finally {
      replay.clearNext('keycloak');
    }
  });
});

describe('an answer that cannot be read may have rotated the token', () => {
  it('the record is not rewritten over it, and the marker keeps the doubt for the ambiguous policy', async () => {
    const h = await harness();
    await connect(h, 'html', 'box');
    replay.next('box', () => ({
      status: 200,
      headers: { 'content-type': 'text/html' },
      body: '<html>maintenance</html>',
    }));
    const before = await h.current('html');
    expect(resultOf(await h.invoke(), 'html')).toMatchObject({ failureClass: 'invalid_response' });
    const after = await h.current('html');
    expect(after.versionId).toBe(before.versionId);
    const leases = new DynamoDbLeaseStore({ client: h.dynamodb, tableName: h.config.leaseTableName });
    expect(versionAccess(await leases.get('html'), after.versionId)).toMatchObject({
      kind: 'uncertain',
      sentAttempts: 1,
    });
    // Past the backoff: the documented retry (Box rotated, so: a dead token, reauth_required).
    expect(resultOf(await run(h, 'html', { clock: later(6 * MINUTE_MS) }), 'html')).toMatchObject({
      failureClass: 'reauth_required',
    });
    expect((await h.current('html')).record.lastError?.message).toMatch(/had been sent before/);
  });
});

describe('a custom provider without expires_in', () => {
  it("gets the engine's one-hour default, with one warning per connection", async () => {
    const h = await harness();
    // Salesforce's answers, connected as a custom provider (no profile default).
    await connect(h, 'custom-sf', 'salesforce');
    const secretName = `${h.prefix}custom-sf`;
    const stored = JSON.parse(
      (await h.secretsManager.send(new GetSecretValueCommand({ SecretId: secretName }))).SecretString ?? '{}',
    );
    delete stored.provider.behaviour;
    delete stored.provider.profile;
    await h.secretsManager.send(
      new PutSecretValueCommand({ SecretId: secretName, SecretString: JSON.stringify(stored) }),
    );
    expect(resultOf(await run(h, 'custom-sf'), 'custom-sf')).toMatchObject({ status: 'refreshed' });
    expect((await h.current('custom-sf')).record.tokenLifetimeSeconds).toBe(3600);
    await run(h, 'custom-sf', { force: true });
    const warnings = h.output.text().split('assumed to live one hour').length - 1;
    expect(warnings).toBe(1);
  });
});

describe('a rotated refresh token in an unusable answer is committed, never dropped', () => {
  it('Slack answers a token type its profile refuses, after rotating: the new refresh token is kept and used', async () => {
    const h = await harness();
    const { refreshToken } = await connect(h, 'odd-type', 'slack', { scope: 'chat:write' });
    replay.next('slack', (success) => ({
      ...success,
      body: { ...(success.body as Record<string, unknown>), token_type: 'mac' },
    }));
    expect(resultOf(await h.invoke(), 'odd-type')).toMatchObject({ failureClass: 'invalid_response' });
    const { record, refreshToken: stored } = await h.current('odd-type');
    expect(stored).not.toBe(refreshToken);
    expect(stored).toBe(replay.currentRefreshToken(refreshToken));
    expect(record.lastError?.message).toMatch(/bad_token_type/);
    // The next attempt (an operator's, past the backoff) presents the new token: it works.
    expect(resultOf(await run(h, 'odd-type', { force: true }), 'odd-type')).toMatchObject({
      status: 'refreshed',
    });
  });

  it('a success without an access token that carried a new refresh token (Salesforce)', async () => {
    const h = await harness();
    const { refreshToken } = await connect(h, 'no-at', 'salesforce');
    replay.next('salesforce', 'no_access_token');
    expect(resultOf(await h.invoke(), 'no-at')).toMatchObject({ failureClass: 'invalid_response' });
    const { refreshToken: stored } = await h.current('no-at');
    expect(stored).not.toBe(refreshToken);
    expect(resultOf(await run(h, 'no-at', { force: true }), 'no-at')).toMatchObject({ status: 'refreshed' });
  });
});

describe('lost answers: the reuse window decides', () => {
  it.each<[ReplayProfileName, string]>([
    ['xero', 'Xero (a 30-minute reuse window: the replaced token still works)'],
    ['hubspot', 'HubSpot (static, no reuse window: the token is never replaced)'],
  ])('%s: a token whose answers were lost twice is retried on the next run, and works: %s', async (name) => {
    const h = await harness();
    const connection = `${name}-lost`;
    const { refreshToken } = await connect(h, connection, name);
    // Processed (rotated where the provider rotates) with the answer lost, then lost before it was processed.
    replay.next(name, 'lost', 'reset');
    const before = replay.calls(name);
    expect(resultOf(await h.invoke(), connection)).toMatchObject({ failureClass: 'ambiguous' });
    expect(replay.calls(name) - before).toBe(2);
    // The next run after the backoff (5 minutes: the lost answers back off too).
    expect(resultOf(await h.invoke(undefined, { clock: later(6 * MINUTE_MS) }), connection)).toMatchObject({
      status: 'refreshed',
    });
    expect(replay.calls(name) - before).toBe(3);
    expect(replay.callsWith(refreshToken)).toBe(3);
    const { refreshToken: stored } = await h.current(connection);
    expect(stored).toBe(replay.currentRefreshToken(refreshToken));
    expect(stored === refreshToken).toBe(!rotates(name));
  });

  it('answers lost run after run at a static provider back off, as any failure does (HubSpot)', async () => {
    const h = await harness();
    await connect(h, 'hubspot-flaky', 'hubspot');
    // Every answer lost after processing: the token still works (static), so only the backoff stops the retries.
    replay.next('hubspot', ...times(8, 'lost'));
    try {
      const before = replay.calls('hubspot');
      const sentBy = async (offsetMs: number) => {
        await h.invoke(undefined, { clock: later(offsetMs) });
        return replay.calls('hubspot') - before;
      };
      // Runs a few minutes apart; each that sends makes the request and the documented retry.
      expect(await sentBy(0)).toBe(2); // backoff: 5 minutes
      expect(await sentBy(6 * MINUTE_MS)).toBe(4); // backoff: 10 minutes, to minute 16
      expect(await sentBy(11 * MINUTE_MS)).toBe(4);
      expect(await sentBy(17 * MINUTE_MS)).toBe(6); // backoff: 20 minutes, to minute 37
      expect(await sentBy(27 * MINUTE_MS)).toBe(6);
      expect(await sentBy(38 * MINUTE_MS)).toBe(8);
    } finally {
      replay.clearNext('hubspot');
    }
  });

  it('after a sender died mid-request, the next run makes the documented retry only once (Box)', async () => {
    const h = await harness();
    await connect(h, 'box-died', 'box');
    const { versionId } = await h.current('box-died');
    // What a sender that died after sending leaves: a marker with one request and no outcome.
    const leases = new DynamoDbLeaseStore({ client: h.dynamodb, tableName: h.config.leaseTableName });
    await leases.acquire('box-died', { owner: 'dead', leaseUntil: Date.now() + 300 });
    await leases.markSending('box-died', 'dead', versionId, { sentAt: Date.now(), sentAttempts: 1 });
    await new Promise((resolve) => setTimeout(resolve, 400));
    replay.next('box', ...times(3, 'reset'));
    try {
      const before = replay.calls('box');
      expect(resultOf(await h.invoke(), 'box-died')).toMatchObject({ failureClass: 'ambiguous' });
      expect(replay.calls('box') - before).toBe(1);
      expect(await leases.get('box-died')).toMatchObject({ sentAttempts: 2, sentOutcome: 'ambiguous' });
      expect(resultOf(await h.invoke(), 'box-died')).toMatchObject({ failureClass: 'reauth_required' });
      expect(replay.calls('box') - before).toBe(1);
    } finally {
      replay.clearNext('box');
    }
  });

  it('a same-run retry is counted in the lease item before it goes out, as a sender dying during it must leave (Box)', async () => {
    const h = await harness();
    await connect(h, 'box-retry', 'box');
    const leases = new DynamoDbLeaseStore({ client: h.dynamodb, tableName: h.config.leaseTableName });
    const ports = h.ports();
    // What the lease item says as each request leaves: what a sender that dies then leaves.
    const counted: (number | undefined)[] = [];
    const watched: RefresherPorts = {
      ...ports,
      tokenEndpoint: {
        refresh: async (request) => {
          counted.push((await leases.get('box-retry'))?.sentAttempts);
          return ports.tokenEndpoint.refresh(request);
        },
      },
    };
    replay.next('box', 'lost', 'reset');
    expect(resultOf(await h.invoke(undefined, { ports: watched }), 'box-retry')).toMatchObject({
      failureClass: 'ambiguous',
    });
    // The first request, then the documented retry: two, each counted before it was sent.
    expect(counted).toEqual([1, 2]);
    expect(await leases.get('box-retry')).toMatchObject({ sentAttempts: 2, sentOutcome: 'ambiguous' });
  });

  it('a retry of an uncertain token answered only 503 keeps the doubt: the next run counts on from it (Box)', async () => {
    const h = await harness();
    await connect(h, 'box-doubt', 'box');
    const leases = new DynamoDbLeaseStore({ client: h.dynamodb, tableName: h.config.leaseTableName });
    // Run 1: Box rotates, and all that arrives is a proxy's HTML page: the token may be spent.
    replay.next('box', () => ({
      status: 200,
      headers: { 'content-type': 'text/html' },
      body: '<html>502</html>',
    }));
    const before = replay.calls('box');
    expect(resultOf(await h.invoke(), 'box-doubt')).toMatchObject({ failureClass: 'invalid_response' });
    // Run 2, after its backoff: the documented retry, answered 503 three times (never processed).
    replay.next('box', ...times(3, { status: 503, body: 'unavailable' }));
    expect(resultOf(await run(h, 'box-doubt', { clock: later(6 * MINUTE_MS) }), 'box-doubt')).toMatchObject({
      failureClass: 'transient',
    });
    expect(replay.calls('box') - before).toBe(4);
    // The doubt and the count are kept: one request may have used the token (not `not_sent`).
    expect(await leases.get('box-doubt')).toMatchObject({ sentOutcome: 'ambiguous', sentAttempts: 1 });
    // Run 3, after that backoff: its answers lost, it sends the documented retry once, not twice.
    replay.next('box', ...times(2, 'reset'));
    try {
      expect(
        resultOf(await run(h, 'box-doubt', { clock: later(20 * MINUTE_MS) }), 'box-doubt'),
      ).toMatchObject({ failureClass: 'ambiguous' });
      expect(replay.calls('box') - before).toBe(5);
      // Run 4: nothing more is sent; the connection needs re-authentication.
      expect(
        resultOf(await run(h, 'box-doubt', { clock: later(26 * MINUTE_MS) }), 'box-doubt'),
      ).toMatchObject({ failureClass: 'reauth_required' });
      expect(replay.calls('box') - before).toBe(5);
    } finally {
      replay.clearNext('box');
    }
  });

  it('Xero past its grace window, and Box (strict): no blind retry beyond the documented one', async () => {
    const h = await harness();
    await connect(h, 'box-lost', 'box');
    replay.next('box', 'lost', 'reset');
    const before = replay.calls('box');
    expect(resultOf(await h.invoke(), 'box-lost')).toMatchObject({ failureClass: 'ambiguous' });
    expect(replay.calls('box') - before).toBe(2);
    const next = resultOf(await h.invoke(undefined, { clock: later(5 * MINUTE_MS) }), 'box-lost');
    expect(next).toMatchObject({ failureClass: 'reauth_required' });
    expect(replay.calls('box') - before).toBe(2);
    const { record } = await h.current('box-lost');
    expect(record.status).toBe('reauth_required');
    expect(record.lastError?.message).toMatch(
      /lost after its one retry and the provider keeps no reuse window/,
    );

    await connect(h, 'xero-late', 'xero');
    replay.next('xero', 'lost', 'reset');
    const xeroBefore = replay.calls('xero');
    await h.invoke({ action: 'run', connections: ['xero-late'] });
    expect(resultOf(await run(h, 'xero-late', { clock: later(31 * MINUTE_MS) }), 'xero-late')).toMatchObject({
      failureClass: 'reauth_required',
    });
    expect(replay.calls('xero') - xeroBefore).toBe(2);
    expect((await h.current('xero-late')).record.lastError?.message).toMatch(
      /reuse window \(1800 s\) is over/,
    );
  });
});
