import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { InvalidResponseCode } from '../../../lambda/adapters/http/invalid-response.js';
import {
  DEFAULT_MAX_RESPONSE_BYTES,
  HttpTokenEndpoint,
  LOCAL_ERROR,
} from '../../../lambda/adapters/http-token-endpoint.js';
import type {
  ClientAuthMethod,
  RefreshGrantRequest,
  TokenDialect,
  TokenEndpointOutcome,
} from '../../../lambda/core/ports.js';
import {
  DEFAULT_BEHAVIOUR,
  ENGINE_DEFAULT_EXPIRES_IN_SECONDS,
  type ProviderBehaviour,
} from '../../../lambda/core/provider-behaviour.js';
import { ACCEPTED_ENDPOINTS, REFUSED_ENDPOINTS } from '../../support/endpoint-urls.js';

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

/** Placed in response bodies: must never surface in an outcome. */
const SENTINEL = 'SENTINEL-b0dy-v4lue-7f3a9c2e';
const REFRESH_TOKEN = 'rt-old-4f1c9a7e2b6d8e0f3a5c7b9d1e2f4a6c';
const CLIENT_ID = 'client:id with space/ü';
const CLIENT_SECRET = "s3cr:t+&=%/ !'()*~";
/** The two parts of the Basic credentials, form-urlencoded by hand (RFC 6749 §2.3.1). */
const CLIENT_ID_ENCODED = 'client%3Aid+with+space%2F%C3%BC';
const CLIENT_SECRET_ENCODED = 's3cr%3At%2B%26%3D%25%2F+%21%27%28%29*%7E';

