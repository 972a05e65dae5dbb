import { App, Duration, Lazy, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import {
  decodeRefresherEnvironment,
  SETTING_VARIABLES,
} from '../../lambda/contract/refresher-environment.js';
import { ASKARA_TOKEN_ORIGIN, DEFAULT_SETTINGS } from '../../lambda/contract/settings.js';
import { cidrWildcard, DEFAULTS, resolveSettings, SettingsError } from '../../lib/settings.js';
import { TokenRefresher, type TokenRefresherProps } from '../../lib/token-refresher.js';
import { CONTEXT_KEYS, settingsFromContext } from '../../lib/token-refresher-stack.js';
import { propertiesOf, resourcesOfType, SKIP_BUNDLING, synth } from './support/synth.js';

const problems = (props: TokenRefresherProps): string => {
  try {
    resolveSettings(props);
  } catch (error) {
    // bin/ prints a SettingsError's message alone (no stack trace) and exits 1.
    expect(error).toBeInstanceOf(SettingsError);
    return (error as Error).message;
  }
  throw new Error('expected the settings to be rejected');
};

describe('settings: defaults', () => {
  it('documents and applies a default for every setting', () => {
    const settings = resolveSettings();
    expect(settings.connectionPrefix).toBe('token-refresher/');
    expect(settings.clientCredentialsPrefix).toBe('token-refresher-clients/');
    expect(settings.schedule.toMinutes()).toBe(5);
    expect(settings.refreshWindow.toSeconds()).toBe(600);
    expect(settings.minInterval.toSeconds()).toBe(900);
    expect(settings.maxAge.toSeconds()).toBe(86_400);
    expect(settings.timeout.toSeconds()).toBe(240);
    expect(settings.memorySize).toBe(256);
    expect(settings.logRetention).toBe(DEFAULTS.logRetention);
    expect(settings.nearExpiryThreshold.toSeconds()).toBe(300);
    expect(settings.reauthDueWithin.toDays()).toBe(14);
    expect(settings.failureAlarmPeriods).toBe(3);
    expect(settings.earlyRefreshesPerHour).toBe(6);
    expect(settings.maxRefreshesPerHour).toBe(60);
    expect(settings.alarmEmail).toBeUndefined();
    expect(settings.connections).toEqual([]);
    expect(settings.refreshTokenKeyOperatorRoleArns).toEqual([]);
  });

  it('keeps the default minimum interval within the secret version quota (at most 100 versions a day)', () => {
    expect(86_400 / resolveSettings().minInterval.toSeconds()).toBeLessThanOrEqual(100);
  });

  it('derives the timeout from the schedule: under the period, at most 4 minutes, at least 30 s', () => {
    const timeout = (minutes: number) =>
      resolveSettings({
        schedule: Duration.minutes(minutes),
        refreshWindow: Duration.minutes(Math.max(10, minutes)),
      }).timeout.toSeconds();
    expect(timeout(1)).toBe(30);
    expect(timeout(2)).toBe(90);
    expect(timeout(3)).toBe(150);
    expect(timeout(5)).toBe(240);
    expect(timeout(30)).toBe(240);
  });

  it('scales the refresh-rate ceiling with the pre-created connections', () => {
    const names = Array.from({ length: 30 }, (_, i) => `c${i}`);
    expect(resolveSettings({ connections: names }).maxRefreshesPerHour).toBe(120);
    expect(resolveSettings({ connections: ['a'] }).maxRefreshesPerHour).toBe(60);
    expect(resolveSettings({ connections: names, maxRefreshesPerHour: 500 }).maxRefreshesPerHour).toBe(500);
  });
});

describe('settings: validation at synth time', () => {
  it.each<[string, TokenRefresherProps, RegExp]>([
    [
      'a prefix without a trailing slash',
      { connectionPrefix: 'tokens' },
      /connectionPrefix must end with "\/"/,
    ],
    [
      'a wildcard in a prefix',
      { clientCredentialsPrefix: 'clients*/' },
      /clientCredentialsPrefix may contain only/,
    ],
    [
      'overlapping prefixes',
      { connectionPrefix: 'a/', clientCredentialsPrefix: 'a/clients/' },
      /must not overlap/,
    ],
    [
      'a schedule under a minute',
      { schedule: Duration.seconds(30) },
      /schedule must be a whole number of minutes from 1 to 60/,
    ],
    [
      'a schedule in seconds',
      { schedule: Duration.seconds(90) },
      /schedule must be a whole number of minutes/,
    ],
    [
      'a schedule over an hour',
      { schedule: Duration.minutes(61) },
      /schedule must be a whole number of minutes from 1 to 60/,
    ],
    ['a zero refresh window', { refreshWindow: Duration.seconds(0) }, /refreshWindow must be greater than 0/],
    [
      'a refresh window shorter than the schedule',
      { schedule: Duration.minutes(15) },
      /refreshWindow \(600 s\) must be at least the schedule period \(900 s\)/,
    ],
    [
      'a minimum interval under a minute',
      { minInterval: Duration.seconds(30) },
      /minInterval must be at least 60 s/,
    ],
    [
      'a version floor under a minute',
      { versionFloor: Duration.seconds(59) },
      /versionFloor must be at least 60 s \(got 59 s\)/,
    ],
    [
      'a version floor above the minimum interval',
      { minInterval: Duration.minutes(20), versionFloor: Duration.minutes(30) },
      /versionFloor \(1800 s\) must be at most minInterval \(1200 s\)/,
    ],
    [
      'a version floor given as a token',
      { versionFloor: Duration.seconds(Lazy.number({ produce: () => 600 })) },
      /versionFloor must be a literal duration, not a token/,
    ],
    [
      'a max age not above the minimum interval',
      { maxAge: Duration.minutes(10) },
      /maxAge \(600 s\) must be greater than minInterval/,
    ],
    [
      'a timeout as long as the schedule',
      { timeout: Duration.minutes(5) },
      /timeout must be .* shorter than the schedule period/,
    ],
    [
      'a near-expiry threshold at the window',
      { nearExpiryThreshold: Duration.minutes(10) },
      /nearExpiryThreshold must be .* less than refreshWindow/,
    ],
    [
      'a re-authentication threshold that is not whole days',
      { reauthDueWithin: Duration.hours(36) },
      /reauthDueWithin must be a whole number of days from 1 to 365/,
    ],
    [
      'zero alarm periods',
      { failureAlarmPeriods: 0 },
      /failureAlarmPeriods must be a whole number from 1 to 10/,
    ],
    [
      'a fractional threshold',
      { earlyRefreshesPerHour: 1.5 },
      /earlyRefreshesPerHour must be a whole number/,
    ],
    ['a bad e-mail address', { alarmEmail: 'oncall' }, /alarmEmail must be an e-mail address/],
    ['a connection name with a slash', { connections: ['a/b'] }, /connection name "a\/b" must be/],
    ['a connection listed twice', { connections: ['a', 'a'] }, /connection "a" is listed twice/],
    [
      'an operator that is not a role ARN',
      { refreshTokenKeyOperatorRoleArns: ['admin'] },
      /"admin" is not an IAM role ARN/,
    ],
    ['too little memory', { memorySize: 64 }, /memorySize must be a whole number from 128 to 10240/],
    [
      'a log retention CloudWatch does not offer',
      { logRetention: 2 as logs.RetentionDays },
      /logRetention must be a CloudWatch Logs retention/,
    ],
  ])('rejects %s with a clear message', (_name, props, message) => {
    const error = problems(props);
    expect(error).toMatch(/^TokenRefresher is misconfigured:/);
    expect(error).toMatch(message);
  });

  it('reports every problem at once', () => {
    const error = problems({ connectionPrefix: 'x', schedule: Duration.seconds(10), alarmEmail: 'nope' });
    const [, ...listed] = error.split('\n  - ');
    expect(listed).toHaveLength(4);
    expect(listed[0]).toMatch(/^connectionPrefix must end with/);
    expect(listed[1]).toMatch(/^schedule must be/);
    expect(listed[2]).toMatch(/^timeout must be/);
    expect(listed[3]).toMatch(/^alarmEmail must be/);
  });

  it('fails construction, so `cdk synth` stops before anything is deployed', () => {
    const stack = new Stack(new App({ context: SKIP_BUNDLING }), 'Test');
    expect(() => new TokenRefresher(stack, 'Refresher', { connectionPrefix: 'no-slash' })).toThrow(
      /connectionPrefix must end with "\/"/,
    );
  });

  it('warns when the minimum interval could exhaust the secret version quota', () => {
    const stack = new Stack(new App({ context: SKIP_BUNDLING }), 'Test');
    new TokenRefresher(stack, 'Refresher', { minInterval: Duration.minutes(10) });
    Annotations.fromStack(stack).hasWarning(
      '/Test/Refresher',
      Match.stringLikeRegexp('allows 144 versions per connection per day'),
    );
  });
});

describe('settings from context (cdk.json or -c key=value)', () => {
  const read = (context: Record<string, unknown>) => settingsFromContext((key) => context[key]);

  it('reads every documented key, from CLI strings', () => {
    const props = read({
      connectionPrefix: 'oauth/',
      clientCredentialsPrefix: 'oauth-clients/',
      scheduleMinutes: '10',
      refreshWindowSeconds: '1200',
      minIntervalSeconds: '1800',
      maxAgeSeconds: '43200',
      timeoutSeconds: '300',
      memorySizeMb: '512',
      logRetentionDays: '30',
      alarmEmail: 'oncall@example.com',
      connections: 'a, b ,c',
      nearExpirySeconds: '120',
      failureAlarmPeriods: '4',
      earlyRefreshesPerHour: '3',
      maxRefreshesPerHour: '100',
      refreshTokenKeyOperatorRoleArns: 'arn:aws:iam::111122223333:role/x',
    });
    expect(props.connectionPrefix).toBe('oauth/');
    expect(props.clientCredentialsPrefix).toBe('oauth-clients/');
    expect(props.schedule?.toMinutes()).toBe(10);
    expect(props.refreshWindow?.toSeconds()).toBe(1200);
    expect(props.minInterval?.toSeconds()).toBe(1800);
    expect(props.maxAge?.toSeconds()).toBe(43_200);
    expect(props.timeout?.toSeconds()).toBe(300);
    expect(props.memorySize).toBe(512);
    expect(props.logRetention).toBe(30);
    expect(props.alarmEmail).toBe('oncall@example.com');
    expect(props.connections).toEqual(['a', 'b', 'c']);
    expect(props.nearExpiryThreshold?.toSeconds()).toBe(120);
    expect(props.failureAlarmPeriods).toBe(4);
    expect(props.earlyRefreshesPerHour).toBe(3);
    expect(props.maxRefreshesPerHour).toBe(100);
    expect(props.refreshTokenKeyOperatorRoleArns).toEqual(['arn:aws:iam::111122223333:role/x']);
  });

  it('accepts JSON values from cdk.json and JSON arrays from the CLI', () => {
    expect(read({ scheduleMinutes: 15, connections: ['a', 'b'] })).toMatchObject({ connections: ['a', 'b'] });
    expect(read({ connections: '["a","b"]' }).connections).toEqual(['a', 'b']);
  });

  it('leaves unset keys to the construct defaults', () => {
    expect(read({})).toEqual({});
    expect(read({ alarmEmail: '' })).toEqual({});
  });

  it('names the key of a malformed value', () => {
    expect(() => read({ scheduleMinutes: 'five' })).toThrow(
      /context "scheduleMinutes" must be a whole number/,
    );
    expect(() => read({ connections: '["a",' })).toThrow(/context "connections" is not valid JSON/);
    expect(() => read({ connections: [1, 2] })).toThrow(/context "connections" must be a list of strings/);
    expect(() => read({ alarmEmail: 42 })).toThrow(/context "alarmEmail" must be a string/);
  });

  it('has a documented default for every context key (docs/deploy.md)', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { REPO_ROOT } = await import('./support/synth.js');
    const deploy = readFileSync(join(REPO_ROOT, 'docs', 'deploy.md'), 'utf8');
    for (const key of CONTEXT_KEYS) {
      expect(deploy, `docs/deploy.md does not document "${key}"`).toMatch(
        new RegExp(`^\\| \`${key}\` +\\|`, 'm'),
      );
    }
  });
});

