import { describe, expect, it } from 'vitest';
import type { InvalidResponseCode } from '../../../lambda/adapters/http/invalid-response.js';
import { HttpTokenEndpoint } from '../../../lambda/adapters/http-token-endpoint.js';
import { classifyFailure } from '../../../lambda/core/classify.js';
import { DEFAULT_BEHAVIOUR, type ProviderBehaviour } from '../../../lambda/core/provider-behaviour.js';

const VALID = { access_token: 'at', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt' };

/** A response the provider could send; `status` may be one `Response` cannot be built with. */
interface Scenario {
  status?: number;
  contentType?: string;
  body: ConstructorParameters<typeof Response>[0];
  /** The connection's provider behaviour. @default DEFAULT_BEHAVIOUR */
  behaviour?: ProviderBehaviour;
}

const json = (value: unknown, status = 200): Scenario => ({
  status,
  contentType: 'application/json',
  body: JSON.stringify(value),
});

const failingStream = () =>
  new ReadableStream({
    pull(controller) {
      controller.error(new Error('connection reset'));
    },
  });

/** One scenario per code: adding a code to the union without a case here does not compile. */
const SCENARIOS: Record<InvalidResponseCode, Scenario> = {
  redirect: { status: 302, body: null },
  unexpected_status: { status: 600, body: null },
  not_json: { contentType: 'text/html', body: '<html></html>' },
  invalid_json: { contentType: 'application/json', body: '{"access_token": ' },
  not_an_object: json(['at']),
  too_large: json({ ...VALID, access_token: 'x'.repeat(256) }),
  missing_access_token: json({ token_type: 'Bearer', expires_in: 3600 }),
  bad_access_token: json({ ...VALID, access_token: 42 }),
  bad_token_type: {
    ...json({ ...VALID, token_type: 'mac' }),
    behaviour: { ...DEFAULT_BEHAVIOUR, response: { acceptedTokenTypes: ['Bearer'] } },
  },
  bad_expires_in: json({ ...VALID, expires_in: 0 }),
  bad_refresh_token: json({ ...VALID, refresh_token: '' }),
  bad_scope: json({ ...VALID, scope: 7 }),
  no_oauth_error: { status: 400, contentType: 'text/html', body: '<p>bad request</p>' },
  unreadable_body: { status: 400, contentType: 'application/json', body: failingStream() },
};

function respond({ status = 200, contentType, body }: Scenario): Response {
  const headers = contentType ? { 'content-type': contentType } : undefined;
  const inRange = status >= 200 && status <= 599;
  const response = new Response(body, { status: inRange ? status : 200, headers });
  if (!inRange) Object.defineProperty(response, 'status', { value: status });
  return response;
}

async function outcomeFor(scenario: Scenario) {
  const endpoint = new HttpTokenEndpoint({ maxResponseBytes: 200, fetch: async () => respond(scenario) });
  return endpoint.refresh({
    tokenEndpoint: 'https://idp.example/token',
    dialect: 'form',
    clientAuth: 'client_secret_post',
    credentials: { clientId: 'id', clientSecret: 'secret' },
    refreshToken: 'refresh-token',
    timeoutMs: 1_000,
    ...(scenario.behaviour ? { behaviour: scenario.behaviour } : {}),
  });
}

describe('invalid_response codes', () => {
  it.each(Object.entries(SCENARIOS))('the adapter answers %s for its case', async (code, scenario) => {
    const outcome = await outcomeFor(scenario);
    expect(outcome).toMatchObject({ kind: 'invalid_response', status: scenario.status ?? 200, code });
    expect(outcome.kind === 'invalid_response' && outcome.reason).toBeTruthy();
  });

  it('a 4xx body over the cap is too_large as well', async () => {
    const outcome = await outcomeFor({ status: 400, contentType: 'text/plain', body: 'x'.repeat(256) });
    expect(outcome).toMatchObject({ kind: 'invalid_response', status: 400, code: 'too_large' });
  });

  it('the failure message names the code beside the human reason', () => {
    const classified = classifyFailure({
      kind: 'invalid_response',
      status: 200,
      code: 'bad_token_type',
      reason: 'token_type must be Bearer',
    });
    expect(classified.message).toBe(
      'the token endpoint answered HTTP 200 with an invalid token response (bad_token_type): token_type must be Bearer',
    );
    expect(classified.failureClass).toBe('invalid_response');
  });
});