interface Recorded {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

interface TestServer {
  url: string;
  port: number;
  requests: Recorded[];
}

const servers: Server[] = [];

afterEach(async () => {
  const closing = servers.splice(0).map(
    (server) =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  await Promise.all(closing);
  vi.restoreAllMocks();
});

/** A plain HTTP server on 127.0.0.1:<random>, closed after the test. */
async function serve(handler: Handler): Promise<TestServer> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/oauth2/token`, port, requests };
}

/** Answers every request with `status`, `headers` and `body`. */
function answer(status: number, headers: Record<string, string>, body: string | Buffer = ''): Handler {
  return (_req, res) => {
    res.writeHead(status, headers);
    res.end(body);
  };
}

function json(status: number, value: unknown, headers: Record<string, string> = {}): Handler {
  return answer(status, { 'content-type': 'application/json', ...headers }, JSON.stringify(value));
}

/** A refresh grant; the test servers speak plain http on loopback, so the test-only switch is on. */
function grant(tokenEndpoint: string, overrides: Partial<RefreshGrantRequest> = {}): RefreshGrantRequest {
  return {
    tokenEndpoint,
    dialect: 'form',
    clientAuth: 'client_secret_post',
    credentials: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    refreshToken: REFRESH_TOKEN,
    timeoutMs: 2_000,
    allowInsecureLoopback: true,
    ...overrides,
  };
}

/** A port on 127.0.0.1 with nothing listening. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function expectNoLeak(outcome: TokenEndpointOutcome, ...values: string[]): void {
  const text = JSON.stringify(outcome);
  for (const value of values) {
    expect(text).not.toContain(value);
    // Nor a recognisable piece of it.
    expect(text).not.toContain(value.slice(0, 12));
    expect(text).not.toContain(value.slice(-12));
  }
}

const TOKENS = {
  access_token: 'at-new-1',
  token_type: 'Bearer',
  expires_in: 3600,
  refresh_token: 'rt-new-1',
  scope: 'read write',
};

const endpoint = new HttpTokenEndpoint();

// ---------------------------------------------------------------------------------------
// Wire format
// ---------------------------------------------------------------------------------------

/** application/x-www-form-urlencoded decoding of one value. */
const formDecode = (value: string) => decodeURIComponent(value.replaceAll('+', ' '));

describe('HttpTokenEndpoint request', () => {
  const cases: [TokenDialect, ClientAuthMethod][] = [
    ['form', 'client_secret_post'],
    ['form', 'client_secret_basic'],
    ['json', 'client_secret_post'],
    ['json', 'client_secret_basic'],
  ];

  it.each(cases)('%s dialect with %s sends the exact wire format', async (dialect, clientAuth) => {
    const server = await serve(json(200, TOKENS));
    const outcome = await endpoint.refresh(grant(server.url, { dialect, clientAuth, scope: 'read write' }));
    expect(outcome.kind).toBe('tokens');

    expect(server.requests).toHaveLength(1);
    const [seen] = server.requests as [Recorded];
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/oauth2/token');
    expect(seen.headers.accept).toBe('application/json');
    expect(seen.headers['user-agent']).toMatch(/^token-refresher\/\d+\.\d+\.\d+/);
    expect(seen.headers['content-type']).toBe(
      dialect === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
    );

    const fields: Record<string, unknown> =
      dialect === 'json' ? JSON.parse(seen.body) : Object.fromEntries(new URLSearchParams(seen.body));
    const expected: Record<string, string> = {
      grant_type: 'refresh_token',
      refresh_token: REFRESH_TOKEN,
      scope: 'read write',
    };
    if (clientAuth === 'client_secret_post') {
      expected.client_id = CLIENT_ID;
      expected.client_secret = CLIENT_SECRET;
      expect(seen.headers.authorization).toBeUndefined();
    } else {
      const basic = `Basic ${Buffer.from(`${CLIENT_ID_ENCODED}:${CLIENT_SECRET_ENCODED}`).toString('base64')}`;
      expect(seen.headers.authorization).toBe(basic);
      // And it decodes back to the credentials, as an RFC 6749 server would.
      const decoded = Buffer.from(basic.slice('Basic '.length), 'base64').toString('utf8');
      const [id, secret] = decoded.split(':') as [string, string];
      expect([formDecode(id), formDecode(secret)]).toEqual([CLIENT_ID, CLIENT_SECRET]);
    }
    expect(fields).toEqual(expected);
  });

  it('omits scope when the request has none', async () => {
    const server = await serve(json(200, TOKENS));
    await endpoint.refresh(grant(server.url, { dialect: 'json' }));
    expect(Object.keys(JSON.parse(server.requests[0]!.body)).sort()).toEqual([
      'client_id',
      'client_secret',
      'grant_type',
      'refresh_token',
    ]);
  });

  it('sends a configured User-Agent', async () => {
    const server = await serve(json(200, TOKENS));
    await new HttpTokenEndpoint({ userAgent: 'token-refresher/9.9.9 (test)' }).refresh(grant(server.url));
    expect(server.requests[0]!.headers['user-agent']).toBe('token-refresher/9.9.9 (test)');
  });
});

// ---------------------------------------------------------------------------------------
// Successful responses
// ---------------------------------------------------------------------------------------

describe('HttpTokenEndpoint token responses', () => {
  it('parses a rotating response', async () => {
    const server = await serve(json(200, TOKENS, { 'content-type': 'application/json; charset=utf-8' }));
    expect(await endpoint.refresh(grant(server.url))).toEqual({
      kind: 'tokens',
      tokens: {
        accessToken: 'at-new-1',
        tokenType: 'Bearer',
        expiresIn: 3600,
        refreshToken: 'rt-new-1',
        scope: 'read write',
      },
    });
  });

  it('parses a non-rotating response (no refresh_token), keeping token_type as sent and a digit-string expires_in', async () => {
    const server = await serve(json(200, { access_token: 'at-2', token_type: 'bearer', expires_in: '3600' }));
    const outcome = await endpoint.refresh(grant(server.url));
    expect(outcome).toEqual({
      kind: 'tokens',
      tokens: { accessToken: 'at-2', tokenType: 'bearer', expiresIn: 3600 },
    });
    expect(outcome.kind === 'tokens' && 'refreshToken' in outcome.tokens).toBe(false);
  });

  it('reads a null scope as absent', async () => {
    const server = await serve(json(200, { ...TOKENS, scope: null }));
    const outcome = await endpoint.refresh(grant(server.url));
    expect(outcome.kind === 'tokens' && outcome.tokens.scope).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------
// Invalid 2xx (and other) responses
// ---------------------------------------------------------------------------------------

describe('HttpTokenEndpoint invalid responses', () => {
  const jsonType = { 'content-type': 'application/json' };
  const variants: {
    name: string;
    status?: number;
    headers?: Record<string, string>;
    body: string;
    code: InvalidResponseCode;
    reason: RegExp;
  }[] = [
    {
      name: 'HTML 200',
      code: 'not_json',
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: `<html><body>${SENTINEL}</body></html>`,
      reason: /^response is not JSON \(content-type text\/html\)$/,
    },
    {
      name: 'JSON without access_token',
      code: 'missing_access_token',
      // The new refresh token comes back (for the engine to commit); the rest of the body does not.
      body: JSON.stringify({ token_type: SENTINEL, expires_in: 3600, refresh_token: 'rt-salvaged' }),
      reason: /^access_token is missing$/,
    },
    {
      name: 'empty access_token',
      code: 'bad_access_token',
      body: JSON.stringify({ ...TOKENS, access_token: '', scope: SENTINEL, refresh_token: 'rt-salvaged' }),
      reason: /^access_token must be a non-empty string$/,
    },
    {
      name: 'expires_in 0',
      code: 'bad_expires_in',
      body: JSON.stringify({ ...TOKENS, access_token: SENTINEL, expires_in: 0 }),
      reason: /^expires_in must be a positive number/,
    },
    {
      name: 'expires_in -1',
      code: 'bad_expires_in',
      body: JSON.stringify({ ...TOKENS, access_token: SENTINEL, expires_in: -1 }),
      reason: /^expires_in must be a positive number/,
    },
    {
      name: 'expires_in "abc"',
      code: 'bad_expires_in',
      body: JSON.stringify({ ...TOKENS, access_token: SENTINEL, expires_in: 'abc' }),
      reason: /^expires_in must be a positive number/,
    },
    {
      name: 'expires_in "-5"',
      code: 'bad_expires_in',
      body: JSON.stringify({ ...TOKENS, access_token: SENTINEL, expires_in: '-5' }),
      reason: /^expires_in must be a positive number/,
    },
    {
      name: 'empty refresh_token',
      code: 'bad_refresh_token',
      body: JSON.stringify({ ...TOKENS, access_token: SENTINEL, refresh_token: '' }),
      reason: /^refresh_token must be a non-empty string/,
    },
    {
      name: 'numeric refresh_token',
      code: 'bad_refresh_token',
      body: JSON.stringify({ ...TOKENS, access_token: SENTINEL, refresh_token: 42 }),
      reason: /^refresh_token must be a non-empty string/,
    },
    {
      name: 'array JSON',
      code: 'not_an_object',
      body: JSON.stringify([SENTINEL]),
      reason: /^response body is not a JSON object$/,
    },
    {
      name: 'string JSON',
      code: 'not_an_object',
      body: JSON.stringify(SENTINEL),
      reason: /^response body is not a JSON object$/,
    },
    {
      name: 'null JSON',
      code: 'not_an_object',
      body: 'null',
      reason: /^response body is not a JSON object$/,
    },
    {
      name: 'malformed JSON',
      code: 'invalid_json',
      body: `{"access_token": "${SENTINEL}", `,
      reason: /^response body is not valid JSON$/,
    },
    {
      name: '204 No Content',
      code: 'not_json',
      status: 204,
      headers: {},
      body: '',
      reason: /not JSON/,
    },
    {
      name: '400 without an OAuth error body',
      code: 'no_oauth_error',
      status: 400,
      headers: { 'content-type': 'text/html' },
      body: `<p>${SENTINEL}</p>`,
      reason: /^HTTP 400 without an OAuth error body$/,
    },
    {
      name: '404 with a JSON body lacking error',
      code: 'no_oauth_error',
      status: 404,
      body: JSON.stringify({ message: SENTINEL }),
      reason: /^HTTP 404 without an OAuth error body$/,
    },
    {
      name: '304 Not Modified',
      code: 'redirect',
      status: 304,
      headers: {},
      body: '',
      reason: /^unexpected redirect \(HTTP 304\)/,
    },
  ];

  it.each(variants)('$name → invalid_response without any part of the body', async (variant) => {
    const status = variant.status ?? 200;
    const server = await serve(answer(status, variant.headers ?? jsonType, variant.body));
    const outcome = await endpoint.refresh(grant(server.url));
    expect(outcome).toMatchObject({ kind: 'invalid_response', status, code: variant.code });
    expect(outcome.kind === 'invalid_response' && outcome.reason).toMatch(variant.reason);
    expectNoLeak(outcome, SENTINEL);
  });

  it('does not follow a redirect', async () => {
    const target = await serve(json(200, TOKENS));
    const server = await serve(answer(302, { location: `${target.url}?${SENTINEL}` }, SENTINEL));
    const outcome = await endpoint.refresh(grant(server.url));
    expect(outcome).toEqual({
      kind: 'invalid_response',
      status: 302,
      code: 'redirect',
      reason: 'unexpected redirect (HTTP 302); redirects are not followed',
    });
    expect(target.requests).toHaveLength(0);
    expectNoLeak(outcome, SENTINEL);
  });

  it('refuses a body over the default 64 KiB cap', async () => {
    const big = JSON.stringify({ ...TOKENS, access_token: SENTINEL.repeat(3000) });
    expect(big.length).toBeGreaterThan(DEFAULT_MAX_RESPONSE_BYTES);
    const server = await serve(json(200, { ...TOKENS, access_token: SENTINEL.repeat(3000) }));
    const outcome = await endpoint.refresh(grant(server.url));
    expect(outcome).toEqual({
      kind: 'invalid_response',
      status: 200,
      code: 'too_large',
      reason: 'response body exceeds 65536 bytes',
    });
  });

  it('stops reading a streamed (chunked) body as soon as it exceeds a configured cap', async () => {
    let aborted = false;
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"access_token":"${SENTINEL}`);
      // An endless body: only a reader that stops can finish this test.
      const interval = setInterval(() => res.write('x'.repeat(512)), 5);
      res.on('close', () => {
        aborted = true;
        clearInterval(interval);
      });
    });
    const outcome = await new HttpTokenEndpoint({ maxResponseBytes: 1024 }).refresh(grant(server.url));
    expect(outcome).toEqual({
      kind: 'invalid_response',
      status: 200,
      code: 'too_large',
      reason: 'response body exceeds 1024 bytes',
    });
    await vi.waitFor(() => expect(aborted).toBe(true));
  });

  it('refuses a declared Content-Length over the cap without reading it', async () => {
    const server = await serve(json(200, { ...TOKENS, access_token: SENTINEL.repeat(100) }));
    const outcome = await new HttpTokenEndpoint({ maxResponseBytes: 1024 }).refresh(grant(server.url));
    expect(outcome).toEqual({
      kind: 'invalid_response',
      status: 200,
      code: 'too_large',
      reason: 'response body exceeds 1024 bytes',
    });
  });
});