/** `versionFloor`: the hard floor between two refreshes of one connection, plumbed from prop to engine. */
const VERSION_FLOOR_VARIABLE = SETTING_VARIABLES.versionFloorMs.variable;

/** VERSION_FLOOR_SECONDS of each refresher function (scheduled and on-demand), by logical ID. */
function versionFloorsOf(context: Record<string, unknown>): Record<string, string | undefined> {
  const { json } = synth(context);
  const functions = resourcesOfType(json, 'AWS::Lambda::Function');
  expect(functions.map(([id]) => id)).toEqual([
    expect.stringMatching(/^TokenRefresherFunction/),
    expect.stringMatching(/^TokenRefresherOnDemandFunction/),
  ]);
  return Object.fromEntries(
    functions.map(([id]) => {
      const { Variables } = propertiesOf(json, id).Environment as { Variables: Record<string, string> };
      // What the handler decodes at cold start is what the construct meant.
      const decoded = decodeRefresherEnvironment({
        ...Variables,
        REFRESH_TOKEN_KEY_ID: 'k',
        LEASE_TABLE_NAME: 't',
      });
      expect(decoded.settings.versionFloorMs).toBe(Number(Variables[VERSION_FLOOR_VARIABLE]) * 1000);
      return [id, Variables[VERSION_FLOOR_VARIABLE]];
    }),
  );
}

