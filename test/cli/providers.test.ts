import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PROFILES, resolveProfile } from '../../lambda/providers/profiles.js';
import { type AuthServer, startAuthServer } from '../../sandbox/auth-server.js';
import type { ProviderReplay } from '../../sandbox/provider-replay/replay-server.js';
import { CliSandbox, expectOneLine, type ReplayCli, startReplayCli } from './support.js';

/**
 * `token-refresher providers` and `connect --provider`. The profiles name the providers'
 * real https endpoints; here the process's `fetch` (the refresher's HTTP adapter looks it
 * up per call) carries requests for them to the provider replay server instead, so the
 * real CLI and the real in-process refresher talk to a provider that answers as the real
 * one does.
 */

const XERO = resolveProfile('xero');
const KEYCLOAK = resolveProfile('keycloak', { domain: 'sso.example.com', realm: 'acme' });

describe('token-refresher providers', () => {
  let auth: AuthServer;
  let sandbox: CliSandbox;

  beforeAll(async () => {
    auth = await startAuthServer({ autoApprove: true });
    sandbox = new CliSandbox(auth);
  });
  afterAll(async () => {
    await auth?.stop();
  });

  it('--json lists every profile in a stable, versioned shape (no AWS needed)', async () => {
    const run = await sandbox.run(['providers', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    const listed = JSON.parse(run.stdout);
    expect(listed.version).toBe(1);
    expect(listed.profiles.length).toBeGreaterThanOrEqual(16);
    expect(listed.profiles.map((p: { name: string }) => p.name)).toEqual([...PROFILES.keys()].sort());
    for (const profile of listed.profiles) {
      expect(Object.keys(profile)).toEqual([
        'name',
        'displayName',
        'endpoints',
        'placeholders',
        'dialect',
        'clientAuth',
        'scope',
        'authorizationParams',
        'accessTokenLifetimeSeconds',
        'response',
        'errors',
        'rotation',
        'quirks',
        'sources',
      ]);
      expect(profile.sources.length).toBeGreaterThan(0);
    }
    const okta = listed.profiles.find((p: { name: string }) => p.name === 'okta');
    expect(okta).toMatchObject({
      endpoints: { token: 'https://{domain}/oauth2/{server}/v1/token' },
      placeholders: [
        { name: 'domain', option: '--domain', kind: 'host', default: null },
        { name: 'server', option: '--server', kind: 'segment', default: 'default' },
      ],
      rotation: { model: 'optional', reuseWindowSeconds: 30 },
    });
    const slack = listed.profiles.find((p: { name: string }) => p.name === 'slack');
    expect(slack.errors).toMatchObject({ in2xx: true, deadTokenStatuses: [200] });
  });

  it('lists the profiles in a table with rotation, reuse window, lifetimes and quirks', async () => {
    const run = await sandbox.run(['providers']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Profile\s+\|\s+Provider\s+\|\s+Rotation\s+\|\s+Reuse window/);
    expect(run.stdout).toMatch(/\| xero\s+\| Xero\s+\| rotating\s+\| 30m\s+\| 30m\s+\| 60d idle/);
    expect(run.stdout).toMatch(/\| keycloak .*\| 5m .*\| --domain --realm/);
    expect(run.stdout).toMatch(/\| salesforce .*\[--domain=login\.salesforce\.com\]/);
    expect(run.stdout).toContain('Quirks handled');
    expect(run.stdout).toContain('token_type is bot or user, not Bearer');
  });

  it('shows one profile in detail, with its sources; an unknown one is one line', async () => {
    const run = await sandbox.run(['providers', 'github-app']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('GitHub App (user access tokens) (github-app)');
    expect(run.stdout).toContain('errors:                  inside 2xx bodies');
    expect(run.stdout).toContain(
      'https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens',
    );
    expectOneLine(await sandbox.run(['providers', 'nope']), /^token-refresher: no provider profile "nope"/);
  });
});

describe('token-refresher connect --provider', () => {
  let env: ReplayCli;
  let auth: AuthServer;
  let replay: ProviderReplay;
  let sandbox: CliSandbox;
  let xeroCredentials: string;
  let keycloakCredentials: string;

  beforeAll(async () => {
    // What `allowedTokenOrigins: [..., 'profile:xero', 'profile:keycloak?...']` synthesizes.
    env = await startReplayCli({ xero: XERO, keycloak: KEYCLOAK });
    ({ auth, replay, sandbox } = env);
    xeroCredentials = env.credentials.xero!;
    keycloakCredentials = env.credentials.keycloak!;
  });
  afterAll(() => env?.stop());
  afterEach(() => {
    expect(sandbox.leaked()).toEqual([]);
  });

  const importWith = (name: string, refreshToken: string, flags: string[]) => {
    sandbox.sensitive.add(refreshToken);
    return sandbox.run(['connect', name, '--refresh-token-stdin', ...flags], { stdin: refreshToken });
  };

  it('imports with a profile: endpoints, request style, scope and behaviour from it, stored in the record', async () => {
    const { refreshToken } = replay.grant('xero', { scope: 'offline_access accounting.transactions' });
    const run = await importWith('xero-co', refreshToken, [
      '--provider',
      'xero',
      '--client-credentials-secret',
      xeroCredentials,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /^imported the refresh token of "xero-co" and refreshed it: access token valid for \d+m/,
    );
    expect(run.stderr).not.toContain('warning');

    const { record, refreshToken: stored } = await sandbox.current('xero-co');
    expect(record.schemaVersion).toBe(2);
    expect(record.provider).toEqual({
      tokenEndpoint: 'https://identity.xero.com/connect/token',
      dialect: 'form',
      clientAuth: 'client_secret_basic',
      clientCredentialsSecretId: xeroCredentials,
      scope: 'offline_access',
      profile: 'xero',
      behaviour: XERO.behaviour,
    });
    expect(stored).not.toBe(refreshToken);
    expect(replay.calls('xero')).toBe(1);
    const [request] = replay.requests('xero');
    expect(request).toMatchObject({ clientAuth: 'basic', contentType: 'application/x-www-form-urlencoded' });
    expect(request?.params.grant_type).toBe('refresh_token');
  });

  it("warns when the provider's access tokens live less than the version floor, and says what that means", async () => {
    const { refreshToken } = replay.grant('keycloak', { scope: 'openid offline_access' });
    const run = await importWith('kc', refreshToken, [
      '--provider',
      'keycloak',
      '--domain',
      'sso.example.com',
      '--realm',
      'acme',
      '--client-credentials-secret',
      keycloakCredentials,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      /^warning: the access tokens of "kc" live (5m|\d+s), less than this deployment's version floor of 15m: .* valid only about 3\d% of the time\. Consumers will see 401s, answered by on-demand refreshes at most once per 15m\./m,
    );
    const { record } = await sandbox.current('kc');
    expect(record.provider).toMatchObject({
      tokenEndpoint: 'https://sso.example.com/realms/acme/protocol/openid-connect/token',
      profile: 'keycloak',
      scope: 'openid offline_access',
      behaviour: KEYCLOAK.behaviour,
    });
  });

  it('adds the offline-access scope to the scope the operator names', async () => {
    const { refreshToken } = replay.grant('xero');
    const run = await importWith('xero-scoped', refreshToken, [
      '--provider',
      'xero',
      '--scope',
      'accounting.transactions accounting.contacts',
      '--client-credentials-secret',
      xeroCredentials,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const { record } = await sandbox.current('xero-scoped');
    expect(record.provider?.scope).toBe('accounting.transactions accounting.contacts offline_access');
  });

  it('stores --access-token-lifetime as the default lifetime, for a custom provider too', async () => {
    const client = auth.client('client_secret_basic');
    const refreshToken = await auth.mintRefreshToken({
      clientId: client.clientId,
      scope: 'openid offline_access',
    });
    const run = await importWith('custom-lifetime', refreshToken, [
      ...sandbox.importArgs('custom-lifetime', client).slice(3),
      '--access-token-lifetime',
      '7200',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const { record } = await sandbox.current('custom-lifetime');
    expect(record.provider?.profile).toBeUndefined();
    expect(record.provider?.behaviour?.response.defaultExpiresInSeconds).toBe(7200);
  });

  it('builds the authorization URL from the profile (Google: access_type=offline, prompt=consent)', async () => {
    const credentials = await sandbox.createClientCredentials(
      `${sandbox.clientCredentialsPrefix}google`,
      { clientId: 'google-client', clientSecret: 'google-secret-not-used-0001' },
      ['https://oauth2.googleapis.com'],
    );
    const run = await sandbox.run([
      'connect',
      'g-drive',
      '--provider',
      'google',
      '--client-id',
      'google-client',
      '--scope',
      'https://www.googleapis.com/auth/drive.readonly',
      '--authorization-param',
      'login_hint=ops@example.com',
      '--client-credentials-secret',
      credentials,
      '--no-browser',
      '--timeout',
      '1',
    ]);
    expect(run.code).not.toBe(0);
    const url = new URL(/^\s+(https:\S+)$/m.exec(run.stderr)?.[1] ?? 'https://missing.invalid');
    expect(url.origin + url.pathname).toBe('https://accounts.google.com/o/oauth2/v2/auth');
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      client_id: 'google-client',
      scope: 'https://www.googleapis.com/auth/drive.readonly',
      access_type: 'offline',
      prompt: 'consent',
      login_hint: 'ops@example.com',
      code_challenge_method: 'S256',
    });
  });

  it.each<[string, string[], RegExp]>([
    [
      'a profile with a custom endpoint',
      ['--provider', 'xero', '--token-endpoint', 'https://identity.xero.com/connect/token'],
      /^token-refresher: --provider xero fills --token-endpoint from its profile: drop it, or drop --provider to describe a custom provider$/,
    ],
    [
      'a profile with a request style',
      ['--provider', 'xero', '--dialect', 'json', '--client-auth', 'client_secret_post'],
      /--provider xero fills --dialect, --client-auth from its profile: drop them/,
    ],
    [
      'a placeholder without a profile',
      ['--domain', 'acme.okta.com', '--issuer', 'https://a.example'],
      /--domain fills a provider profile's endpoints: it needs --provider/,
    ],
    ['an unknown profile', ['--provider', 'nope'], /no provider profile "nope" \(known: askara, /],
    [
      'a missing placeholder',
      ['--provider', 'okta'],
      /provider "okta" needs --domain: .* \(for example acme\.okta\.com\)/,
    ],
    [
      'a placeholder the profile lacks',
      ['--provider', 'xero', '--realm', 'x'],
      /provider "xero" takes no --realm/,
    ],
    [
      'a host that moves the endpoint',
      ['--provider', 'okta', '--domain', 'evil.example/x'],
      /--domain for provider "okta" must not contain "\/"/,
    ],
    [
      'credentials in a host',
      ['--provider', 'auth0', '--domain', 'acme.auth0.com@evil.example'],
      /must not contain "@"/,
    ],
    [
      'a realm with a traversal',
      ['--provider', 'keycloak', '--domain', 'sso.example.com', '--realm', '..'],
      /must not contain "\.\."/,
    ],
    [
      'a profile that needs a scope',
      ['--provider', 'google', '--client-id', 'c'],
      /--scope is required with --provider google/,
    ],
    [
      'a reserved authorization parameter',
      ['--provider', 'google', '--authorization-param', 'redirect_uri=x'],
      /cannot set redirect_uri/,
    ],
  ])('refuses %s in one line, before any AWS call', async (_name, flags, message) => {
    const before = replay.calls();
    expectOneLine(await sandbox.run(['connect', 'refused', ...flags]), message);
    expect(replay.calls()).toBe(before);
  });
});
