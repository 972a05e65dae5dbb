import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROFILES, type ProviderProfile, resolveProfile } from '../../lambda/providers/profiles.js';
import {
  type ProviderReplay,
  REPLAY_PROVIDERS,
  type ReplayProfileName,
  startProviderReplay,
} from '../../sandbox/provider-replay/replay-server.js';

/**
 * The provider replay server (sandbox/provider-replay/) on its own: it answers as each
 * profile's provider does, and each profile, sent the way it says, is understood by it.
 * The two are written apart (the replay from the providers' documentation, the profile
 * too), so where they disagree, one of them is wrong.
 */

interface Answer {
  status: number;
  contentType: string;
  body: Record<string, unknown>;
  headers: Headers;
}

/** A token request as the profile says its provider wants it (dialect and client authentication). */
async function tokenRequest(
  replay: ProviderReplay,
  profile: ReplayProfileName,
  params: Record<string, string>,
  options: { accept?: string; clientAuth?: 'client_secret_basic' | 'client_secret_post' } = {},
): Promise<Answer> {
  const spec = PROFILES.get(profile)!;
  const client = replay.client(profile);
  const clientAuth = options.clientAuth ?? spec.clientAuth;
  const fields: Record<string, string> = { ...params };
  const headers: Record<string, string> = { accept: options.accept ?? 'application/json' };
  if (clientAuth === 'client_secret_basic') {
    const encode = (value: string) => encodeURIComponent(value);
    headers.authorization = `Basic ${Buffer.from(`${encode(client.clientId)}:${encode(client.clientSecret)}`).toString('base64')}`;
  } else {
    fields.client_id = client.clientId;
    fields.client_secret = client.clientSecret;
  }
  const json = spec.dialect === 'json';
  headers['content-type'] = json ? 'application/json' : 'application/x-www-form-urlencoded';
  const response = await fetch(replay.tokenEndpoint(profile), {
    method: 'POST',
    headers,
    body: json ? JSON.stringify(fields) : new URLSearchParams(fields).toString(),
  });
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  const body = contentType.includes('json')
    ? (JSON.parse(text) as Record<string, unknown>)
    : Object.fromEntries(new URLSearchParams(text));
  return { status: response.status, contentType, body, headers: response.headers };
}

const refresh = (
  replay: ProviderReplay,
  profile: ReplayProfileName,
  refreshToken: string,
  options: { scope?: string; accept?: string } = {},
) =>
  tokenRequest(
    replay,
    profile,
    {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      ...(options.scope ? { scope: options.scope } : {}),
    },
    options,
  );

/** The error code of a body where the profile says it lives. */
const codeOf = (profile: ProviderProfile, body: Record<string, unknown>) =>
  profile.errors.codeFields.map((field) => body[field]).find((value) => typeof value === 'string');

const profiles = [...PROFILES.values()] as (ProviderProfile & { name: ReplayProfileName })[];

