import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClientAuthMethod } from '../../lambda/core/ports.js';
import { basicAuthorization } from '../../sandbox/auth-server/json-dialect.js';
import {
  type AuthServer,
  type AuthServerClient,
  DEFAULT_SCOPE,
  startAuthServer,
} from '../../sandbox/auth-server.js';

// Token values never appear in assertions' messages: bodies are reduced to their shape
// and presented tokens to names before they are compared.

type Dialect = 'form' | 'json';

interface TokenAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

/** A refresh_token grant, encoded the way `dialect` wants and authenticated the way the client is registered. */
async function refresh(
  server: AuthServer,
  dialect: Dialect,
  client: AuthServerClient,
  refreshToken: string,
  init: { signal?: AbortSignal } = {},
): Promise<TokenAnswer> {
  const headers: Record<string, string> = { accept: 'application/json' };
  let body: string;
  if (dialect === 'json') {
    headers['content-type'] = 'application/json';
    body = JSON.stringify({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: client.clientId,
      client_secret: client.clientSecret,
    });
  } else {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken });
    if (client.authMethod === 'client_secret_basic') {
      headers.authorization = basicAuthorization(client.clientId, client.clientSecret);
    } else {
      form.set('client_id', client.clientId);
      form.set('client_secret', client.clientSecret);
    }
    body = form.toString();
  }
  const url = dialect === 'json' ? server.jsonTokenEndpoint : server.tokenEndpoint;
  const response = await fetch(url, { method: 'POST', headers, body, signal: init.signal });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not JSON (an injected fault); `text` holds it.
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

/** A token response with every token value replaced by whether it is present. */
function shape(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body };
  for (const key of ['access_token', 'refresh_token', 'id_token']) {
    if (key in out) out[key] = typeof out[key] === 'string' && out[key] !== '' ? 'present' : 'invalid';
  }
  return out;
}

/** Maps token values to names, so sequences of tokens can be compared without printing them. */
function namer(tokens: Record<string, string>): (value: string) => string {
  const byValue = new Map(Object.entries(tokens).map(([name, value]) => [value, name]));
  return (value) => byValue.get(value) ?? 'unknown';
}

function tokenOf(answer: TokenAnswer, key: 'access_token' | 'refresh_token'): string {
  const value = answer.body[key];
  if (typeof value !== 'string') throw new Error(`answer (HTTP ${answer.status}) has no ${key}`);
  return value;
}

const METHODS: ClientAuthMethod[] = ['client_secret_post', 'client_secret_basic'];
const CASES = METHODS.flatMap((method) =>
  (['form', 'json'] as const).map((dialect) => ({ method, dialect })),
);

