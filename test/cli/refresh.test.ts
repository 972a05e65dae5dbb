import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveProfile } from '../../lambda/providers/profiles.js';
import type { ProviderReplay } from '../../sandbox/provider-replay/replay-server.js';
import { type CliSandbox, expectOneLine, type ReplayCli, startReplayCli } from './support.js';

/**
 * `token-refresher refresh`: what each answer of the refresher means and what to do, in
 * words and with `--json`. Connections are imported with `connect --provider` against the
 * provider replay (their profiles' real endpoints carried to it, as in providers.test.ts),
 * whose scripted answers put them in each state.
 */

const XERO = resolveProfile('xero');
const KEYCLOAK = resolveProfile('keycloak', { domain: 'sso.example.com', realm: 'acme' });
const ISO = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;

describe('token-refresher refresh', () => {
  let env: ReplayCli;
  let replay: ProviderReplay;
  let sandbox: CliSandbox;

  beforeAll(async () => {
    env = await startReplayCli({ xero: XERO, keycloak: KEYCLOAK });
    ({ replay, sandbox } = env);
  });
  afterAll(() => env?.stop());
  afterEach(() => {
    expect(sandbox.leaked()).toEqual([]);
  });

  /** Imports a new grant of `profile` as `name` (its validating refresh answered as scripted). */
  const importAs = (name: string, profile: 'xero' | 'keycloak') => {
    const { refreshToken } = replay.grant(profile, { scope: 'openid offline_access' });
    sandbox.sensitive.add(refreshToken);
    const placeholders = profile === 'keycloak' ? ['--domain', 'sso.example.com', '--realm', 'acme'] : [];
    return sandbox.run(
      [
        'connect',
        name,
        '--refresh-token-stdin',
        '--provider',
        profile,
        ...placeholders,
        '--client-credentials-secret',
        env.credentials[profile]!,
      ],
      { stdin: refreshToken },
    );
  };

  it('backoff: when the next attempt is and why; --force is not held back by it', async () => {
    // The import's validating refresh meets a 503 with Retry-After 120 s: too long to wait
    // within the invocation, so one request, then the connection backs off (5 minutes).
    replay.next('xero', 'unavailable');
    const imported = await importAs('xero-down', 'xero');
    expect(imported.code).not.toBe(0);
    const calls = replay.calls('xero');

    expectOneLine(
      await sandbox.run(['refresh', 'xero-down']),
      new RegExp(
        '^token-refresher: not refreshed: "xero-down" is backing off because its last run failed ' +
          String.raw`\(the record holds no error yet \(a transient failure is written to it once it lasts 3 runs; the refresher log has each one\)\); ` +
          `the guard \\(backoff\\) lifts in [45]m \\(${ISO}\\)\\. ` +
          String.raw`Override: token-refresher refresh xero-down --force \(a forced refresh is not held back by the backoff\): ` +
          'fix the cause first, or it fails again and waits longer',
      ),
    );
    const json = await sandbox.run(['refresh', 'xero-down', '--json']);
    expect(json.code).toBe(4); // refused
    const answer = JSON.parse(json.stdout);
    expect(answer).toMatchObject({
      connection: 'xero-down',
      outcome: 'declined',
      reason: 'backoff',
      failureStreak: 1,
      lastError: null,
    });
    expect(Date.parse(answer.nextAttemptAt) - Date.now()).toBeGreaterThan(4 * 60_000);
    expect(answer.guard).toEqual({
      name: 'backoff',
      liftsAt: answer.nextAttemptAt,
      override: 'token-refresher refresh xero-down --force',
    });
    const error = JSON.parse(json.stderr).error;
    expect(error).toMatchObject({ code: 'refused', exitCode: 4 });
    expect(error.message).toMatch(/^not refreshed: "xero-down" is backing off/);
    // Neither asked the provider.
    expect(replay.calls('xero')).toBe(calls);

    // As the engine does: an operator's force goes through the backoff at once.
    const forced = await sandbox.run(['refresh', 'xero-down', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/^refreshed "xero-down": version \w{8}, access token expires in \d+m\n$/);
    expect(replay.calls('xero')).toBe(calls + 1);
  });

  it('version_quota: a recorded error spent a version; when it can refresh again, and what --force costs', async () => {
    replay.next('xero', 'invalid_client');
    expect((await importAs('xero-cfg', 'xero')).code).not.toBe(0);
    const { record } = await sandbox.current('xero-cfg');
    expect(record.lastError).toMatchObject({ class: 'configuration' });
    const calls = replay.calls('xero');

    const run = await sandbox.run(['refresh', 'xero-cfg']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        '^not refreshed: the version floor \\(version_quota\\) holds "xero-cfg" back: it changed less than the ' +
          'version floor ago \\(each refresh or recorded error is a new secret version; the floor keeps them within ' +
          `the version quota\\); the guard lifts in 1[45]m \\(${ISO}\\)\\. Override: token-refresher refresh ` +
          'xero-cfg --force \\(spends one more secret version inside the floor\\)\\n$',
      ),
    );
    const floorEnds = Date.parse(record.lastError!.at) + 900_000;
    const json = JSON.parse((await sandbox.run(['refresh', 'xero-cfg', '--json'])).stdout);
    expect(json).toMatchObject({ outcome: 'declined', reason: 'version_quota' });
    expect(Date.parse(json.nextAttemptAt)).toBe(floorEnds);
    expect(json).not.toHaveProperty('lastError');
    expect(replay.calls('xero')).toBe(calls);
  });

  it('min_interval: refreshed moments ago; when it may refresh again; --json when refreshed', async () => {
    // Keycloak's 5-minute tokens are within the refresh window at once, but not due again so soon.
    const imported = await importAs('kc-fresh', 'keycloak');
    expect(imported.code, imported.stderr).toBe(0);
    const run = await sandbox.run(['refresh', 'kc-fresh']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        '^not refreshed: the minimum interval \\(min_interval\\) holds "kc-fresh" back: it was refreshed less than ' +
          `the minimum interval ago; the guard lifts in 1[45]m \\(${ISO}\\)\\. Override: token-refresher refresh ` +
          'kc-fresh --force \\(rotates the refresh token and spends a secret version\\) \\(access token expires in [45]m\\)\\n$',
      ),
    );

    const forced = await sandbox.run(['refresh', 'kc-fresh', '--force', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toBe('');
    const answer = JSON.parse(forced.stdout);
    expect(answer).toMatchObject({ connection: 'kc-fresh', outcome: 'refreshed' });
    expect(answer.versionId).toBe((await sandbox.current('kc-fresh')).versionId);
    expect(Date.parse(answer.expiresAt) - Date.now()).toBeGreaterThan(4 * 60_000);
  });
});