// ---------------------------------------------------------------------------------------
// OAuth errors
// ---------------------------------------------------------------------------------------

describe('HttpTokenEndpoint OAuth errors', () => {
  it('returns the error and description of a 400', async () => {
    const server = await serve(
      json(400, { error: 'invalid_grant', error_description: 'The refresh token is invalid or expired' }),
    );
    expect(await endpoint.refresh(grant(server.url))).toEqual({
      kind: 'oauth_error',
      status: 400,
      error: 'invalid_grant',
      description: 'The refresh token is invalid or expired',
    });
  });

  it('accepts an error body whatever its content-type, and omits an absent description', async () => {
    const server = await serve(
      answer(400, { 'content-type': 'text/plain' }, '{"error":"unsupported_grant_type"}'),
    );
    expect(await endpoint.refresh(grant(server.url))).toEqual({
      kind: 'oauth_error',
      status: 400,
      error: 'unsupported_grant_type',
    });
  });

  it('removes an echoed refresh token from the description (whole, encoded or partial)', async () => {
    const description =
      `refresh token ${REFRESH_TOKEN} was already used; ` +
      `got refresh_token=${encodeURIComponent(REFRESH_TOKEN)}; token starts ${REFRESH_TOKEN.slice(0, 16)}...`;
    const server = await serve(json(400, { error: 'invalid_grant', error_description: description }));
    const outcome = await endpoint.refresh(grant(server.url));
    expect(outcome).toMatchObject({ kind: 'oauth_error', status: 400, error: 'invalid_grant' });
    expectNoLeak(outcome, REFRESH_TOKEN);
    expect(outcome.kind === 'oauth_error' && outcome.description).toMatch(
      /^refresh token \[redacted\] was already used/,
    );
  });

  it('removes echoed client credentials (secret, id:secret pair, Basic credentials) from the description', async () => {
    const basic = Buffer.from(`${CLIENT_ID_ENCODED}:${CLIENT_SECRET_ENCODED}`).toString('base64');
    const description = `bad client ${CLIENT_ID}:${CLIENT_SECRET} / secret ${CLIENT_SECRET} / basic ${basic}`;
    const server = await serve(json(401, { error: 'invalid_client', error_description: description }));
    const outcome = await endpoint.refresh(grant(server.url, { clientAuth: 'client_secret_basic' }));
    expect(outcome).toMatchObject({ kind: 'oauth_error', status: 401, error: 'invalid_client' });
    const text = outcome.kind === 'oauth_error' ? (outcome.description ?? '') : '';
    expect(text).not.toContain(CLIENT_SECRET);
    expect(text).not.toContain(basic.slice(0, 12));
    expect(text).toContain('[redacted]');
  });

  it('removes echoes with lower-case percent-encoding and in base64 at any alignment', async () => {
    const lower = (text: string) => text.replace(/%[0-9A-F]{2}/g, (percent) => percent.toLowerCase());
    // The client secret, form-encoded with lower-case escapes, as a provider's framework may re-encode it.
    const formLower = lower(new URLSearchParams([['', CLIENT_SECRET]]).toString().slice(1));
    // The request body as the provider received it, base64-encoded (the refresh token inside, unaligned).
    const body = `grant_type=refresh_token&refresh_token=${REFRESH_TOKEN}`;
    const echoes = [
      formLower,
      lower(encodeURIComponent(CLIENT_SECRET)),
      Buffer.from(body).toString('base64'),
      Buffer.from(`x${REFRESH_TOKEN}`).toString('base64url'),
      Buffer.from(`xy${CLIENT_SECRET}!`).toString('base64'),
    ];
    const description = `seen: ${echoes.join(' | ')}`;
    const server = await serve(json(400, { error: 'invalid_request', error_description: description }));
    const outcome = await new HttpTokenEndpoint({ maxResponseBytes: 64 * 1024 }).refresh(grant(server.url));
    const text = outcome.kind === 'oauth_error' ? (outcome.description ?? '') : '';
    expect(text).toMatch(/^seen: /);
    expect(text).not.toContain(formLower.slice(0, 12));
    expect(text).not.toContain(echoes[1]!.slice(0, 12));
    // Whatever surrounds it, a secret's own base64 characters at each alignment are gone.
    for (const secret of [REFRESH_TOKEN, CLIENT_SECRET]) {
      for (const offset of [0, 1, 2]) {
        const encoded = Buffer.from(`${'_'.repeat(offset)}${secret}`).toString('base64');
        expect(text).not.toContain(encoded.slice(4, 16));
      }
    }
  });

  it('redacts even a very short client secret cleanly', async () => {
    const server = await serve(json(400, { error: 'invalid_client', error_description: 'x e y' }));
    const outcome = await endpoint.refresh(
      grant(server.url, { credentials: { clientId: 'c', clientSecret: 'e' } }),
    );
    expect(outcome).toMatchObject({ description: 'x [redacted] y' });
  });

  it('caps the description to 200 characters and strips control characters', async () => {
    const description = `line one\r\nline two\u0000${'x'.repeat(500)}`;
    const server = await serve(json(400, { error: 'invalid_request', error_description: description }));
    const outcome = await endpoint.refresh(grant(server.url));
    const text = outcome.kind === 'oauth_error' ? (outcome.description ?? '') : '';
    expect(Array.from(text).length).toBeLessThanOrEqual(200);
    expect(text).toMatch(/^line one line two x+…$/);
  });

  it('maps a bare 401 to invalid_client', async () => {
    const server = await serve(answer(401, { 'content-type': 'text/html' }, `<h1>${SENTINEL}</h1>`));
    const outcome = await endpoint.refresh(grant(server.url));
    expect(outcome).toEqual({ kind: 'oauth_error', status: 401, error: 'invalid_client' });
  });

  it('takes a bare 401 error from WWW-Authenticate', async () => {
    const server = await serve(
      answer(401, {
        'www-authenticate':
          'Basic realm="token", error="unauthorized_client", error_description="client \\"x\\" is disabled"',
      }),
    );
    expect(await endpoint.refresh(grant(server.url))).toEqual({
      kind: 'oauth_error',
      status: 401,
      error: 'unauthorized_client',
      description: 'client "x" is disabled',
    });
  });
});