describe('provider replay: one provider per profile, agreeing with it', () => {
  let replay: ProviderReplay;
  let clock = Date.now();

  beforeAll(async () => {
    replay = await startProviderReplay({ now: () => clock });
  });
  afterAll(async () => {
    await replay?.stop();
  });
  beforeEach(() => {
    clock = Date.now();
    replay.resetCounters();
  });

  it('replays every profile, and nothing else', () => {
    expect(Object.keys(REPLAY_PROVIDERS).sort()).toEqual([...PROFILES.keys()].sort());
  });

  it.each(profiles)(
    '$name: refreshes as the profile says, with the body the profile expects',
    async (profile) => {
      const resolved = resolveProfile(
        profile.name,
        Object.fromEntries(
          Object.entries(profile.params ?? {}).map(([param, spec]) => [param, spec.example]),
        ),
      );
      const { refreshToken } = replay.grant(profile.name, { scope: resolved.defaultScope ?? 'read' });
      const answer = await refresh(replay, profile.name, refreshToken);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      const body = answer.body;
      expect(typeof body.access_token).toBe('string');
      const accepted = resolved.behaviour.response.acceptedTokenTypes?.map((type) => type.toLowerCase());
      if (accepted) expect(accepted).toContain(String(body.token_type).toLowerCase());
      if (resolved.behaviour.response.defaultExpiresInSeconds === undefined)
        expect(body.expires_in).toBeTypeOf('number');
      else expect(body).not.toHaveProperty('expires_in');
      const field = resolved.behaviour.response.refreshTokenExpiresInField;
      // Google sends its field only for time-based access (a documented answer of its own).
      if (field && profile.name !== 'google') expect(body[field]).toBeTypeOf('number');
      for (const kept of resolved.behaviour.response.keepFields ?? []) {
        if (profile.name !== 'dropbox') expect(body[kept], kept).toBeTypeOf('string');
      }
      const rotated = typeof body.refresh_token === 'string' && body.refresh_token !== refreshToken;
      expect(rotated).toBe(
        profile.rotation.model === 'rotating' || profile.name === 'okta' || profile.name === 'auth0',
      );
      if (profile.rotation.model === 'static') expect(body.refresh_token ?? refreshToken).toBe(refreshToken);
      expect(replay.calls(profile.name)).toBe(1);
      expect(replay.callsWith(refreshToken)).toBe(1);
    },
  );

  it.each(profiles)('$name: a dead refresh token is answered as the profile expects it', async (profile) => {
    const answer = await refresh(replay, profile.name, `${profile.name}-rt-never-issued`);
    const statuses = profile.errors.deadTokenStatuses ?? (profile.errors.in2xx ? [200] : [400]);
    expect(statuses).toContain(answer.status);
    expect(profile.errors.in2xx).toBe(answer.status === 200);
    const code = codeOf(profile, answer.body);
    expect(code, JSON.stringify(answer.body)).toBeDefined();
    expect(
      resolveProfile(
        profile.name,
        Object.fromEntries(
          Object.entries(profile.params ?? {}).map(([param, spec]) => [param, spec.example]),
        ),
      ).behaviour.errors.deadTokenCodes,
    ).toContain(code);
  });

  it.each(profiles)(
    '$name: a client authenticated otherwise than the provider accepts is refused',
    async (profile) => {
      const accepted: readonly string[] = REPLAY_PROVIDERS[profile.name].clientAuth;
      expect(accepted).toContain(profile.clientAuth === 'client_secret_basic' ? 'basic' : 'post');
      if (accepted.length > 1) return;
      const other = accepted.includes('basic') ? 'client_secret_post' : 'client_secret_basic';
      const { refreshToken } = replay.grant(profile.name);
      const answer = await tokenRequest(
        replay,
        profile.name,
        { grant_type: 'refresh_token', refresh_token: refreshToken },
        { clientAuth: other },
      );
      expect(answer.body).not.toHaveProperty('access_token');
      expect(codeOf(profile, answer.body), JSON.stringify(answer.body)).toBeDefined();
      expect(replay.callsWith(refreshToken)).toBe(1);
    },
  );
});

describe('provider replay: rotation, reuse windows, lifetimes', () => {
  let replay: ProviderReplay;
  let clock = Date.UTC(2026, 0, 1);

  beforeAll(async () => {
    replay = await startProviderReplay({ now: () => clock });
  });
  afterAll(async () => {
    await replay?.stop();
  });

  it('Xero: the replaced refresh token stays usable for 30 minutes, then dies', async () => {
    const { refreshToken: first } = replay.grant('xero', { scope: 'offline_access accounting.transactions' });
    const second = (await refresh(replay, 'xero', first)).body.refresh_token as string;
    expect(second).not.toBe(first);
    clock += 29 * 60_000;
    expect((await refresh(replay, 'xero', first)).status).toBe(200);
    clock += 2 * 60_000;
    const late = await refresh(replay, 'xero', first);
    expect(late).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(replay.callsWith(first)).toBe(3);
  });

  it('Box and Slack: a used refresh token is dead at once (no window)', async () => {
    for (const profile of ['box', 'slack'] as const) {
      const { refreshToken } = replay.grant(profile);
      expect((await refresh(replay, profile, refreshToken)).status).toBe(200);
      const again = await refresh(replay, profile, refreshToken);
      expect(codeOf(PROFILES.get(profile)!, again.body)).toMatch(/invalid_grant|invalid_refresh_token/);
    }
  });

  it('Atlassian: a reuse after the 10-minute interval revokes the whole grant (reuse detection)', async () => {
    const { refreshToken: first } = replay.grant('atlassian', { scope: 'offline_access read:jira-work' });
    const second = (await refresh(replay, 'atlassian', first)).body.refresh_token as string;
    clock += 11 * 60_000;
    expect((await refresh(replay, 'atlassian', first)).status).toBe(403);
    expect(replay.currentRefreshToken(first)).toBeUndefined();
    expect(await refresh(replay, 'atlassian', second)).toMatchObject({
      status: 403,
      body: { error: 'invalid_grant' },
    });
  });

  it('GitHub: refresh tokens die 6 months after they are issued, and say so', async () => {
    const { refreshToken } = replay.grant('github-app');
    const answer = await refresh(replay, 'github-app', refreshToken);
    expect(answer.body.refresh_token_expires_in).toBe(15_811_200);
    clock += 184 * 86_400_000;
    expect((await refresh(replay, 'github-app', answer.body.refresh_token as string)).body.error).toBe(
      'bad_refresh_token',
    );
  });

  it('Spotify: no new refresh token by default; the grant dies 6 months after the authorization', async () => {
    const { refreshToken } = replay.grant('spotify');
    expect((await refresh(replay, 'spotify', refreshToken)).body).not.toHaveProperty('refresh_token');
    clock += 181 * 86_400_000;
    expect((await refresh(replay, 'spotify', refreshToken)).body.error).toBe('invalid_grant');
  });

  it('static providers keep the refresh token: HubSpot echoes it, Google omits it', async () => {
    const hubspot = replay.grant('hubspot').refreshToken;
    expect((await refresh(replay, 'hubspot', hubspot)).body.refresh_token).toBe(hubspot);
    expect((await refresh(replay, 'hubspot', hubspot)).status).toBe(200);
    const google = replay.grant('google', { scope: 'openid' }).refreshToken;
    expect((await refresh(replay, 'google', google)).body).not.toHaveProperty('refresh_token');
    expect((await refresh(replay, 'google', google)).status).toBe(200);
  });

  it('a revoked grant is a dead token', async () => {
    const { refreshToken } = replay.grant('dropbox');
    replay.revoke(refreshToken);
    expect((await refresh(replay, 'dropbox', refreshToken)).body.error).toBe('invalid_grant');
  });
});