describe("settings: versionFloor, from prop or context to both functions' environment", () => {
  it("defaults to the engine's default, 15 minutes", () => {
    expect(resolveSettings().versionFloor.toSeconds()).toBe(900);
    expect(resolveSettings().versionFloor.toMilliseconds()).toBe(DEFAULT_SETTINGS.versionFloorMs);
  });

  it('defaults to minInterval when that is shorter, and takes an explicit value', () => {
    expect(resolveSettings({ minInterval: Duration.minutes(10) }).versionFloor.toSeconds()).toBe(600);
    expect(resolveSettings({ minInterval: Duration.hours(1) }).versionFloor.toSeconds()).toBe(900);
    expect(resolveSettings({ versionFloor: Duration.minutes(5) }).versionFloor.toSeconds()).toBe(300);
  });

  it('sets the default in the environment of both functions', () => {
    const floors = versionFloorsOf({});
    expect(Object.values(floors)).toEqual(['900', '900']);
  });

  it('sets an override (context versionFloorSeconds) in the environment of both functions', () => {
    expect(Object.values(versionFloorsOf({ versionFloorSeconds: '600' }))).toEqual(['600', '600']);
    expect(Object.values(versionFloorsOf({ minIntervalSeconds: 300 }))).toEqual(['300', '300']);
  });

  it('reports an invalid minimum interval once, not again through the floor it bounds', () => {
    const [, ...listed] = problems({ minInterval: Duration.seconds(30) }).split('\n  - ');
    expect(listed).toEqual(['minInterval must be at least 60 s (got 30 s)']);
  });

  it('warns, without failing synthesis, when the floor allows more than 100 versions a day', () => {
    const stack = new Stack(new App({ context: SKIP_BUNDLING }), 'Test');
    new TokenRefresher(stack, 'Refresher', { versionFloor: Duration.minutes(10) });
    const annotations = Annotations.fromStack(stack);
    annotations.hasWarning(
      '/Test/Refresher',
      Match.stringLikeRegexp('versionFloor 10 minutes allows 144 versions per connection per day'),
    );
    annotations.hasNoWarning('/Test/Refresher', Match.stringLikeRegexp('^minInterval'));
  });

  it('is read from the context key versionFloorSeconds, and a malformed value names it', () => {
    const read = (context: Record<string, unknown>) => settingsFromContext((key) => context[key]);
    expect(read({ versionFloorSeconds: '600' }).versionFloor?.toSeconds()).toBe(600);
    expect(read({ versionFloorSeconds: 300 }).versionFloor?.toSeconds()).toBe(300);
    expect(read({ versionFloorSeconds: '' }).versionFloor).toBeUndefined();
    expect(() => read({ versionFloorSeconds: '15m' })).toThrow(
      /context "versionFloorSeconds" must be a whole number/,
    );
  });
});