// ---------------------------------------------------------------------------------------
// Provider behaviours (lambda/core/provider-behaviour.ts): tolerant where it is safe
// ---------------------------------------------------------------------------------------

describe('HttpTokenEndpoint provider behaviours', () => {
  const behave = (changes: {
    response?: ProviderBehaviour['response'];
    errors?: Partial<ProviderBehaviour['errors']>;
  }): ProviderBehaviour => ({
    ...DEFAULT_BEHAVIOUR,
    response: { ...DEFAULT_BEHAVIOUR.response, ...changes.response },
    errors: { ...DEFAULT_BEHAVIOUR.errors, ...changes.errors },
  });
  const form = (status: number, fields: Record<string, string>) =>
    answer(
      status,
      { 'content-type': 'application/x-www-form-urlencoded' },
      new URLSearchParams(fields).toString(),
    );

  it('reads a JSON 200 whatever its content-type says (a mislabelled body must not drop a rotated token)', async () => {
    const server = await serve(answer(200, {}, JSON.stringify(TOKENS)));
    const outcome = await endpoint.refresh(grant(server.url));
    expect(outcome).toMatchObject({ kind: 'tokens', tokens: { refreshToken: 'rt-new-1' } });
  });

  it('reads a form-encoded success (GitHub without Accept: application/json), with the refresh-token lifetime', async () => {
    // docs.github.com "Refreshing user access tokens": expires_in 28800, refresh_token_expires_in 15811200.
    const server = await serve(
      form(200, {
        access_token: 'ghu_at-1',
        expires_in: '28800',
        refresh_token: 'ghr_rt-1',
        refresh_token_expires_in: '15811200',
        scope: '',
        token_type: 'bearer',
      }),
    );
    const behaviour = behave({ response: { refreshTokenExpiresInField: 'refresh_token_expires_in' } });
    expect(await endpoint.refresh(grant(server.url, { behaviour }))).toEqual({
      kind: 'tokens',
      tokens: {
        accessToken: 'ghu_at-1',
        tokenType: 'bearer',
        expiresIn: 28800,
        refreshToken: 'ghr_rt-1',
        refreshTokenExpiresIn: 15811200,
      },
    });
  });

  it('a form-encoded 200 carrying error=bad_refresh_token is that OAuth error (GitHub Apps)', async () => {
    const server = await serve(
      form(200, {
        error: 'bad_refresh_token',
        error_description: `The refresh token passed is incorrect or expired. ${REFRESH_TOKEN}`,
        error_uri: 'https://docs.github.com/apps/troubleshooting',
      }),
    );
    const outcome = await endpoint.refresh(grant(server.url));
    expect(outcome).toMatchObject({ kind: 'oauth_error', status: 200, error: 'bad_refresh_token' });
    expectNoLeak(outcome, REFRESH_TOKEN);
  });

  it('a JSON 200 with an error member is that OAuth error', async () => {
    const server = await serve(json(200, { error: 'invalid_grant', error_description: 'expired' }));
    expect(await endpoint.refresh(grant(server.url))).toEqual({
      kind: 'oauth_error',
      status: 200,
      error: 'invalid_grant',
      description: 'expired',
    });
  });

  it("Slack's 200 {ok: false} is an OAuth error, with or without a code", async () => {
    const slack = await serve(json(200, { ok: false, error: 'invalid_refresh_token' }));
    expect(await endpoint.refresh(grant(slack.url))).toEqual({
      kind: 'oauth_error',
      status: 200,
      error: 'invalid_refresh_token',
    });
    const bare = await serve(json(200, { ok: false }));
    expect(await endpoint.refresh(grant(bare.url))).toMatchObject({
      kind: 'oauth_error',
      error: 'unrecognized_error',
    });
  });

  it("HubSpot's {status: BAD_REFRESH_TOKEN} is an OAuth error where the behaviour names that code field", async () => {
    const body = {
      status: 'BAD_REFRESH_TOKEN',
      message: 'missing or unknown refresh token',
      correlationId: 'c-1',
    };
    const server = await serve(json(400, body));
    const behaviour = behave({ errors: { codeFields: ['error', 'status'] } });
    expect(await endpoint.refresh(grant(server.url, { behaviour }))).toEqual({
      kind: 'oauth_error',
      status: 400,
      error: 'BAD_REFRESH_TOKEN',
      description: 'missing or unknown refresh token',
    });
    // Without the code field it says nothing in OAuth terms.
    expect(await endpoint.refresh(grant(server.url))).toMatchObject({
      kind: 'invalid_response',
      code: 'no_oauth_error',
    });
  });

  it("a missing expires_in takes the behaviour's default, else the engine's (Salesforce)", async () => {
    const server = await serve(
      json(200, {
        access_token: 'at-sf',
        instance_url: 'https://example.my.salesforce.com',
        id: 'https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P',
        issued_at: '1278448101416',
        signature: 'CMJ4l+CCaPQiKjoOEwEig9H4wqhpuLSk4J2urAe+fVg=',
        token_type: 'Bearer',
      }),
    );
    expect(await endpoint.refresh(grant(server.url))).toMatchObject({
      kind: 'tokens',
      tokens: { expiresIn: ENGINE_DEFAULT_EXPIRES_IN_SECONDS, expiresInDefault: 'engine' },
    });
    const behaviour = behave({
      response: {
        defaultExpiresInSeconds: 7200,
        keepFields: ['instance_url', 'id', 'issued_at', 'signature'],
      },
    });
    expect(await endpoint.refresh(grant(server.url, { behaviour }))).toEqual({
      kind: 'tokens',
      tokens: {
        accessToken: 'at-sf',
        tokenType: 'Bearer',
        expiresIn: 7200,
        expiresInDefault: 'profile',
        // `signature` is listed but its name says secret: never kept.
        providerFields: {
          instance_url: 'https://example.my.salesforce.com',
          id: 'https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P',
          issued_at: '1278448101416',
        },
      },
    });
  });

  it('token_type is information: any is kept as sent, unless the behaviour narrows it', async () => {
    const server = await serve(json(200, { ...TOKENS, token_type: 'bot' }));
    expect(await endpoint.refresh(grant(server.url))).toMatchObject({
      kind: 'tokens',
      tokens: { tokenType: 'bot' },
    });
    const narrow = behave({ response: { acceptedTokenTypes: ['Bearer'] } });
    const refused = await endpoint.refresh(grant(server.url, { behaviour: narrow }));
    // Refused, but the rotated refresh token comes back for the engine to commit.
    expect(refused).toMatchObject({
      kind: 'invalid_response',
      code: 'bad_token_type',
      readBody: true,
      refreshToken: 'rt-new-1',
    });
  });

  it('a success without an access token is refused, and its new refresh token is returned, never dropped', async () => {
    const server = await serve(
      json(200, { token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-new-2' }),
    );
    expect(await endpoint.refresh(grant(server.url))).toMatchObject({
      kind: 'invalid_response',
      code: 'missing_access_token',
      readBody: true,
      refreshToken: 'rt-new-2',
    });
    const none = await serve(json(200, { token_type: 'Bearer', expires_in: 3600 }));
    const outcome = await endpoint.refresh(grant(none.url));
    expect(outcome).toMatchObject({ kind: 'invalid_response', readBody: true });
    expect(outcome.kind === 'invalid_response' && 'refreshToken' in outcome).toBe(false);
  });

  it('a body that cannot be read says so (a rotated token may have been in it)', async () => {
    const server = await serve(answer(200, { 'content-type': 'text/html' }, '<html>maintenance</html>'));
    const outcome = await endpoint.refresh(grant(server.url));
    expect(outcome).toMatchObject({ kind: 'invalid_response', code: 'not_json' });
    expect(outcome.kind === 'invalid_response' && outcome.readBody).toBeUndefined();
  });

  it('kept fields never hold a token-like value', async () => {
    const jwt =
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
    const server = await serve(
      json(200, {
        ...TOKENS,
        access_token: 'at-long-enough-0123456789',
        api_url: 'https://api.example.com',
        jwt_field: jwt,
        opaque: 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MDEyMzQ1Njc4OTA',
        echo: 'prefix at-long-enough-0123456789',
        with_param: 'https://api.example.com/cb?code=abc',
        nested: { url: 'https://x' },
      }),
    );
    const behaviour = behave({
      response: { keepFields: ['api_url', 'jwt_field', 'opaque', 'echo', 'with_param', 'nested', 'absent'] },
    });
    const outcome = await endpoint.refresh(grant(server.url, { behaviour }));
    expect(outcome.kind === 'tokens' && outcome.tokens.providerFields).toEqual({
      api_url: 'https://api.example.com',
    });
  });

  it('joins a scope sent as a JSON array with the behaviour separator', async () => {
    const server = await serve(json(200, { ...TOKENS, scope: ['read', 'write'] }));
    const behaviour: ProviderBehaviour = {
      ...DEFAULT_BEHAVIOUR,
      scope: { sendOnRefresh: true, separator: ',' },
    };
    expect(await endpoint.refresh(grant(server.url, { behaviour }))).toMatchObject({
      kind: 'tokens',
      tokens: { scope: 'read,write' },
    });
  });

  it("reads the retry delay from the behaviour's header", async () => {
    const server = await serve(answer(429, { 'x-retry-in': '90' }));
    const behaviour = behave({ errors: { retryAfterHeader: 'x-retry-in' } });
    expect(await endpoint.refresh(grant(server.url, { behaviour }))).toEqual({
      kind: 'http_error',
      status: 429,
      retryAfterMs: 90_000,
    });
  });
});

// ---------------------------------------------------------------------------------------
// Transient HTTP errors
// ---------------------------------------------------------------------------------------

describe('HttpTokenEndpoint transient HTTP errors', () => {
  const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);
  const clocked = new HttpTokenEndpoint({ now: () => NOW });

  it('429 with Retry-After in seconds', async () => {
    const server = await serve(answer(429, { 'retry-after': '7' }));
    expect(await endpoint.refresh(grant(server.url))).toEqual({
      kind: 'http_error',
      status: 429,
      retryAfterMs: 7000,
    });
  });

  it.each([
    ['IMF-fixdate', 'Wed, 01 Jan 2025 12:00:30 GMT', 30_000],
    ['rfc850-date', 'Wednesday, 01-Jan-25 12:01:00 GMT', 60_000],
    ['asctime-date', 'Wed Jan  1 12:00:05 2025', 5_000],
    ['a date in the past', 'Wed, 01 Jan 2025 11:00:00 GMT', 0],
  ])('429 with Retry-After as an HTTP-date (%s)', async (_name, header, expected) => {
    const server = await serve(answer(429, { 'retry-after': header }));
    expect(await clocked.refresh(grant(server.url))).toEqual({
      kind: 'http_error',
      status: 429,
      retryAfterMs: expected,
    });
  });

  it('429 with an HTTP-date relative to the real clock by default', async () => {
    const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 120_000).toUTCString();
    const server = await serve(answer(429, { 'retry-after': at }));
    const outcome = await endpoint.refresh(grant(server.url));
    const retryAfterMs = outcome.kind === 'http_error' ? (outcome.retryAfterMs ?? -1) : -1;
    expect(retryAfterMs).toBeGreaterThan(115_000);
    expect(retryAfterMs).toBeLessThanOrEqual(121_000);
  });

  it.each(['soon', '1.5', '-3', 'Wed, 31 Feb 2025 12:00:00 GMT', '2025-01-01T12:00:30Z'])(
    'ignores a garbage Retry-After (%s)',
    async (header) => {
      const server = await serve(answer(503, { 'retry-after': header }));
      expect(await clocked.refresh(grant(server.url))).toEqual({ kind: 'http_error', status: 503 });
    },
  );

  it('503 without Retry-After', async () => {
    const server = await serve(answer(503, { 'content-type': 'text/html' }, SENTINEL));
    expect(await endpoint.refresh(grant(server.url))).toEqual({ kind: 'http_error', status: 503 });
  });

  it('a 5xx is transient even with an OAuth error body', async () => {
    const server = await serve(json(500, { error: 'server_error', error_description: SENTINEL }));
    expect(await endpoint.refresh(grant(server.url))).toEqual({ kind: 'http_error', status: 500 });
  });

  it('a 429 is transient even with an OAuth error body', async () => {
    const server = await serve(json(429, { error: 'slow_down' }, { 'retry-after': '2' }));
    expect(await endpoint.refresh(grant(server.url))).toEqual({
      kind: 'http_error',
      status: 429,
      retryAfterMs: 2000,
    });
  });
});