describe('provider replay: provider quirks and scripted answers', () => {
  let replay: ProviderReplay;

  beforeAll(async () => {
    replay = await startProviderReplay({ rotation: { salesforce: 'rotate' } });
  });
  afterAll(async () => {
    await replay?.stop();
  });
  beforeEach(() => replay.resetCounters());

  it('Salesforce: no expires_in, instance_url and the rest; a rotated refresh token only when rotation is on', async () => {
    const { refreshToken } = replay.grant('salesforce', { scope: 'api refresh_token' });
    const answer = await refresh(replay, 'salesforce', refreshToken);
    expect(answer.body).toMatchObject({
      token_type: 'Bearer',
      instance_url: expect.stringMatching(/^https:/),
    });
    expect(answer.body).not.toHaveProperty('expires_in');
    expect(answer.body.refresh_token).not.toBe(refreshToken);
  });

  it('Slack: token_type bot, and a documented user-token answer with token_type user', async () => {
    const { refreshToken } = replay.grant('slack', { scope: 'chat:write,channels:read' });
    expect((await refresh(replay, 'slack', refreshToken)).body).toMatchObject({
      ok: true,
      token_type: 'bot',
    });
    replay.next('slack', 'user_token_success', 'rate_limited');
    expect((await refresh(replay, 'slack', refreshToken)).body).toMatchObject({ token_type: 'user' });
    const limited = await refresh(replay, 'slack', refreshToken);
    expect(limited).toMatchObject({ status: 429, body: { ok: false, error: 'ratelimited' } });
    expect(limited.headers.get('retry-after')).toBe('30');
  });

  it('GitHub: JSON when asked for, form-encoded otherwise; a scripted form-encoded error', async () => {
    const dead = 'github-app-rt-unknown';
    const asJson = await refresh(replay, 'github-app', dead);
    expect(asJson).toMatchObject({ status: 200, body: { error: 'bad_refresh_token' } });
    expect(asJson.contentType).toContain('application/json');
    const asForm = await refresh(replay, 'github-app', dead, { accept: '*/*' });
    expect(asForm.contentType).toContain('application/x-www-form-urlencoded');
    expect(asForm.body.error).toBe('bad_refresh_token');
    replay.next('github-app', 'dead_token_form');
    const forced = await refresh(replay, 'github-app', dead);
    expect(forced.contentType).toContain('application/x-www-form-urlencoded');
    expect(forced.body.error).toBe('bad_refresh_token');
  });

  it('HubSpot: the error code is in status; Entra: the scope of one resource only', async () => {
    const hubspot = await refresh(replay, 'hubspot', 'hubspot-rt-unknown');
    expect(hubspot.body).toMatchObject({ status: 'BAD_REFRESH_TOKEN' });
    expect(hubspot.body).not.toHaveProperty('error');
    const scope = 'https://graph.microsoft.com/User.Read https://outlook.office.com/Mail.Read offline_access';
    const { refreshToken } = replay.grant('microsoft-entra', { scope });
    const entra = await refresh(replay, 'microsoft-entra', refreshToken, { scope });
    expect(entra.body.scope).toBe('https://graph.microsoft.com/User.Read');
  });

  it('Keycloak: 5-minute tokens; refresh_expires_in 0 for an offline token', async () => {
    const online = replay.grant('keycloak', { scope: 'openid' }).refreshToken;
    expect((await refresh(replay, 'keycloak', online)).body).toMatchObject({
      expires_in: 300,
      refresh_expires_in: 1800,
    });
    const offline = replay.grant('keycloak', { scope: 'openid offline_access' }).refreshToken;
    expect((await refresh(replay, 'keycloak', offline)).body).toMatchObject({ refresh_expires_in: 0 });
  });

  it('Okta: a rate limit with X-Rate-Limit-Reset and no Retry-After', async () => {
    replay.next('okta', 'rate_limited');
    const answer = await refresh(replay, 'okta', 'okta-rt-x');
    expect(answer.status).toBe(429);
    expect(answer.headers.get('retry-after')).toBeNull();
    expect(Number(answer.headers.get('x-rate-limit-reset'))).toBeGreaterThan(Date.now() / 1000);
  });

  it('a lost answer: processed (rotated) at the provider, the connection dropped', async () => {
    const { refreshToken } = replay.grant('box');
    replay.next('box', 'lost');
    await expect(refresh(replay, 'box', refreshToken)).rejects.toThrow();
    expect(replay.currentRefreshToken(refreshToken)).not.toBe(refreshToken);
    expect((await refresh(replay, 'box', refreshToken)).body.error).toBe('invalid_grant');
    expect(replay.requests('box').map((request) => request.status)).toEqual([0, 400]);
  });

  it('scripted answers: by name (documented or generic), raw, no access token; unknown names refused at once', async () => {
    const { refreshToken } = replay.grant('zoom');
    replay.next('zoom', 'unavailable', { status: 418, body: 'teapot' }, 'no_access_token', 'success');
    const unavailable = await refresh(replay, 'zoom', refreshToken);
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get('retry-after')).toBe('120');
    expect((await fetch(replay.tokenEndpoint('zoom'), { method: 'POST' })).status).toBe(418);
    const noAccess = await refresh(replay, 'zoom', refreshToken);
    expect(noAccess.body).not.toHaveProperty('access_token');
    expect(typeof noAccess.body.refresh_token).toBe('string');
    expect((await refresh(replay, 'zoom', noAccess.body.refresh_token as string)).status).toBe(200);
    expect(replay.calls('zoom')).toBe(4);
    expect(() => replay.next('zoom', 'no_such_answer')).toThrow(/has no answer "no_such_answer"/);
  });

  it('scripted after processing: the refresh rotates, the answer is what the script makes of the success', async () => {
    const { refreshToken } = replay.grant('box');
    replay.next('box', (_success, set) => ({
      status: 200,
      headers: { 'content-type': 'text/html' },
      body: `<html>maintenance ${set.firstSet}</html>`,
    }));
    const garbled = await refresh(replay, 'box', refreshToken);
    expect(garbled.status).toBe(200);
    expect(garbled.contentType).toBe('text/html');
    expect(Object.keys(garbled.body)).toEqual(['<html>maintenance false</html>']);
    // Processed: the token rotated, so the one presented is now dead.
    const rotated = replay.currentRefreshToken(refreshToken);
    expect(rotated).not.toBe(refreshToken);
    expect((await refresh(replay, 'box', refreshToken)).body.error).toBe('invalid_grant');

    replay.next('box', (success) => ({
      ...success,
      body: { ...(success.body as object), token_type: 'mac' },
    }));
    const retyped = await refresh(replay, 'box', rotated!);
    expect(retyped.body).toMatchObject({
      token_type: 'mac',
      refresh_token: replay.currentRefreshToken(rotated!),
    });
  });

  it('clearNext forgets the answers not given yet, and keeps the counters', async () => {
    const { refreshToken } = replay.grant('spotify');
    replay.next('spotify', 'unavailable', 'unavailable', 'unavailable');
    expect((await refresh(replay, 'spotify', refreshToken)).status).toBe(503);
    replay.clearNext('spotify');
    expect((await refresh(replay, 'spotify', refreshToken)).status).toBe(200);
    expect(replay.calls('spotify')).toBe(2);
  });

  it('the authorization code exchange: the first token set, once per code', async () => {
    const code = replay.authorizationCode('dropbox', { scope: 'files.content.read' });
    const first = await tokenRequest(replay, 'dropbox', {
      grant_type: 'authorization_code',
      code,
      code_verifier: 'v',
      redirect_uri: 'http://127.0.0.1/cb',
    });
    expect(first.body).toMatchObject({ token_type: 'bearer', account_id: expect.any(String) });
    expect(typeof first.body.refresh_token).toBe('string');
    const again = await tokenRequest(replay, 'dropbox', { grant_type: 'authorization_code', code });
    expect(again.body.error).toBe('invalid_grant');
  });
});
