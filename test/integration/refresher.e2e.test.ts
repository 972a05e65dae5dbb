import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  ListSecretsCommand,
  PutSecretValueCommand,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbLeaseStore } from '../../lambda/adapters/dynamodb-lease-store.js';
import { systemClock } from '../../lambda/adapters/system-clock.js';
import { CONNECTION_STATE_LOG } from '../../lambda/contract/metric-names.js';
import { HINT_TAG_KEY, LEASE_TABLE_KEY } from '../../lambda/contract/names.js';
import { decodeHint, encodeHint } from '../../lambda/core/hint.js';
import type { Clock } from '../../lambda/core/ports.js';
import { type AuthServer, startAuthServer } from '../../sandbox/auth-server.js';
import { RefresherHarness } from '../support/refresher-harness.js';

/**
 * The handler end to end against real peers: moto (Secrets Manager, KMS, DynamoDB) and
 * oidc-provider, which rotates refresh tokens on every use and revokes the whole grant
 * when one is reused.
 */
describe('refresher end to end (moto + oidc-provider)', () => {
  let auth: AuthServer;
  const harnesses: RefresherHarness[] = [];

  beforeAll(async () => {
    auth = await startAuthServer({ accessTokenTtlSeconds: 3600 });
  });

  afterAll(async () => {
    await auth?.stop();
  });

  async function harness(overrides = {}): Promise<RefresherHarness> {
    const h = await new RefresherHarness(auth, overrides).setUp();
    harnesses.push(h);
    return h;
  }

  /** Tokens a test re-presents on purpose (the ambiguous-answer retry); the provider is shared. */
  const expectedReuse = new Set<string>();

  /** What every test checks at its end: no reuse at the provider, no secret in any output. */
  function expectInvariants(h: RefresherHarness, allowedReuse: string[] = []) {
    for (const token of allowedReuse) expectedReuse.add(token);
    const reused = auth
      .reusedRefreshTokens()
      .filter((r) => r.replayedAfterConsumption && !expectedReuse.has(r.refreshToken));
    expect(reused.length, 'refresh tokens presented again after a successful answer').toBe(0);
    expect(h.leakedValues(), 'token or secret values in the output').toEqual([]);
  }

  it('refreshes every dialect and client-auth method, commits AWSCURRENT with AWSPREVIOUS, and the token is active', async () => {
    const h = await harness();
    const formBasic = await h.createConnection('form-basic', { client: auth.client('client_secret_basic') });
    const formPost = await h.createConnection('form-post', { client: auth.client('client_secret_post') });
    const jsonPost = await h.createConnection('json-post', {
      client: auth.client('client_secret_post'),
      dialect: 'json',
    });

    const summary = await h.invoke();
    expect(summary).toMatchObject({ scanned: 3, refreshed: 3, failed: 0 });

    for (const [name, original] of [
      ['form-basic', formBasic],
      ['form-post', formPost],
      ['json-post', jsonPost],
    ] as const) {
      const { record, refreshToken, versionId } = await h.current(name);
      expect(record.status).toBe('active');
      expect(record.tokenType).toBe('Bearer');
      expect(refreshToken).not.toBe(original.refreshToken); // rotated and re-encrypted
      expect(record.refreshToken?.ciphertext).not.toContain(refreshToken);
      expect(Date.parse(record.expiresAt!)).toBeGreaterThan(Date.now() + 3500_000);
      expect((await auth.introspect(record.accessToken!)).active).toBe(true);
      expect(await h.versionCount(name)).toBe(2);
      expect(versionId).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(h.metricTotal('RefreshSucceeded')).toBe(3);
    expect(h.metricTotal('RunCompleted')).toBe(1);
    expectInvariants(h);
  });

  it('an idle run reads no secret value and writes nothing', async () => {
    const h = await harness();
    await h.createConnection('idle', { client: auth.client('client_secret_basic') });
    await h.invoke();
    const before = await h.current('idle');
    const presented = auth.presentedRefreshTokens().length;

    const summary = await h.invoke();
    expect(summary).toMatchObject({ scanned: 1, read: 0, refreshed: 0, skipped: 1 });
    expect((await h.current('idle')).versionId).toBe(before.versionId);
    expect(auth.presentedRefreshTokens().length).toBe(presented);

    // The hint is in the lease item (no tag): it names the AWSCURRENT version and its expiry, nothing secret.
    const leases = new DynamoDbLeaseStore({ client: h.dynamodb, tableName: h.config.leaseTableName });
    const hint = (await leases.get('idle'))?.hint;
    expect(decodeHint(hint)).toMatchObject({ versionId: before.versionId, status: 'active' });
    const listed = await h.secretsManager.send(
      new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [h.prefix] }] }),
    );
    expect(listed.SecretList?.[0]?.Tags ?? []).toEqual([]);
    // Metrics per deployment (no per-connection dimension); each connection in a log line.
    expect(h.metricTotal('MinSecondsToExpiry')).toBeGreaterThan(3000);
    expect(h.metricTotal('ConnectionsNearExpiry')).toBe(0);
    const emf = h.output.jsonLines().filter((entry) => entry._aws !== undefined);
    expect(emf.some((entry) => 'Connection' in entry)).toBe(false);
    const states = h.output
      .jsonLines()
      .filter((entry) => entry.message === CONNECTION_STATE_LOG && entry.connection === 'idle');
    expect(states.at(-1)).toMatchObject({
      outcome: 'skipped',
      reason: 'fresh',
      connectionStatus: 'active',
    });
    expect(states.at(-1)?.secondsToExpiry).toBeGreaterThan(3000);
    expectInvariants(h);
  });

  it('migrates a connection hinted by a tag of an older release: one read, then the lease item hints it', async () => {
    const h = await harness();
    await h.createConnection('legacy', { client: auth.client('client_secret_basic') });
    await h.invoke();
    const before = await h.current('legacy');
    // As an older release left it: the hint in a tag (here a forged "not due for a year"), none in the lease item.
    const forged = encodeHint(before.versionId, {
      ...before.record,
      expiresAt: new Date(Date.now() + 365 * 86_400_000).toISOString(),
    });
    const secretId = `${h.prefix}legacy`;
    await h.secretsManager.send(
      new TagResourceCommand({ SecretId: secretId, Tags: [{ Key: HINT_TAG_KEY, Value: forged }] }),
    );
    await h.dynamodb.send(
      new UpdateItemCommand({
        TableName: h.config.leaseTableName,
        Key: { [LEASE_TABLE_KEY]: { S: 'legacy' } },
        UpdateExpression: 'REMOVE #hint',
        ExpressionAttributeNames: { '#hint': 'hint' },
      }),
    );
    // The tag is ignored: the record is read once, and the release records the hint.
    expect(await h.invoke()).toMatchObject({ scanned: 1, read: 1, refreshed: 0 });
    expect(await h.invoke()).toMatchObject({ scanned: 1, read: 0, refreshed: 0 });
    expect((await h.current('legacy')).versionId).toBe(before.versionId);
    expectInvariants(h);
  });

  it('overlapping invocations never refresh one connection twice at once', async () => {
    const h = await harness({ concurrency: 4 });
    const names = ['o1', 'o2', 'o3', 'o4', 'o5', 'o6'];
    for (const name of names) {
      await h.createConnection(name, {
        client: auth.client(name < 'o4' ? 'client_secret_basic' : 'client_secret_post'),
      });
    }

    // Five invocations at once, as duplicate EventBridge deliveries and retries would.
    const summaries = await Promise.all(Array.from({ length: 5 }, () => h.invoke()));

    // Every due connection was refreshed exactly once across all of them.
    const refreshedPerConnection = new Map<string, number>();
    for (const summary of summaries) {
      for (const result of summary.results) {
        if (result.status === 'refreshed') {
          refreshedPerConnection.set(
            result.connection,
            (refreshedPerConnection.get(result.connection) ?? 0) + 1,
          );
        }
        expect(result.status).not.toBe('failed');
      }
    }
    expect(Object.fromEntries(refreshedPerConnection)).toEqual(Object.fromEntries(names.map((n) => [n, 1])));
    for (const name of names) {
      const { record } = await h.current(name);
      expect((await auth.introspect(record.accessToken!)).active).toBe(true);
    }

    // Forced runs overlapping: a refresh may follow another, never run beside it.
    await Promise.all(Array.from({ length: 4 }, () => h.invoke({ action: 'run', force: true })));
    for (const name of names) {
      const { record } = await h.current(name);
      expect((await auth.introspect(record.accessToken!)).active).toBe(true);
    }
    expectInvariants(h);
  });

  it('invalid_grant → reauth_required, committed once, and never attempted again', async () => {
    const h = await harness();
    const { refreshToken } = await h.createConnection('revoked', {
      client: auth.client('client_secret_basic'),
    });
    await h.createConnection('healthy', { client: auth.client('client_secret_basic') });
    expect(await auth.revokeGrantOf(refreshToken)).toBe(true);

    const summary = await h.invoke();
    expect(summary).toMatchObject({ refreshed: 1, failed: 1 });
    const { record } = await h.current('revoked');
    expect(record.status).toBe('reauth_required');
    expect(record.lastError?.class).toBe('reauth_required');
    expect(record.lastError?.message).toMatch(/invalid_grant/);
    expect(record.lastError?.message).toMatch(/theft/);
    expect(h.output.text()).toMatch(/re-authentication.*token-refresher connect revoked/);
    expect(h.metricTotal('ReauthRequired')).toBe(1);
    expect(h.metricTotal('ConnectionsNeedingReauth')).toBe(1);

    const presented = auth.presentedRefreshTokens().length;
    const versions = await h.versionCount('revoked');
    await h.invoke();
    await h.invoke({ action: 'run', force: true });
    expect(auth.presentedRefreshTokens().length).toBe(presented + 1); // only 'healthy', forced
    expect(h.metricTotal('ConnectionsNeedingReauth')).toBe(3); // the gauge stays up every run
    expect(await h.versionCount('revoked')).toBe(versions);
    expectInvariants(h);
  });

  it('a wrong client secret is a configuration error: no retry storm, recorded once', async () => {
    const h = await harness();
    await h.createConnection('misconfigured', { client: auth.client('client_secret_post') });
    const credentialsId = h.clientSecretId(auth.client('client_secret_post'));
    const wrongSecret = 'definitely-not-the-client-secret-4242';
    h.sensitiveValues.add(wrongSecret);
    await h.secretsManager.send(
      new PutSecretValueCommand({
        SecretId: credentialsId,
        SecretString: JSON.stringify({
          client_id: 'test-client',
          client_secret: wrongSecret,
          token_endpoint_origins: [auth.issuer],
        }),
      }),
    );
    const presented = auth.presentedRefreshTokens().length;

    const summary = await h.invoke();
    expect(summary.results[0]).toMatchObject({ status: 'failed', failureClass: 'configuration' });
    expect(auth.presentedRefreshTokens().length).toBe(presented + 1); // one request, no retries
    const first = await h.current('misconfigured');
    expect(first.record.status).toBe('active');
    expect(first.record.lastError?.class).toBe('configuration');
    expect(first.record.lastError?.message).toMatch(/invalid_client/);

    // Within the version floor after that commit (and its backoff, which the hint carries),
    // the next run does not even ask.
    const held = await h.invoke();
    expect(held.results[0]).toMatchObject({ status: 'skipped', reason: 'backoff' });
    expect(held.read).toBe(0);
    expect(auth.presentedRefreshTokens().length).toBe(presented + 1);

    // Past the floor it asks once more; the same error is not written again.
    const later: Clock = { now: () => Date.now() + 16 * 60_000, sleep: systemClock.sleep };
    await h.invoke(undefined, { clock: later });
    expect(auth.presentedRefreshTokens().length).toBe(presented + 2);
    expect((await h.current('misconfigured')).versionId).toBe(first.versionId); // not written again
    expect(h.metricTotal('RefreshFailed', { FailureClass: 'configuration' })).toBe(2);
    expectInvariants(h);
  });

  it('503 and 429 with Retry-After are retried within the run; the token is spent once', async () => {
    const h = await harness();
    await h.createConnection('flaky', { client: auth.client('client_secret_basic') });
    auth.injectFault({ kind: 'status', status: 503, count: 1 });
    auth.injectFault({ kind: 'status', status: 429, retryAfter: '1', count: 1 });

    const started = Date.now();
    const summary = await h.invoke();
    expect(summary.results[0]).toMatchObject({ status: 'refreshed' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000); // Retry-After honoured
    const { record } = await h.current('flaky');
    expect((await auth.introspect(record.accessToken!)).active).toBe(true);
    expectInvariants(h);
  });

  it('persistent 5xx: bounded attempts, the record is untouched, the next run succeeds', async () => {
    const h = await harness();
    await h.createConnection('down', { client: auth.client('client_secret_basic') });
    await h.invoke();
    const before = await h.current('down');
    auth.injectFault({ kind: 'status', status: 500, count: 3 });

    const summary = await h.invoke({ action: 'run', force: true });
    expect(summary.results[0]).toMatchObject({ status: 'failed', failureClass: 'transient' });
    expect((await h.current('down')).versionId).toBe(before.versionId);

    const next = await h.invoke({ action: 'run', force: true });
    expect(next.results[0]).toMatchObject({ status: 'refreshed' });
    expectInvariants(h);
  });

  it('an unreadable 2xx is a clear failure, leaves the record untouched (it may have rotated the token), and backs off', async () => {
    const h = await harness();
    await h.createConnection('garbled', { client: auth.client('client_secret_basic') });
    auth.injectFault({
      kind: 'raw',
      status: 200,
      body: '<html>maintenance</html>',
      contentType: 'text/html',
    });
    const summary = await h.invoke();
    expect(summary.results[0]).toMatchObject({ status: 'failed', failureClass: 'invalid_response' });
    expect((summary.results[0] as { message: string }).message).toMatch(/not JSON|content-type/i);
    expect(await h.versionCount('garbled')).toBe(1);
    // The token may have been consumed: the release removes the hint, so the next run reads the record.
    const leases = new DynamoDbLeaseStore({ client: h.dynamodb, tableName: h.config.leaseTableName });
    expect((await leases.get('garbled'))?.hint).toBeUndefined();
    const held = await h.invoke();
    expect(held).toMatchObject({ read: 1 });
    expect(held.results[0]).toMatchObject({ status: 'skipped', reason: 'backoff' });
    // That read's release records a hint carrying the backoff: the runs after it read nothing.
    expect(decodeHint((await leases.get('garbled'))?.hint)?.notBefore).toBeGreaterThan(Date.now());
    const again = await h.invoke();
    expect(again).toMatchObject({ read: 0 });
    expect(again.results[0]).toMatchObject({ status: 'skipped', reason: 'backoff' });
    expect(await h.versionCount('garbled')).toBe(1);
    expectInvariants(h);
  });

  it('an answer lost after the provider rotated: one retry, then re-authentication explained', async () => {
    const h = await harness();
    const { refreshToken } = await h.createConnection('lost', { client: auth.client('client_secret_basic') });
    auth.injectFault({ kind: 'drop-after-processing', count: 1 });

    const summary = await h.invoke();
    // The provider rotated on the lost request, so the single retry is a reuse: invalid_grant.
    expect(summary.results[0]).toMatchObject({ status: 'failed', failureClass: 'reauth_required' });
    const { record } = await h.current('lost');
    expect(record.status).toBe('reauth_required');
    expect(record.lastError?.message).toMatch(/sent before in a request whose answer was lost/);
    expect(h.metricTotal('AmbiguousRefresh')).toBe(1);
    const presentations = auth.presentedRefreshTokens().filter((p) => p.refreshToken === refreshToken);
    expect(presentations).toHaveLength(2); // the lost one and the deliberate retry, never more
    expectInvariants(h, [refreshToken]);
  });

  it('a bad record fails only its own connection', async () => {
    const h = await harness();
    await h.createConnection('good', { client: auth.client('client_secret_basic') });
    await h.createConnection('bad-version', {
      client: auth.client('client_secret_basic'),
      record: { schemaVersion: 99 as 1 },
    });
    const summary = await h.invoke();
    const byName = Object.fromEntries(summary.results.map((r) => [r.connection, r]));
    expect(byName.good).toMatchObject({ status: 'refreshed' });
    expect(byName['bad-version']).toMatchObject({ status: 'failed', failureClass: 'invalid_record' });
    expect((byName['bad-version'] as { message: string }).message).toMatch(/bad-version.*schemaVersion 99/);
    expectInvariants(h);
  });
});
