import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbLeaseStore } from '../../lambda/adapters/dynamodb-lease-store.js';
import { type AuthServer, startAuthServer } from '../../sandbox/auth-server.js';
import { dynamoDbClient } from '../support/aws-fixtures.js';
import { CliSandbox, expectOneLine } from './support.js';

/**
 * The operator CLI end to end, in-process (its `main` with argv and captured output):
 * moto for AWS (the stack's outputs in a CloudFormation stack, as in AWS) and the
 * oidc-provider fixture, which serves a real authorization code flow with PKCE (approved
 * headlessly), rotates refresh tokens and revokes the grant on any reuse.
 */
describe('token-refresher CLI (moto + oidc-provider)', () => {
  let auth: AuthServer;
  let sandbox: CliSandbox;

  beforeAll(async () => {
    auth = await startAuthServer({ autoApprove: true, accessTokenTtlSeconds: 3600 });
    sandbox = await new CliSandbox(auth).setUp({ alarms: { HeartbeatMissing: 'OK', CommitFailed: 'OK' } });
  });

  afterAll(async () => {
    await auth?.stop();
  });

  /** What every test ends with: nothing sensitive printed, no refresh token reused. */
  function expectInvariants() {
    expect(sandbox.leaked(), 'token, code or secret in CLI output').toEqual([]);
    expect(auth.reusedRefreshTokens().filter((r) => r.replayedAfterConsumption)).toEqual([]);
  }

  it('connects through the authorization code flow with PKCE, then status, refresh, disable, enable and remove', async () => {
    const client = auth.client('client_secret_basic');
    const connected = await sandbox.run(['connect', 'lifecycle', ...sandbox.connectArgs(client)]);
    expect(connected.stderr).toContain('Authorize token-refresher for "lifecycle"');
    expect(connected).toMatchObject({ code: 0 });
    expect(connected.stdout).toMatch(
      /^connected "lifecycle": access token valid for \d+m \(version \w{8}\)\n$/,
    );
    expect(sandbox.codes).toHaveLength(1);

    const first = await sandbox.current('lifecycle');
    expect(first.record).toMatchObject({
      status: 'active',
      lastError: null,
      provider: {
        tokenEndpoint: auth.tokenEndpoint,
        dialect: 'form',
        clientAuth: 'client_secret_basic',
        clientCredentialsSecretId: sandbox.clientSecretId(client),
        scope: 'openid offline_access api:read',
      },
    });
    expect((await auth.introspect(first.record.accessToken!)).active).toBe(true);
    expect((await auth.introspect(first.refreshToken!)).active).toBe(true);

    // Not due: the refresher declines, and says how to force it.
    const notDue = await sandbox.run(['refresh', 'lifecycle']);
    expect(notDue.code).toBe(0);
    expect(notDue.stdout).toMatch(
      /^not refreshed: it is not due \(access token expires in \d+m\); pass --force/,
    );

    const forced = await sandbox.run(['refresh', 'lifecycle', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/^refreshed "lifecycle": version \w{8}, access token expires in \d+m\n$/);
    const second = await sandbox.current('lifecycle');
    expect(second.versionId).not.toBe(first.versionId);
    expect(second.refreshToken).not.toBe(first.refreshToken);

    const status = await sandbox.run(['status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`Stack ${sandbox.stackName} (us-east-1)`);
    expect(status.stdout).toMatch(
      /\| lifecycle\s+\| active\s+\| \d+m\s+\| \d+s ago\s+\| 2\s+\| 3\/100\s+\| -\s+\| -\s+\|/,
    );
    expect(status.stdout).toMatch(/Alarms \(2 OK\):/);
    expect(status.stdout).toMatch(/\| HeartbeatMissing\s+\| OK/);

    expect(await sandbox.run(['disable', 'lifecycle'])).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^disabled "lifecycle" \(version \w{8}\)\n$/),
    });
    expect((await sandbox.current('lifecycle')).record.status).toBe('disabled');
    expect(await sandbox.run(['disable', 'lifecycle'])).toMatchObject({
      code: 0,
      stdout: '"lifecycle" is already disabled\n',
    });
    const refusedRefresh = await sandbox.run(['refresh', 'lifecycle']);
    expect(refusedRefresh).toMatchObject({
      code: 4,
      stderr: 'token-refresher: "lifecycle" is disabled: token-refresher enable lifecycle\n',
    });

    expect(await sandbox.run(['enable', 'lifecycle'])).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^enabled "lifecycle"/),
    });
    const enabled = await sandbox.current('lifecycle');
    expect(enabled.record).toMatchObject({ status: 'active', accessToken: second.record.accessToken });
    expect(enabled.refreshToken).toBe(second.refreshToken);

    // Remove asks first; without a terminal it refuses unless --yes.
    expect(await sandbox.run(['remove', 'lifecycle'])).toMatchObject({
      code: 6,
      stderr: 'token-refresher: refusing to remove "lifecycle" without confirmation: pass --yes\n',
    });
    expect(await sandbox.run(['remove', 'lifecycle'], { stdinIsTTY: true, confirm: false })).toMatchObject({
      code: 6,
      stderr: 'token-refresher: not removed\n',
    });
    const removed = await sandbox.run(['remove', 'lifecycle'], { stdinIsTTY: true, confirm: true });
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toMatch(/^removed "lifecycle": secret .+ scheduled for deletion/);
    const described = await sandbox.secretsManager.send(
      new DescribeSecretCommand({ SecretId: `${sandbox.prefix}lifecycle` }),
    );
    expect(described.DeletedDate).toBeInstanceOf(Date);
    const leases = new DynamoDbLeaseStore({ client: dynamoDbClient(), tableName: sandbox.tableName });
    // The lease item stays, released, with its spent-token marker: a secret restored within its
    // recovery window can never have an answered refresh token sent again.
    const kept = await leases.get('lifecycle');
    expect(kept).toMatchObject({ outcome: 'not_sent', sentOutcome: 'committed' });
    expect(kept?.sentFromVersionId).toBeDefined();
    const after = await sandbox.run(['status', '--json']);
    expect(
      JSON.parse(after.stdout).connections.map((c: { connection: string }) => c.connection),
    ).not.toContain('lifecycle');
    expect(await sandbox.run(['refresh', 'lifecycle'])).toMatchObject({
      code: 4,
      stderr: expect.stringMatching(/^token-refresher: connection "lifecycle" was removed/),
    });
    // Reconnecting the removed name says both ways out: restore, or delete for good.
    const reconnect = await sandbox.run(['connect', 'lifecycle', ...sandbox.connectArgs(client)]);
    expectOneLine(
      reconnect,
      new RegExp(
        `^token-refresher: connection "lifecycle" was removed: its secret ${sandbox.prefix}lifecycle is scheduled ` +
          String.raw`for deletion \(deleted for good on \d{4}-\d\d-\d\d\)\. Restore it with: aws secretsmanager ` +
          `restore-secret --secret-id ${sandbox.prefix}lifecycle; or free the name now \\(no recovery\\): ` +
          'token-refresher remove lifecycle --force-delete$',
      ),
    );
    expect(reconnect.code).toBe(4);
    // --force-delete is behind a confirmation...
    expect(await sandbox.run(['remove', 'lifecycle', '--force-delete'])).toMatchObject({
      code: 6,
      stderr: 'token-refresher: refusing to delete "lifecycle" without confirmation: pass --yes\n',
    });
    const asked: string[] = [];
    const declined = await sandbox.run(['remove', 'lifecycle', '--force-delete'], {
      stdinIsTTY: true,
      confirm: false,
      onConfirm: (question) => asked.push(question),
    });
    expect(declined.code).toBe(6);
    expect(asked[0]).toMatch(/for good\? .* NO recovery window: it cannot be restored/);
    // ...then frees the name at once: a new connect works.
    const deleted = await sandbox.run(['remove', 'lifecycle', '--force-delete', '--json'], {
      stdinIsTTY: true,
      confirm: true,
    });
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(JSON.parse(deleted.stdout)).toEqual({
      connection: 'lifecycle',
      secretName: `${sandbox.prefix}lifecycle`,
      forceDeleted: true,
      deletionDate: null,
      restoreCommand: null,
      rescuePending: false,
    });
    const again = await sandbox.run(['connect', 'lifecycle', ...sandbox.connectArgs(client)]);
    expect(again.code, again.stderr).toBe(0);
    expectInvariants();
  });

  it('connects with the JSON dialect and client_secret_post, printing the URL with --no-browser', async () => {
    const client = auth.client('client_secret_post');
    const run = await sandbox.run(
      [
        'connect',
        'json-post',
        ...sandbox.connectArgs(client, [
          '--token-endpoint',
          auth.jsonTokenEndpoint,
          '--dialect',
          'json',
          '--no-browser',
        ]),
      ],
      { followPrintedUrl: true },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      /Open this URL in a browser to authorize:\n {2}http:\/\/127\.0\.0\.1:\d+\/auth\?/,
    );
    expect(run.stderr).toContain('code_challenge_method=S256');
    const { record } = await sandbox.current('json-post');
    expect(record.provider).toMatchObject({ tokenEndpoint: auth.jsonTokenEndpoint, dialect: 'json' });
    expect(record.status).toBe('active');
    expectInvariants();
  });

  it('imports a refresh token from standard input without echoing it, and refreshes once to validate it', async () => {
    const client = auth.client('client_secret_post');
    const minted = await auth.mintRefreshToken({ clientId: client.clientId });
    sandbox.sensitive.add(minted);
    const run = await sandbox.run(sandbox.importArgs('imported', client), { stdin: `${minted}\n` });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /^imported the refresh token of "imported" and refreshed it: access token valid for/,
    );
    const current = await sandbox.current('imported');
    expect(current.record.status).toBe('active');
    expect(current.refreshToken).not.toBe(minted);
    // Presented exactly once: the validating refresh.
    expect(auth.presentedRefreshTokens().filter((p) => p.refreshToken === minted)).toHaveLength(1);
    expect(run.stdout + run.stderr).not.toContain(minted);
    expectInvariants();
  });

  it('reports a rejected imported token in one line and marks the connection for re-authentication', async () => {
    const client = auth.client('client_secret_basic');
    const run = await sandbox.run(
      [
        'connect',
        'bad-import',
        '--refresh-token-stdin',
        '--token-endpoint',
        auth.tokenEndpoint,
        '--client-credentials-secret',
        sandbox.clientSecretId(client),
        '--allow-insecure-localhost',
      ],
      { stdin: 'not-a-real-refresh-token-0123456789' },
    );
    sandbox.sensitive.add('not-a-real-refresh-token-0123456789');
    expect(run.code).toBe(1);
    // A progress note, then the error in one line.
    expect(run.stderr.trim().split('\n'), run.stderr).toEqual([
      `created the secret ${sandbox.prefix}bad-import`,
      expect.stringMatching(
        /^token-refresher: connect "bad-import" failed \(reauth_required\): .*invalid_grant/,
      ),
    ]);
    expect((await sandbox.current('bad-import')).record.status).toBe('reauth_required');
    const status = await sandbox.run(['status', '--json']);
    const row = JSON.parse(status.stdout).connections.find(
      (c: { connection: string }) => c.connection === 'bad-import',
    );
    expect(row).toMatchObject({ status: 'reauth_required', lastErrorClass: 'reauth_required' });
    expect(await sandbox.run(['enable', 'bad-import'])).toMatchObject({
      code: 4,
      stderr: expect.stringContaining('needs re-authentication, which enabling cannot fix'),
    });
    expectInvariants();
  });

  it('status --json lists every connection without tokens, and the stack alarms with their states', async () => {
    const client = auth.client('client_secret_basic');
    expect((await sandbox.run(['connect', 'json-status', ...sandbox.connectArgs(client)])).code).toBe(0);
    await new CloudWatchClient({}).send(
      new SetAlarmStateCommand({
        AlarmName: `${sandbox.stackName}-CommitFailed`,
        StateValue: 'ALARM',
        StateReason: 'test',
      }),
    );
    const run = await sandbox.run(['status', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({
      stack: sandbox.stackName,
      region: 'us-east-1',
      alarmPrefix: `${sandbox.stackName}-`,
    });
    const row = report.connections.find((c: { connection: string }) => c.connection === 'json-status');
    expect(row).toMatchObject({
      status: 'active',
      refreshes24h: 1,
      versions24h: 2,
      versionQuota: 100,
      lastErrorClass: null,
      lease: { held: false, outcome: 'committed', rescuePending: false },
    });
    expect(row.expiresInSeconds).toBeGreaterThan(3000);
    expect(report.alarms.map((a: { name: string; state: string }) => [a.name, a.state])).toEqual([
      [`${sandbox.stackName}-CommitFailed`, 'ALARM'],
      [`${sandbox.stackName}-HeartbeatMissing`, 'OK'],
    ]);
    const table = await sandbox.run(['status']);
    expect(table.stdout).toMatch(/Alarms \(1 ALARM, 1 OK\):/);
    expectInvariants();
  });
});