describe('settings: allowed token-endpoint origins, pinned at deploy time', () => {
  it('defaults to the Askara origin, so `cdk synth` works out of the box', () => {
    expect(resolveSettings().allowedTokenOrigins).toEqual([ASKARA_TOKEN_ORIGIN]);
    expect(DEFAULT_SETTINGS.allowedTokenOrigins).toEqual([ASKARA_TOKEN_ORIGIN]);
  });

  it('accepts https origins, with a port', () => {
    const origins = ['https://api.askara.ai', 'https://auth.example.com:8443', 'https://[2001:db8::1]:9443'];
    expect(resolveSettings({ allowedTokenOrigins: origins }).allowedTokenOrigins).toEqual(origins);
  });

  it.each<[string, string, RegExp]>([
    ['a path', 'https://auth.example.com/oauth/token', /must be exactly an origin/],
    ['a trailing slash', 'https://auth.example.com/', /must be exactly an origin/],
    ['a query', 'https://auth.example.com?x=1', /must be exactly an origin/],
    ['a fragment', 'https://auth.example.com#x', /must be exactly an origin/],
    ['credentials', 'https://user:pass@auth.example.com', /must be exactly an origin/],
    ['an upper-case host', 'https://Auth.Example.com', /host in lower case/],
    ['the default port', 'https://auth.example.com:443', /no default port/],
    ['plain http', 'http://auth.example.com', /plain http.*tests only/],
    ['http to loopback', 'http://127.0.0.1:9001', /plain http/],
    ['a wildcard', '*', /is a wildcard/],
    ['a wildcard host', 'https://*.example.com', /is a wildcard/],
    ['another scheme', 'ftp://auth.example.com', /must use https/],
    ['no scheme', 'auth.example.com', /is not an origin/],
  ])('refuses to synthesize an origin with %s', (_name, origin, message) => {
    expect(problems({ allowedTokenOrigins: [origin] })).toMatch(message);
  });

  it('refuses an empty list and a duplicate', () => {
    expect(problems({ allowedTokenOrigins: [] })).toMatch(/at least one origin/);
    expect(problems({ allowedTokenOrigins: ['https://a.example', 'https://a.example'] })).toMatch(/twice/);
  });

  it('allows a wildcard or plain http only with the test-only escape, which the app cannot set', () => {
    const unsafe = ['*', 'http://127.0.0.1:9001'];
    expect(
      resolveSettings({ allowedTokenOrigins: unsafe, allowUnsafeTokenOrigins: true }).allowedTokenOrigins,
    ).toEqual(unsafe);
    // Still an origin: the escape lifts the scheme and wildcard rules only.
    expect(
      problems({ allowedTokenOrigins: ['http://127.0.0.1:9001/token'], allowUnsafeTokenOrigins: true }),
    ).toMatch(/must be exactly an origin/);
    expect(CONTEXT_KEYS).not.toContain('allowUnsafeTokenOrigins' as never);
    const context: Record<string, unknown> = { allowUnsafeTokenOrigins: true };
    expect(settingsFromContext((key) => context[key])).toEqual({});
  });

  it('reads the context key allowedTokenOrigins like connections (comma-separated or a JSON array)', () => {
    const read = (context: Record<string, unknown>) => settingsFromContext((key) => context[key]);
    expect(
      read({ allowedTokenOrigins: 'https://a.example, https://b.example:8443' }).allowedTokenOrigins,
    ).toEqual(['https://a.example', 'https://b.example:8443']);
    expect(read({ allowedTokenOrigins: ['https://a.example'] }).allowedTokenOrigins).toEqual([
      'https://a.example',
    ]);
    expect(read({ allowedTokenOrigins: '["https://a.example"]' }).allowedTokenOrigins).toEqual([
      'https://a.example',
    ]);
  });

  it('accepts a provider profile, with its placeholders, as a name for its token endpoint origin', () => {
    expect(
      resolveSettings({
        allowedTokenOrigins: [
          'https://api.askara.ai',
          'profile:xero',
          'profile:okta?domain=acme.okta.com',
          'profile:keycloak?domain=sso.example.com&realm=acme',
          'profile:microsoft-entra?tenant=contoso.onmicrosoft.com',
          // The same origin as the first entry, named by its profile: listed once.
          'profile:askara',
        ],
      }).allowedTokenOrigins,
    ).toEqual([
      'https://api.askara.ai',
      'https://identity.xero.com',
      'https://acme.okta.com',
      'https://sso.example.com',
      'https://login.microsoftonline.com',
    ]);
    // A profile's placeholder defaults apply (Salesforce: login.salesforce.com).
    expect(resolveSettings({ allowedTokenOrigins: ['profile:salesforce'] }).allowedTokenOrigins).toEqual([
      'https://login.salesforce.com',
    ]);
  });

  it.each<[string, string, RegExp]>([
    ['an unknown profile', 'profile:nope', /"profile:nope": no provider profile "nope"/],
    ['a missing placeholder', 'profile:okta', /needs --domain/],
    ['an unknown placeholder', 'profile:xero?tenant=a', /takes no --tenant/],
    [
      'a host that moves the endpoint',
      'profile:okta?domain=evil.example%2Fokta.com',
      /must not contain "\/"/,
    ],
    ['credentials in a host', 'profile:okta?domain=acme.okta.com@evil.example', /must not contain "@"/],
    ['a port in a host', 'profile:auth0?domain=acme.auth0.com:444', /must not contain ":"/],
    ['a traversal in a realm', 'profile:keycloak?domain=sso.example.com&realm=..', /must not contain "\.\."/],
    ['a host outside the provider', 'profile:salesforce?domain=evil.example', /under salesforce\.com/],
    ['a placeholder named twice', 'profile:okta?domain=a.okta.com&domain=b.okta.com', /names domain twice/],
    ['a profile listed twice', 'profile:xero', /twice/],
  ])('refuses to synthesize a profile reference with %s', (name, reference, message) => {
    const references = name === 'a profile listed twice' ? [reference, reference] : [reference];
    expect(problems({ allowedTokenOrigins: references })).toMatch(message);
  });

  it('resolves profile references from the context key too, into the functions and the output', () => {
    const s = synth({ allowedTokenOrigins: 'https://api.askara.ai,profile:okta?domain=acme.okta.com' });
    for (const [id] of resourcesOfType(s.json, 'AWS::Lambda::Function')) {
      const { Variables } = propertiesOf(s.json, id).Environment as { Variables: Record<string, string> };
      expect(Variables.ALLOWED_TOKEN_ORIGINS).toBe('https://api.askara.ai,https://acme.okta.com');
    }
    expect(s.json.Outputs?.AllowedTokenOrigins?.Value).toBe('https://api.askara.ai,https://acme.okta.com');
  });

  it('puts the origins in both functions and the AllowedTokenOrigins output; a bad one stops synthesis', () => {
    const s = synth({ allowedTokenOrigins: 'https://api.askara.ai,https://auth.example.com:8443' });
    const functions = resourcesOfType(s.json, 'AWS::Lambda::Function');
    expect(functions).toHaveLength(2);
    for (const [id] of functions) {
      const { Variables } = propertiesOf(s.json, id).Environment as { Variables: Record<string, string> };
      expect(Variables.ALLOWED_TOKEN_ORIGINS).toBe('https://api.askara.ai,https://auth.example.com:8443');
      expect(Variables).not.toHaveProperty('ALLOW_INSECURE_LOOPBACK');
    }
    expect(s.json.Outputs?.AllowedTokenOrigins?.Value).toBe(
      'https://api.askara.ai,https://auth.example.com:8443',
    );
    expect(() => synth({ allowedTokenOrigins: 'http://evil.example' })).toThrow(/plain http/);
  });
});

