import { DescribeSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeholderRecord } from '../../lambda/core/record.js';
import { type AuthServer, startAuthServer } from '../../sandbox/auth-server.js';
import { createSecret } from '../support/aws-fixtures.js';
import { validateJsonOutput } from './json-schemas.js';
import { CliSandbox, expectOneLine } from './support.js';

const ISO = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`;

/**
 * What an operator meets after the happy path: an expired connection enabled again, a
 * guard that holds a refresh back, an import whose validation meets an outage, a connect
 * abandoned in the browser. Every state says what it is and the command that moves it on.
 */
describe('operator experience (moto + oidc-provider)', () => {
  let auth: AuthServer;
  let sandbox: CliSandbox;

  beforeAll(async () => {
    auth = await startAuthServer({ autoApprove: true, accessTokenTtlSeconds: 3600 });
    sandbox = await new CliSandbox(auth).setUp();
  });

  afterAll(async () => {
    await auth?.stop();
  });

  /** Rewrites the record as if its access token had expired, `refreshedAgoMs` after its last refresh. */
  async function expire(name: string, refreshedAgoMs: number): Promise<void> {
    const { record } = await sandbox.current(name);
    const now = Date.now();
    record.expiresAt = new Date(now - 60_000).toISOString();
    record.refreshedAt = new Date(now - refreshedAgoMs).toISOString();
    await sandbox.secretsManager.send(
      new PutSecretValueCommand({
        SecretId: `${sandbox.prefix}${name}`,
        SecretString: JSON.stringify(record),
      }),
    );
  }

  it('enable refreshes an expired connection at once; inside the version floor it names the guard, when it lifts, and the override', async () => {
    const client = auth.client('client_secret_basic');
    expect((await sandbox.run(['connect', 'expired', ...sandbox.connectArgs(client)])).code).toBe(0);
    expect((await sandbox.run(['disable', 'expired'])).code).toBe(0);
    await expire('expired', 20 * 60_000); // past the 15-minute floor

    const enabled = await sandbox.run(['enable', 'expired']);
    expect(enabled.code, enabled.stderr).toBe(0);
    expect(enabled.stdout).toMatch(
      /^enabled "expired" \(version \w{8}\); its access token expired (60s|1m) ago: refreshed it at once \(version \w{8}, access token expires in 60m\)\n$/,
    );
    expect(Date.parse((await sandbox.current('expired')).record.expiresAt!)).toBeGreaterThan(Date.now());

    // Just refreshed, expired again: the floor holds the refresh back; enable says so and exits 5.
    expect((await sandbox.run(['disable', 'expired'])).code).toBe(0);
    await expire('expired', 60_000);
    const held = await sandbox.run(['enable', 'expired']);
    expect(held.code).toBe(5);
    expect(held.stdout).toMatch(/^enabled "expired" \(version \w{8}\)\n$/);
    expect(held.stderr).toMatch(
      new RegExp(
        '^token-refresher: "expired" is active, but its access token expired (60s|1m) ago and not refreshed yet: ' +
          String.raw`the version floor \(version_quota\) holds "expired" back: .*; the guard lifts in 1[34]m \(${ISO}\)\. ` +
          String.raw`Override: token-refresher refresh expired --force \(spends one more secret version inside the floor\); ` +
          'without it, the first scheduled run after that refreshes it\n$',
      ),
    );
    const json = await sandbox.run(['enable', 'expired', '--json']);
    expect(json.code).toBe(5);
    validateJsonOutput('enable', JSON.parse(json.stdout));
    const error = JSON.parse(json.stderr).error;
    expect(error).toMatchObject({
      code: 'pending',
      exitCode: 5,
      guard: { name: 'version_quota', override: 'token-refresher refresh expired --force' },
    });
    expect(Date.parse(error.guard.liftsAt)).toBeGreaterThan(Date.now());

    // The override the message names works.
    const forced = await sandbox.run(['enable', 'expired', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/^"expired" is already active; forced: refreshed it at once/);
    expect(sandbox.leaked()).toEqual([]);
  });

  it('an import whose validating refresh meets an outage is stored, validation pending, with the next run: exit 5', async () => {
    const client = auth.client('client_secret_post');
    const minted = await auth.mintRefreshToken({ clientId: client.clientId });
    sandbox.sensitive.add(minted);
    auth.injectFault({ kind: 'status', status: 503, count: 3 });
    const run = await sandbox.run(sandbox.importArgs('outage', client), { stdin: `${minted}\n` });
    auth.clearFaults();
    expect(run.code, run.stderr).toBe(5);
    expect(run.stderr).toMatch(
      new RegExp(
        String.raw`token-refresher: imported the refresh token of "outage": stored \(version \w{8}\), validation pending: ` +
          String.raw`the validating refresh met a transient failure \(.*503.*\); the refresher refreshes it at ${ISO} \(in \d+[sm]\), ` +
          String.raw`with no action from you \(token-refresher status shows it; token-refresher refresh outage --force tries now\)\n$`,
      ),
    );
    // Stored indeed: the next refresh works with it.
    const refreshed = await sandbox.run(['refresh', 'outage', '--force']);
    expect(refreshed.code, refreshed.stderr).toBe(0);
    expect(sandbox.leaked()).toEqual([]);
  });

  it('an abandoned connect takes back the placeholder it created; a placeholder left shows as pending with the commands', async () => {
    const client = auth.client('client_secret_basic');
    const abandoned = await sandbox.run([
      'connect',
      'abandoned',
      ...sandbox.connectArgs(client, ['--no-browser', '--timeout', '1']),
    ]);
    expect(abandoned.code).toBe(1);
    expect(abandoned.stderr).toContain(
      `removed the placeholder secret ${sandbox.prefix}abandoned this connect had created`,
    );
    await expect(
      sandbox.secretsManager.send(new DescribeSecretCommand({ SecretId: `${sandbox.prefix}abandoned` })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });

    // A placeholder nobody finished (the stack's, or a connect killed outright).
    await createSecret(`${sandbox.prefix}left`, JSON.stringify(placeholderRecord('left')));
    const status = await sandbox.run(['status']);
    expect(status.stdout).toMatch(/\| left\s+\| pending\s+\|/);
    expect(status.stdout).toContain(
      'left (pending): finish it: token-refresher connect left ...; or remove it: token-refresher remove left --force-delete',
    );
    const json = await sandbox.run(['status', '--json']);
    validateJsonOutput('status', JSON.parse(json.stdout));
    const row = JSON.parse(json.stdout).connections.find(
      (c: { connection: string }) => c.connection === 'left',
    );
    expect(row).toMatchObject({ status: 'pending', refreshes24h: 0, versions24h: 1 });
  });

  it('every command has --json and examples in its --help; an unknown command gets a suggestion', async () => {
    for (const command of [
      'connect',
      'providers',
      'status',
      'refresh',
      'disable',
      'enable',
      'remove',
      'completion',
    ]) {
      const help = await sandbox.run([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout, command).toContain('--json');
      expect(help.stdout, command).toMatch(/\nExamples:\n {2}\$ token-refresher /);
    }
    const top = await sandbox.run(['--help']);
    expect(top.stdout).toMatch(/Exit codes[^\n]*\n {2}0 {2}ok/);
    expectOneLine(
      await sandbox.run(['completion', 'tcsh']),
      /^token-refresher: unknown shell "tcsh": use one of bash, zsh, fish$/,
    );
  });
});