// ---------------------------------------------------------------------------------------
// Network failures
// ---------------------------------------------------------------------------------------

describe('HttpTokenEndpoint network failures', () => {
  it('connection refused → not sent', async () => {
    const port = await closedPort();
    const outcome = await endpoint.refresh(grant(`http://127.0.0.1:${port}/token`));
    expect(outcome).toEqual({
      kind: 'network',
      requestSent: false,
      reason: 'connection refused before the request was sent (ECONNREFUSED)',
    });
  });

  it('a failed TLS handshake → not sent (https to a plain-http server)', async () => {
    const server = await serve(json(200, TOKENS));
    const outcome = await endpoint.refresh(grant(`https://127.0.0.1:${server.port}/token`));
    expect(outcome).toMatchObject({ kind: 'network', requestSent: false });
    expect(outcome.kind === 'network' && outcome.reason).toMatch(
      /^TLS handshake failed before the request was sent/,
    );
    expect(server.requests).toHaveLength(0);
  });

  it('a socket destroyed after the request was read → sent', async () => {
    const server = await serve((req) => req.socket.destroy());
    const outcome = await endpoint.refresh(grant(server.url));
    expect(outcome).toMatchObject({ kind: 'network', requestSent: true });
    expect(outcome.kind === 'network' && outcome.reason).toMatch(/\(UND_ERR_SOCKET\)$/);
    expect(server.requests[0]?.body).toContain('grant_type=refresh_token');
  });

  it('no answer within the timeout → sent', async () => {
    const server = await serve(() => {
      // Never answers.
    });
    const started = Date.now();
    const outcome = await endpoint.refresh(grant(server.url, { timeoutMs: 150 }));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(outcome).toEqual({
      kind: 'network',
      requestSent: true,
      reason: 'no response within 150 ms (the request may have been sent)',
    });
    expect(server.requests).toHaveLength(1);
  });

  it('a 200 whose body stalls past the timeout → sent (the timeout covers the body)', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"access_token":"');
    });
    const started = Date.now();
    const outcome = await endpoint.refresh(grant(server.url, { timeoutMs: 150 }));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(outcome).toEqual({
      kind: 'network',
      requestSent: true,
      reason: 'the response body did not arrive within 150 ms',
    });
  });

  it('a 200 whose connection drops mid-body → sent', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"access_token":"${SENTINEL}`);
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const outcome = await endpoint.refresh(grant(server.url));
    expect(outcome).toMatchObject({ kind: 'network', requestSent: true });
    expect(outcome.kind === 'network' && outcome.reason).toMatch(
      /^the response body was cut off \(UND_ERR_SOCKET\)$/,
    );
    expectNoLeak(outcome, SENTINEL);
  });

  describe('classification of fetch errors (injected fetch)', () => {
    const withCode = (code: string, message = 'boom') => Object.assign(new Error(message), { code });
    const fetchFailed = (cause: unknown) => new TypeError('fetch failed', { cause });
    const rejecting = (error: unknown) => new HttpTokenEndpoint({ fetch: () => Promise.reject(error) });

    it.each([
      ['ENOTFOUND', 'DNS lookup failed'],
      ['EAI_AGAIN', 'DNS lookup failed'],
      ['UND_ERR_CONNECT_TIMEOUT', 'connect timed out'],
      ['CERT_HAS_EXPIRED', 'TLS handshake failed'],
      ['DEPTH_ZERO_SELF_SIGNED_CERT', 'TLS handshake failed'],
      ['ERR_TLS_CERT_ALTNAME_INVALID', 'TLS handshake failed'],
    ])('%s → not sent', async (code, what) => {
      const outcome = await rejecting(
        fetchFailed(withCode(code, `secret-bearing message ${SENTINEL}`)),
      ).refresh(grant('https://idp.example/token'));
      expect(outcome).toEqual({
        kind: 'network',
        requestSent: false,
        reason: `${what} before the request was sent (${code})`,
      });
    });

    it('finds ECONNREFUSED inside an AggregateError (happy eyeballs)', async () => {
      const aggregate = Object.assign(
        new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')]),
        {
          code: 'ECONNREFUSED',
        },
      );
      const outcome = await rejecting(fetchFailed(aggregate)).refresh(grant('https://idp.example/token'));
      expect(outcome).toMatchObject({ kind: 'network', requestSent: false });
    });

    it.each([
      ['ECONNRESET', fetchFailed(withCode('ECONNRESET'))],
      ['UND_ERR_SOCKET', fetchFailed(withCode('UND_ERR_SOCKET'))],
      ['UND_ERR_HEADERS_TIMEOUT', fetchFailed(withCode('UND_ERR_HEADERS_TIMEOUT'))],
      // Can also hit an established socket: unsent only when undici reports it while connecting.
      ['EHOSTUNREACH', fetchFailed(withCode('EHOSTUNREACH'))],
      ['ETIMEDOUT', fetchFailed(withCode('ETIMEDOUT'))],
      ['no error code', fetchFailed(new Error(SENTINEL))],
      ['no error code', new Error(SENTINEL)],
      ['no error code', 'a string'],
    ])('%s → sent (the safe side)', async (code, error) => {
      const outcome = await rejecting(error).refresh(grant('https://idp.example/token'));
      expect(outcome).toEqual({
        kind: 'network',
        requestSent: true,
        reason: `the exchange failed after the request may have been sent (${code})`,
      });
    });

    it("fetch's bad port → refused locally", async () => {
      const outcome = await rejecting(fetchFailed(new Error('bad port'))).refresh(
        grant('https://idp.example:6000/t'),
      );
      expect(outcome).toMatchObject({ kind: 'oauth_error', status: 0, error: LOCAL_ERROR.invalidEndpoint });
    });

    it('never throws, even when fetch throws synchronously', async () => {
      const endpointThatThrows = new HttpTokenEndpoint({
        fetch: () => {
          throw new Error(SENTINEL);
        },
      });
      await expect(endpointThatThrows.refresh(grant('https://idp.example/token'))).resolves.toMatchObject({
        kind: 'network',
        requestSent: true,
      });
    });
  });
});