describe('auth server fixture', () => {
  let server: AuthServer;

  beforeAll(async () => {
    server = await startAuthServer();
  });
  afterAll(async () => {
    await server.stop();
  });
  afterEach(() => {
    server.clearFaults();
  });

  it('registers one client per authentication method, with strong secrets', () => {
    expect(server.clients.map((c) => [c.clientId, c.authMethod])).toEqual([
      ['test-client', 'client_secret_post'],
      ['test-client-basic', 'client_secret_basic'],
    ]);
    for (const client of server.clients) expect(client.clientSecret.length).toBeGreaterThanOrEqual(43);
    expect(server.tokenEndpoint).toBe(`${server.issuer}/token`);
  });

  describe.each(CASES)('$dialect endpoint, $method', ({ method, dialect }) => {
    it('refreshes a minted token and rotates it', async () => {
      const client = server.client(method);
      const original = await server.mintRefreshToken({ clientId: client.clientId });

      const first = await refresh(server, dialect, client, original);
      expect(first.status).toBe(200);
      expect(first.headers.get('content-type')).toMatch(/^application\/json/);
      expect(first.headers.get('cache-control')).toBe('no-store');
      expect(shape(first.body)).toEqual({
        access_token: 'present',
        refresh_token: 'present',
        id_token: 'present',
        token_type: 'Bearer',
        expires_in: 60,
        scope: DEFAULT_SCOPE,
      });
      const successor = tokenOf(first, 'refresh_token');
      expect(successor !== original, 'the successor differs from the original').toBe(true);

      const second = await refresh(server, dialect, client, successor);
      expect(second.status).toBe(200);
      expect(tokenOf(second, 'refresh_token') !== successor, 'the successor rotates too').toBe(true);
    });

    it('answers invalid_grant to a reused token and revokes its whole family', async () => {
      const client = server.client(method);
      const original = await server.mintRefreshToken({ clientId: client.clientId });
      const first = await refresh(server, dialect, client, original);
      const successor = tokenOf(first, 'refresh_token');
      const accessToken = tokenOf(first, 'access_token');
      expect((await server.introspect(accessToken)).active).toBe(true);

      const reuse = await refresh(server, dialect, client, original);
      expect(reuse.status).toBe(400);
      expect(reuse.body.error).toBe('invalid_grant');

      const afterReuse = await refresh(server, dialect, client, successor);
      expect(afterReuse.status).toBe(400);
      expect(afterReuse.body.error).toBe('invalid_grant');
      expect((await server.introspect(accessToken)).active).toBe(false);
    });
  });

  it.each([
    ['client_secret_basic', 'client_secret_post'],
    ['client_secret_post', 'client_secret_basic'],
  ] as const)('refuses a %s client authenticating with %s', async (registered, used) => {
    const client = server.client(registered);
    const token = await server.mintRefreshToken({ clientId: client.clientId });
    const answer = await refresh(server, 'form', { ...client, authMethod: used }, token);
    expect([answer.status, answer.body.error]).toEqual([401, 'invalid_client']);
    expect(answer.headers.get('www-authenticate') !== null).toBe(used === 'client_secret_basic');

    const [presented] = server.presentedRefreshTokens().filter((p) => p.refreshToken === token);
    expect([presented?.status, presented?.forwarded]).toEqual([401, false]);
    expect((await server.introspect(token)).active, 'a refused request does not consume the token').toBe(
      true,
    );
  });

  it('honours a Basic header sent to the JSON endpoint', async () => {
    const client = server.client('client_secret_basic');
    const token = await server.mintRefreshToken({ clientId: client.clientId });
    const response = await fetch(server.jsonTokenEndpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: basicAuthorization(client.clientId, client.clientSecret),
      },
      body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: token }),
    });
    expect(response.status).toBe(200);
    expect(shape((await response.json()) as Record<string, unknown>)).toMatchObject({
      refresh_token: 'present',
    });
  });

  it('relays the provider error answer of the JSON endpoint unchanged', async () => {
    const client = server.client('client_secret_post');
    const wrongSecret = { ...client, clientSecret: 'not-the-secret' };
    const token = await server.mintRefreshToken({ clientId: client.clientId });
    const json = await refresh(server, 'json', wrongSecret, token);
    const form = await refresh(server, 'form', wrongSecret, token);
    expect(json.status).toBe(form.status);
    expect(json.body).toEqual(form.body);
    expect(json.headers.get('www-authenticate')).toBe(form.headers.get('www-authenticate'));
    expect(json.headers.get('cache-control')).toBe('no-store');
  });

  it('answers invalid_request to a JSON endpoint request that is not JSON', async () => {
    const response = await fetch(server.jsonTokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=refresh_token',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('records presentations in order, and which tokens were reused', async () => {
    const client = server.client('client_secret_post');
    const original = await server.mintRefreshToken({ clientId: client.clientId });
    const before = server.presentedRefreshTokens().length;
    const startedAt = Date.now();

    const successor = tokenOf(await refresh(server, 'form', client, original), 'refresh_token');
    await refresh(server, 'json', client, original);
    const name = namer({ original, successor });

    const presented = server.presentedRefreshTokens().slice(before);
    expect(presented.map((p) => [name(p.refreshToken), p.endpoint, p.status, p.forwarded])).toEqual([
      ['original', 'form', 200, true],
      ['original', 'json', 400, true],
    ]);
    for (const p of presented) expect(p.at).toBeGreaterThanOrEqual(startedAt);

    const reused = server.reusedRefreshTokens().filter((r) => r.refreshToken === original);
    expect(
      reused.map((r) => [name(r.refreshToken), r.presentations.length, r.replayedAfterConsumption]),
    ).toEqual([['original', 2, true]]);
  });

  it('keeps dormant and consumed tokens however many others are issued (no LRU eviction)', async () => {
    const client = server.client('client_secret_post');
    const dormant = await server.mintRefreshToken({ clientId: client.clientId });
    const consumed = await server.mintRefreshToken({ clientId: client.clientId });
    const successor = tokenOf(await refresh(server, 'form', client, consumed), 'refresh_token');
    for (let i = 0; i < 1_500; i += 1) await server.mintRefreshToken({ clientId: client.clientId });

    expect((await refresh(server, 'form', client, dormant)).status).toBe(200);
    expect((await refresh(server, 'form', client, consumed)).body.error).toBe('invalid_grant');
    expect((await server.introspect(successor)).active, 'the replay revoked the family').toBe(false);
  });

  it('revokes a grant on demand, as a user revoking access would', async () => {
    const client = server.client('client_secret_post');
    const original = await server.mintRefreshToken({ clientId: client.clientId });
    const first = await refresh(server, 'form', client, original);

    expect(await server.revokeGrantOf(tokenOf(first, 'refresh_token'))).toBe(true);
    const after = await refresh(server, 'form', client, tokenOf(first, 'refresh_token'));
    expect(after.body.error).toBe('invalid_grant');
    expect((await server.introspect(tokenOf(first, 'access_token'))).active).toBe(false);
    expect(await server.revokeGrantOf('no-such-token')).toBe(false);
  });

  it('revokes a single access token, leaving the refresh token usable', async () => {
    const client = server.client('client_secret_basic');
    const first = await refresh(
      server,
      'form',
      client,
      await server.mintRefreshToken({ clientId: client.clientId }),
    );
    const accessToken = tokenOf(first, 'access_token');

    expect(await server.revokeAccessToken(accessToken)).toBe(true);
    expect((await server.introspect(accessToken)).active).toBe(false);
    expect((await refresh(server, 'form', client, tokenOf(first, 'refresh_token'))).status).toBe(200);
  });

  describe('fault injection', () => {
    it('status: answers without forwarding, so the token survives', async () => {
      const client = server.client('client_secret_post');
      const token = await server.mintRefreshToken({ clientId: client.clientId });
      server.injectFault({ kind: 'status', status: 503, retryAfter: '7', count: 2 });

      const first = await refresh(server, 'form', client, token);
      const second = await refresh(server, 'json', client, token);
      expect([first.status, second.status]).toEqual([503, 503]);
      expect(first.headers.get('retry-after')).toBe('7');
      expect(second.headers.get('retry-after')).toBe('7');

      const third = await refresh(server, 'form', client, token);
      expect(third.status, 'the fault only hits the next two requests').toBe(200);

      const mine = server.presentedRefreshTokens().filter((p) => p.refreshToken === token);
      expect(mine.map((p) => [p.status, p.forwarded, p.fault])).toEqual([
        [503, false, 'status'],
        [503, false, 'status'],
        [200, true, undefined],
      ]);
      const [reused] = server.reusedRefreshTokens().filter((r) => r.refreshToken === token);
      expect(reused?.replayedAfterConsumption, 'retries after un-forwarded faults are not replays').toBe(
        false,
      );
    });

    it('status: custom body and content type, e.g. a 429 with JSON', async () => {
      const client = server.client('client_secret_basic');
      const token = await server.mintRefreshToken({ clientId: client.clientId });
      server.injectFault({
        kind: 'status',
        status: 429,
        body: '{"error":"slow_down"}',
        contentType: 'application/json',
      });
      const answer = await refresh(server, 'json', client, token);
      expect(answer.status).toBe(429);
      expect(answer.headers.get('content-type')).toBe('application/json');
      expect(answer.body).toEqual({ error: 'slow_down' });
      expect(answer.headers.get('retry-after')).toBeNull();
    });

    it('raw: returns an arbitrary body without forwarding', async () => {
      const client = server.client('client_secret_post');
      const token = await server.mintRefreshToken({ clientId: client.clientId });
      server.injectFault({
        kind: 'raw',
        status: 200,
        body: '<html>maintenance</html>',
        contentType: 'text/html',
      });
      server.injectFault({
        kind: 'raw',
        status: 200,
        body: '{"token_type":"Bearer"}',
        contentType: 'application/json',
      });

      const html = await refresh(server, 'form', client, token);
      expect([html.status, html.headers.get('content-type'), html.text]).toEqual([
        200,
        'text/html',
        '<html>maintenance</html>',
      ]);
      const noAccessToken = await refresh(server, 'json', client, token);
      expect([noAccessToken.status, noAccessToken.body]).toEqual([200, { token_type: 'Bearer' }]);

      expect((await refresh(server, 'form', client, token)).status, 'the token was not consumed').toBe(200);
    });

    it.each(['form', 'json'] as const)(
      'drop-after-processing (%s): the provider rotates, the answer is lost',
      async (dialect) => {
        const client = server.client('client_secret_basic');
        const token = await server.mintRefreshToken({ clientId: client.clientId });
        server.injectFault({ kind: 'drop-after-processing', count: 1 });

        await expect(refresh(server, dialect, client, token)).rejects.toThrow(TypeError);
        const [dropped] = server.presentedRefreshTokens().filter((p) => p.refreshToken === token);
        expect([dropped?.status, dropped?.forwarded, dropped?.fault]).toEqual([
          200,
          true,
          'drop-after-processing',
        ]);

        const retry = await refresh(server, dialect, client, token);
        expect(retry.body.error, 'the token was consumed by the lost exchange').toBe('invalid_grant');
        const [reused] = server.reusedRefreshTokens().filter((r) => r.refreshToken === token);
        expect(reused?.replayedAfterConsumption).toBe(true);
      },
    );

    it('delay: holds the answer after the provider processed the request', async () => {
      const client = server.client('client_secret_post');
      const token = await server.mintRefreshToken({ clientId: client.clientId });
      server.injectFault({ kind: 'delay', ms: 300, count: 2 });

      const startedAt = Date.now();
      const slow = await refresh(server, 'json', client, token);
      expect(slow.status).toBe(200);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(290);

      // A caller that gives up before the answer arrives has still had its token rotated.
      const successor = tokenOf(slow, 'refresh_token');
      await expect(
        refresh(server, 'form', client, successor, { signal: AbortSignal.timeout(50) }),
      ).rejects.toThrow();
      await sleep(300);
      const [timedOut] = server.presentedRefreshTokens().filter((p) => p.refreshToken === successor);
      expect([timedOut?.status, timedOut?.forwarded, timedOut?.fault]).toEqual([200, true, 'delay']);
      expect((await refresh(server, 'form', client, successor)).body.error).toBe('invalid_grant');
    });

    it('queues faults in order and clears them on demand', async () => {
      const client = server.client('client_secret_post');
      const token = await server.mintRefreshToken({ clientId: client.clientId });
      server.injectFault({ kind: 'status', status: 500 });
      server.injectFault({ kind: 'status', status: 429, retryAfter: '1' });
      server.injectFault({ kind: 'status', status: 503 });

      expect((await refresh(server, 'form', client, token)).status).toBe(500);
      expect((await refresh(server, 'form', client, token)).status).toBe(429);
      server.clearFaults();
      expect((await refresh(server, 'form', client, token)).status).toBe(200);
    });
  });
});

