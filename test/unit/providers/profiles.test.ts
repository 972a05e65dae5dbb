import { describe, expect, it } from 'vitest';
import { parseEndpointUrl } from '../../../lambda/core/endpoint-url.js';
import { COMMON_DEAD_TOKEN_CODES } from '../../../lambda/core/provider-behaviour.js';
import { behaviourSchema, providerSchema } from '../../../lambda/core/record.js';
import {
  exampleParams,
  loadProfiles,
  PROFILES,
  ProfileError,
  resolveProfile,
  withScope,
} from '../../../lambda/providers/profiles.js';

const ISSUE_12_PROFILES = [
  'askara',
  'xero',
  'quickbooks',
  'salesforce',
  'google',
  'microsoft-entra',
  'okta',
  'auth0',
  'zoom',
  'hubspot',
  'dropbox',
  'atlassian',
  'spotify',
  'keycloak',
  'github-app',
  'slack',
  'box',
];

describe('provider profiles: the shipped data', () => {
  it('holds at least the 16 providers of issue 12 (and Askara)', () => {
    expect(PROFILES.size).toBeGreaterThanOrEqual(16);
    expect([...PROFILES.keys()]).toEqual(expect.arrayContaining(ISSUE_12_PROFILES));
  });

  it.each([...PROFILES.values()])('$name: cites https sources and states its quirks', (profile) => {
    expect(profile.sources.length).toBeGreaterThan(0);
    for (const source of profile.sources) expect(new URL(source).protocol).toBe('https:');
    expect(profile.quirks.length).toBeGreaterThan(0);
  });

  it.each([...PROFILES.values()])(
    '$name: resolves with its examples to endpoints the refresher sends to, and a storable behaviour',
    (profile) => {
      const resolved = resolveProfile(profile.name, exampleParams(profile));
      const token = parseEndpointUrl(resolved.tokenEndpoint, 'the token endpoint');
      expect(token.ok).toBe(true);
      if (token.ok) expect(token.url.protocol).toBe('https:');
      expect(resolved.authorizationEndpoint ?? resolved.issuer).toBeDefined();
      expect(behaviourSchema.parse(resolved.behaviour)).toEqual(resolved.behaviour);
      expect(resolved.behaviour.errors.deadTokenCodes).toEqual(
        expect.arrayContaining([...COMMON_DEAD_TOKEN_CODES]),
      );
      const provider = {
        tokenEndpoint: resolved.tokenEndpoint,
        dialect: resolved.dialect,
        clientAuth: resolved.clientAuth,
        clientCredentialsSecretId: 'token-refresher-clients/x',
        profile: profile.name,
        behaviour: resolved.behaviour,
      };
      expect(providerSchema.safeParse(provider).success).toBe(true);
    },
  );

  it('encodes the four providers issue 12 found broken', () => {
    const salesforce = resolveProfile('salesforce').behaviour;
    expect(salesforce.response.defaultExpiresInSeconds).toBe(7200);
    expect(salesforce.response.keepFields).toContain('instance_url');

    const slack = resolveProfile('slack').behaviour;
    expect(slack.response.acceptedTokenTypes).toEqual(['bot', 'user']);
    expect(slack.errors.deadTokenCodes).toContain('invalid_refresh_token');
    expect(PROFILES.get('slack')?.errors.in2xx).toBe(true);

    const github = resolveProfile('github-app').behaviour;
    expect(github.errors.deadTokenCodes).toContain('bad_refresh_token');
    expect(github.response.refreshTokenExpiresInField).toBe('refresh_token_expires_in');
    expect(PROFILES.get('github-app')?.errors.in2xx).toBe(true);

    const hubspot = resolveProfile('hubspot').behaviour;
    expect(hubspot.errors.codeFields).toEqual(['error', 'status']);
    expect(hubspot.errors.deadTokenCodes).toContain('BAD_REFRESH_TOKEN');
    expect(hubspot.errors.deadTokenCodes).not.toContain('BAD_CLIENT_ID');
  });

  it('encodes the degraded ones: reuse windows, refresh-token expiry fields and lifetimes', () => {
    expect(resolveProfile('xero').behaviour.rotation.reuseWindowSeconds).toBe(1800);
    for (const strict of ['box', 'github-app', 'slack']) {
      expect(resolveProfile(strict).behaviour.rotation).toMatchObject({
        model: 'rotating',
        reuseWindowSeconds: 0,
      });
    }
    expect(resolveProfile('quickbooks').behaviour.response.refreshTokenExpiresInField).toBe(
      'x_refresh_token_expires_in',
    );
    const keycloak = resolveProfile('keycloak', { domain: 'sso.example.com', realm: 'acme' });
    expect(keycloak.behaviour.response.refreshTokenExpiresInField).toBe('refresh_expires_in');
    expect(keycloak.accessTokenLifetimeSeconds).toBe(300);
    expect(resolveProfile('spotify').behaviour.rotation.absoluteLifetimeSeconds).toBe(180 * 86_400);
    expect(resolveProfile('microsoft-entra').behaviour.scope.sendOnRefresh).toBe(true);
  });
});