// ---------------------------------------------------------------------------------------
// Requests refused locally
// ---------------------------------------------------------------------------------------

describe('HttpTokenEndpoint refuses unsafe requests without any network traffic', () => {
  const spyFetch = () => vi.fn<typeof fetch>(async () => Response.json(TOKENS));

  it.each(
    REFUSED_ENDPOINTS.map(([url, code]) => [
      url,
      code === 'insecure_http' ? LOCAL_ERROR.insecureEndpoint : LOCAL_ERROR.invalidEndpoint,
    ]),
  )('%s → %s', async (url, error) => {
    const fetchSpy = spyFetch();
    const outcome = await new HttpTokenEndpoint({ fetch: fetchSpy }).refresh(grant(url));
    expect(outcome).toMatchObject({ kind: 'oauth_error', status: 0, error });
    expect(outcome.kind === 'oauth_error' && outcome.description).toBeTruthy();
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it.each([
    'http://127.0.0.1:9001/2018-06-01/runtime/invocation/next',
    'http://127.0.0.1:8080/token',
    'http://localhost:3000/token',
    'http://[::1]:3000/token',
  ])('refuses plain http to loopback (%s) unless the engine turns the test-only switch on', async (url) => {
    const fetchSpy = spyFetch();
    const adapter = new HttpTokenEndpoint({ fetch: fetchSpy });
    for (const allowInsecureLoopback of [undefined, false]) {
      const outcome = await adapter.refresh(grant(url, { allowInsecureLoopback }));
      expect(outcome).toMatchObject({ kind: 'oauth_error', status: 0, error: LOCAL_ERROR.insecureEndpoint });
      const code = await adapter.exchangeCode({
        ...grant(url, { allowInsecureLoopback }),
        code: 'authorization-code-value',
        codeVerifier: 'code-verifier-value',
        redirectUri: 'http://127.0.0.1/callback',
      });
      expect(code).toMatchObject({ kind: 'oauth_error', status: 0, error: LOCAL_ERROR.insecureEndpoint });
    }
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('refuses a non-positive timeout', async () => {
    const fetchSpy = spyFetch();
    const outcome = await new HttpTokenEndpoint({ fetch: fetchSpy }).refresh(
      grant('https://idp.example/token', { timeoutMs: 0 }),
    );
    expect(outcome).toMatchObject({ kind: 'oauth_error', status: 0, error: LOCAL_ERROR.invalidTimeout });
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it.each(ACCEPTED_ENDPOINTS)('allows %s', async (url) => {
    const fetchSpy = spyFetch();
    const outcome = await new HttpTokenEndpoint({ fetch: fetchSpy }).refresh(grant(url));
    expect(outcome.kind).toBe('tokens');
    expect(fetchSpy).toHaveBeenCalledOnce();
  });

  it('rejects invalid constructor options', () => {
    expect(() => new HttpTokenEndpoint({ maxResponseBytes: 0 })).toThrow(RangeError);
    expect(() => new HttpTokenEndpoint({ userAgent: 'a\r\nb' })).toThrow(RangeError);
  });
});

describe('HttpTokenEndpoint odd inputs', () => {
  it('never throws for a secret with a lone surrogate, even when the provider answers 4xx', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((_request, response) => {
      response.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as import('node:net').AddressInfo;
    try {
      const outcome = await new HttpTokenEndpoint().refresh({
        tokenEndpoint: `http://127.0.0.1:${port}/token`,
        dialect: 'form',
        clientAuth: 'client_secret_post',
        credentials: { clientId: 'id', clientSecret: 'secret-\uD800-lone' },
        refreshToken: 'refresh-token-value',
        timeoutMs: 2_000,
        allowInsecureLoopback: true,
      });
      expect(outcome).toMatchObject({ kind: 'oauth_error', status: 400, error: 'invalid_grant' });
    } finally {
      server.close();
    }
  });

  it('names the package version in its user agent', async () => {
    const { DEFAULT_USER_AGENT } = await import('../../../lambda/adapters/http-token-endpoint.js');
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(DEFAULT_USER_AGENT).toBe(`token-refresher/${pkg.version}`);
  });
});