describe('auth server fixture with lenient client authentication', () => {
  it('accepts either secret method, as bare oidc-provider does', async () => {
    const server = await startAuthServer({ lenientClientAuthMethod: true });
    try {
      const client = server.client('client_secret_basic');
      const token = await server.mintRefreshToken({ clientId: client.clientId });
      const answer = await refresh(server, 'form', { ...client, authMethod: 'client_secret_post' }, token);
      expect(answer.status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});

describe('auth server fixture with a short access-token TTL', () => {
  let server: AuthServer;

  beforeAll(async () => {
    // 3 s, not 1: the token must still be live when introspected on a loaded machine.
    server = await startAuthServer({ accessTokenTtlSeconds: 3 });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('issues access tokens that introspect active, then inactive after their TTL', async () => {
    const client = server.client('client_secret_basic');
    const answer = await refresh(
      server,
      'form',
      client,
      await server.mintRefreshToken({ clientId: client.clientId }),
    );
    expect(answer.body.expires_in).toBe(3);
    const accessToken = tokenOf(answer, 'access_token');

    const live = await server.introspect(accessToken);
    expect(live).toMatchObject({
      active: true,
      client_id: client.clientId,
      sub: 'user-1',
      scope: DEFAULT_SCOPE,
    });

    // exp is whole seconds and at most 3 s after issuance; clockTolerance is 0.
    await sleep(3_100);
    expect(await server.introspect(accessToken)).toEqual({ active: false });
    expect((await refresh(server, 'form', client, tokenOf(answer, 'refresh_token'))).status).toBe(200);
  });
});