describe('provider profiles: resolving placeholders', () => {
  it('fills endpoints, with defaults, and lower-cases hosts', () => {
    expect(resolveProfile('okta', { domain: 'Acme.Okta.com' })).toMatchObject({
      tokenEndpoint: 'https://acme.okta.com/oauth2/default/v1/token',
      authorizationEndpoint: 'https://acme.okta.com/oauth2/default/v1/authorize',
      params: { domain: 'acme.okta.com', server: 'default' },
    });
    expect(resolveProfile('microsoft-entra').tokenEndpoint).toBe(
      'https://login.microsoftonline.com/common/oauth2/v2.0/token',
    );
    expect(
      resolveProfile('microsoft-entra', { tenant: '72f988bf-86f1-41af-91ab-2d7cd011db47' }).tokenEndpoint,
    ).toBe('https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token');
    expect(resolveProfile('keycloak', { domain: 'sso.example.com', realm: 'acme' }).tokenEndpoint).toBe(
      'https://sso.example.com/realms/acme/protocol/openid-connect/token',
    );
    expect(resolveProfile('salesforce', { domain: 'acme.my.salesforce.com' }).tokenEndpoint).toBe(
      'https://acme.my.salesforce.com/services/oauth2/token',
    );
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['a slash', { domain: 'evil.example/x' }, /--domain .* must not contain "\/"/],
    ['credentials', { domain: 'acme.okta.com@evil.example' }, /must not contain "@"/],
    ['a port', { domain: 'acme.okta.com:8443' }, /must not contain ":"/],
    ['a query', { domain: 'acme.okta.com?x=1' }, /must not contain "\?"/],
    ['a fragment', { domain: 'acme.okta.com#x' }, /must not contain "#"/],
    ['percent-escapes', { domain: 'evil.example%2fx' }, /must not contain "%"/],
    ['a backslash', { domain: 'evil.example\\x' }, /must not contain "\\"/],
    ['white space', { domain: 'acme okta.com' }, /white space/],
    ['an IP address', { domain: '169.254.169.254' }, /not an IP address/],
    ['a single label', { domain: 'localhost' }, /DNS host name/],
    ['a path traversal in a segment', { domain: 'acme.okta.com', server: '..' }, /must not contain "\.\."/],
  ])('refuses a placeholder value with %s', (_, params, message) => {
    expect(() => resolveProfile('okta', params)).toThrow(message);
  });

  it('refuses a traversal in a realm or tenant, and a host outside the provider', () => {
    expect(() => resolveProfile('keycloak', { domain: 'sso.example.com', realm: '../admin' })).toThrow(
      ProfileError,
    );
    expect(() => resolveProfile('microsoft-entra', { tenant: 'a/../b' })).toThrow(/--tenant/);
    expect(() => resolveProfile('salesforce', { domain: 'evil.example' })).toThrow(/under salesforce\.com/);
    expect(() => resolveProfile('salesforce', { domain: 'acme.lightning.force.com' })).toThrow(
      /not be a host under lightning\.force\.com/,
    );
  });

  it('names a missing placeholder, an unknown one and an unknown profile', () => {
    expect(() => resolveProfile('okta')).toThrow(/provider "okta" needs --domain: .*acme\.okta\.com/);
    expect(() => resolveProfile('xero', { tenant: 'x' })).toThrow(/takes no --tenant/);
    expect(() => resolveProfile('nope')).toThrow(/no provider profile "nope" \(known: askara, /);
  });

  it('adds the offline-access scope once', () => {
    expect(withScope('openid', 'offline_access', ' ')).toBe('openid offline_access');
    expect(withScope('openid offline_access', 'offline_access', ' ')).toBe('openid offline_access');
    expect(withScope('a,b', undefined, ',')).toBe('a,b');
    expect(resolveProfile('salesforce').defaultScope).toBe('api refresh_token');
  });
});

describe('provider profiles: loading refuses bad data', () => {
  const base = () => structuredClone(PROFILES.get('okta')) as Record<string, unknown>;
  const load = (profile: Record<string, unknown>, name = 'test') => {
    const { name: _, ...data } = profile;
    return loadProfiles({ [name]: data });
  };

  it('accepts a copy of a shipped profile', () => {
    expect(load(base()).get('test')?.displayName).toContain('Okta');
  });

  it('refuses an undeclared placeholder, a template that is no endpoint and an unknown field', () => {
    const undeclared = base();
    (undeclared.endpoints as Record<string, string>).token = 'https://{domain}/{tenant}/token';
    expect(() => load(undeclared)).toThrow(/uses \{tenant\}, which it does not declare/);

    const credentials = base();
    (credentials.endpoints as Record<string, string>).token = 'https://user:pw@{domain}/token';
    expect(() => load(credentials)).toThrow(/credentials/);

    expect(() => load({ ...base(), extra: true })).toThrow(/invalid/);
    expect(() => load(base(), 'Not_Kebab')).toThrow(/kebab-case/);
    expect(() => load({ ...base(), sources: ['http://example.com'] })).toThrow(/sources/);
  });
});

describe('docs/providers.md', () => {
  it('has one row per profile, citing its sources', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../../../docs/providers.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## The profiles'));
    const rows = section.split('\n').filter((line) => /^\| `[a-z0-9-]+` +\|/.test(line));
    expect(rows.map((row) => /^\| `([a-z0-9-]+)`/.exec(row)?.[1]).sort()).toEqual(
      [...PROFILES.keys()].sort(),
    );
    for (const profile of PROFILES.values()) {
      const row = rows.find((line) => line.startsWith(`| \`${profile.name}\` `))!;
      for (const source of profile.sources) expect(row, profile.name).toContain(`(${source})`);
      expect(row).toContain(profile.rotation.model);
    }
  });
});