describe('settings: operators, trail, source addresses and on-demand concurrency', () => {
  const read = (context: Record<string, unknown>) => settingsFromContext((key) => context[key]);

  it('defaults to no operator roles, no trail, no source-address rule, 5 on-demand at once', () => {
    const settings = resolveSettings();
    expect(settings.operatorRoleArns).toEqual([]);
    expect(settings.createTrail).toBe(false);
    expect(settings.tokenStoreSourceCidrs).toEqual([]);
    expect(settings.onDemandReservedConcurrency).toBe(5);
  });

  it('reads them from context', () => {
    const props = read({
      operatorRoleArns: 'arn:aws:iam::111122223333:role/ops,arn:aws:iam::111122223333:role/cfn-exec',
      createTrail: 'true',
      tokenStoreSourceCidrs: '203.0.113.0/24',
      onDemandReservedConcurrency: '3',
    });
    expect(props.operatorRoleArns).toHaveLength(2);
    expect(props.createTrail).toBe(true);
    expect(props.tokenStoreSourceCidrs).toEqual(['203.0.113.0/24']);
    expect(props.onDemandReservedConcurrency).toBe(3);
    expect(read({ createTrail: false }).createTrail).toBe(false);
    expect(() => read({ createTrail: 'yes' })).toThrow(/context "createTrail" must be true or false/);
  });

  it.each<[string, TokenRefresherProps, RegExp]>([
    [
      'an operator that is not a role ARN',
      { operatorRoleArns: ['ops'] },
      /operatorRoleArns: "ops" is not an IAM role ARN/,
    ],
    ['a CIDR off an octet boundary', { tokenStoreSourceCidrs: ['203.0.113.0/25'] }, /octet boundary/],
    ['a CIDR with host bits', { tokenStoreSourceCidrs: ['203.0.113.7/24'] }, /host bits zero/],
    ['an IPv6 block', { tokenStoreSourceCidrs: ['2001:db8::/32'] }, /IPv4 CIDR/],
    ['zero on-demand concurrency', { onDemandReservedConcurrency: 0 }, /onDemandReservedConcurrency must be/],
  ])('rejects %s', (_name, props, message) => {
    expect(problems(props)).toMatch(message);
  });

  it('turns octet-aligned CIDR blocks into EventBridge wildcards', () => {
    expect(cidrWildcard('203.0.113.0/24')).toBe('203.0.113.*');
    expect(cidrWildcard('10.0.0.0/8')).toBe('10.*');
    expect(cidrWildcard('172.16.0.0/16')).toBe('172.16.*');
    expect(cidrWildcard('198.51.100.7/32')).toBe('198.51.100.7');
    expect(cidrWildcard('198.51.100.0/23')).toBeUndefined();
    expect(cidrWildcard('256.0.0.0/8')).toBeUndefined();
  });
});
