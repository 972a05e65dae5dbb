/**
 * The OAuth 2.0 token endpoint over HTTP (Node's global `fetch`, i.e. undici): one
 * `grant_type=refresh_token` request per call (or, for an operator's `connect`, one
 * `grant_type=authorization_code` request with PKCE), validated strictly in the spirit of
 * panva's oauth4webapi. `refresh` never throws for anything the provider or the network
 * does; every ending is a {@link TokenEndpointOutcome}.
 *
 * Classification rules:
 *
 * Each request carries the connection's provider behaviour (`ProviderBehaviour`; absent:
 * `DEFAULT_BEHAVIOUR`), which says how its answers are read.
 *
 * - **2xx** is read whatever its content-type: a form-encoded body
 *   (`application/x-www-form-urlencoded`, GitHub's default) as a form, anything else as
 *   JSON. A body carrying an OAuth error instead of tokens (`error`, the behaviour's
 *   `errors.codeFields`, Slack's `ok: false`) is that `oauth_error`. Otherwise it must be
 *   a valid token response (`http/token-response.ts`: non-empty `access_token`, `token_type`
 *   as sent unless the behaviour narrows it, `expires_in` or a default, optional non-empty
 *   `refresh_token`), else `invalid_response` — which says whether the body was read in
 *   full and returns a new refresh token it still carried, for the engine to commit.
 * - **429 and 5xx** are `http_error` (transient, with the behaviour's retry header, else
 *   `Retry-After`), even with an OAuth error body.
 * - **Other 4xx** with a JSON or form body carrying an error code are `oauth_error`; a bare
 *   401 is `invalid_client` (or the `error=` of `WWW-Authenticate`). Anything else,
 *   including a redirect (never followed), is `invalid_response`.
 * - **Transport failures** are `network`, and `requestSent` says whether the refresh
 *   token can have reached the provider: `false` only when that is provable (see
 *   `http/network-errors.ts`). Our own timeout counts as sent, even if it may have fired
 *   while still connecting.
 *
 * Requests the adapter refuses to send (an endpoint URL that `core/endpoint-url.ts`
 * refuses: unparseable, not https, credentials or a fragment in it; plain http at all unless
 * the request carries the engine's test-only `allowInsecureLoopback` — and then only to
 * loopback, so never to the Lambda Runtime API at 127.0.0.1:9001 in a deployed stack; a port
 * fetch blocks; a non-positive timeout) end as `oauth_error` with **status 0** and a
 * local error code ({@link LOCAL_ERROR}): nothing was sent.
 *
 * No reason or description ever contains any part of a response body or a request
 * secret: reasons name fields, statuses, media types and error codes only, and a
 * provider's error text is stripped of the refresh token and client secret (also partial
 * echoes) before it is returned.
 */
import type { AuthorizationCodeEndpoint, CodeGrantRequest } from '../core/connect-connection.js';
import { parseEndpointUrl } from '../core/endpoint-url.js';
import type { RefreshGrantRequest, TokenEndpoint, TokenEndpointOutcome } from '../core/ports.js';
import { DEFAULT_BEHAVIOUR, type ProviderBehaviour } from '../core/provider-behaviour.js';
import { codeGrantBody } from './http/code-grant-request.js';
import { grantBody, grantHeaders } from './http/grant-request.js';
import { invalidResponse } from './http/invalid-response.js';
import {
  FORM_MEDIA_TYPE,
  isJsonMediaType,
  mediaType,
  parseFormObject,
  parseJsonObject,
} from './http/json-body.js';
import { LOCAL_ERROR, localRejection } from './http/local-rejection.js';
import { classifyFetchError, describeBodyError } from './http/network-errors.js';
import { errorInSuccess, providerError } from './http/oauth-error.js';
import { echoableSecrets } from './http/redaction.js';
import { discardBody, readBody } from './http/response-body.js';
import { parseRetryAfter } from './http/retry-after.js';
import { parseTokenResponse } from './http/token-response.js';

export { LOCAL_ERROR, LOCAL_REJECTION_STATUS } from './http/local-rejection.js';

/** Default cap on the bytes read from a response body. */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * The `User-Agent` sent by default. Keep the version in step with package.json; it is
 * not imported from there because bundling would inline the whole file into the Lambda.
 */
export const DEFAULT_USER_AGENT = 'token-refresher/0.1.0';

export interface HttpTokenEndpointOptions {
  /** Cap on response body bytes (after content decoding). Default 64 KiB. */
  maxResponseBytes?: number;
  /** Default {@link DEFAULT_USER_AGENT}. */
  userAgent?: string;
  /** Clock for `Retry-After` HTTP-dates. Default `Date.now`. */
  now?: () => number;
  /** The fetch implementation. Default the global `fetch`; tests may inject one. */
  fetch?: typeof fetch;
}

/** setTimeout's maximum delay; a longer one would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/** `TokenEndpoint` over HTTPS with `fetch`. Stateless; one instance serves every connection. */
export class HttpTokenEndpoint implements TokenEndpoint, AuthorizationCodeEndpoint {
  private readonly maxResponseBytes: number;
  private readonly userAgent: string;
  private readonly now: () => number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: HttpTokenEndpointOptions = {}) {
    const max = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    if (!Number.isSafeInteger(max) || max <= 0) {
      throw new RangeError('maxResponseBytes must be a positive integer');
    }
    this.maxResponseBytes = max;
    const userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    if (!/^[\x20-\x7e]+$/.test(userAgent)) throw new RangeError('userAgent must be printable ASCII');
    this.userAgent = userAgent;
    this.now = options.now ?? Date.now;
    // Looked up per call, so a global fetch replaced after construction is still used.
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  }

  async refresh(request: RefreshGrantRequest): Promise<TokenEndpointOutcome> {
    return this.post({
      tokenEndpoint: request.tokenEndpoint,
      timeoutMs: request.timeoutMs,
      allowInsecureLoopback: request.allowInsecureLoopback === true,
      headers: grantHeaders(request, this.userAgent),
      body: grantBody(request),
      secrets: echoableSecrets(request),
      behaviour: request.behaviour ?? DEFAULT_BEHAVIOUR,
    });
  }

  /**
   * One `grant_type=authorization_code` request with its PKCE verifier (the operator's
   * `connect`), sent and validated exactly like a refresh grant. The code and verifier
   * are redacted from provider text like the refresh token is.
   */
  async exchangeCode(request: CodeGrantRequest): Promise<TokenEndpointOutcome> {
    return this.post({
      tokenEndpoint: request.tokenEndpoint,
      timeoutMs: request.timeoutMs,
      allowInsecureLoopback: request.allowInsecureLoopback === true,
      headers: grantHeaders(request, this.userAgent),
      body: codeGrantBody(request),
      secrets: echoableSecrets({ credentials: request.credentials, refreshToken: request.code }, [
        request.codeVerifier,
      ]),
      behaviour: request.behaviour ?? DEFAULT_BEHAVIOUR,
    });
  }

  private async post(request: TokenPost): Promise<TokenEndpointOutcome> {
    const endpoint = parseEndpointUrl(request.tokenEndpoint, 'the token endpoint');
    if (!endpoint.ok) {
      return localRejection({
        error: endpoint.code === 'insecure_http' ? LOCAL_ERROR.insecureEndpoint : LOCAL_ERROR.invalidEndpoint,
        description: endpoint.description,
      });
    }
    if (endpoint.url.protocol === 'http:' && !request.allowInsecureLoopback) {
      // Loopback http passes the endpoint rule, but only tests and the local sandbox may use it.
      return localRejection({
        error: LOCAL_ERROR.insecureEndpoint,
        description:
          'the token endpoint must use https (plain http to loopback only with the test-only allowInsecureLoopback)',
      });
    }
    const { timeoutMs } = request;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      return localRejection({
        error: LOCAL_ERROR.invalidTimeout,
        description: 'timeoutMs must be a positive number',
      });
    }

    // One deadline for the whole exchange, response body included.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.min(Math.ceil(timeoutMs), MAX_TIMER_MS));
    try {
      let response: Response;
      try {
        response = await this.fetchImpl(endpoint.url, {
          method: 'POST',
          headers: request.headers,
          body: request.body,
          redirect: 'manual',
          signal: controller.signal,
        });
      } catch (error) {
        return controller.signal.aborted ? timedOut(timeoutMs) : fetchFailure(error);
      }
      return await this.interpret(response, request, controller.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  private async interpret(
    response: Response,
    request: TokenPost,
    signal: AbortSignal,
  ): Promise<TokenEndpointOutcome> {
    const { status } = response;
    if (status >= 200 && status <= 299) return this.readTokens(response, request, signal);
    if (status === 429 || (status >= 500 && status <= 599)) return this.transientError(response, request);
    if (status >= 400 && status <= 499) return this.clientError(response, request);
    await discardBody(response);
    return status >= 300 && status <= 399
      ? invalidResponse(
          status,
          'redirect',
          `unexpected redirect (HTTP ${status}); redirects are not followed`,
        )
      : invalidResponse(status, 'unexpected_status', `unexpected HTTP ${status}`);
  }

  /** 2xx: the body must be a token response (JSON, or form-encoded), or it is an OAuth error. */
  private async readTokens(
    response: Response,
    request: TokenPost,
    signal: AbortSignal,
  ): Promise<TokenEndpointOutcome> {
    const { status } = response;
    const type = mediaType(response);
    const body = await readBody(response, this.maxResponseBytes);
    if (body.kind === 'failed') {
      // The provider answered success: the refresh token is most likely consumed.
      return {
        kind: 'network',
        requestSent: true,
        reason: signal.aborted
          ? `the response body did not arrive within ${request.timeoutMs} ms`
          : `the response body was cut off (${describeBodyError(body.error)})`,
      };
    }
    if (body.kind === 'too_large') {
      return invalidResponse(status, 'too_large', `response body exceeds ${this.maxResponseBytes} bytes`);
    }
    // Read whatever the content-type says: refusing a mislabelled body could drop a rotated token.
    const parsed = type === FORM_MEDIA_TYPE ? parseFormObject(body.bytes) : parseJsonObject(body.bytes);
    if (!parsed.ok) {
      return type === FORM_MEDIA_TYPE || isJsonMediaType(type)
        ? invalidResponse(status, parsed.code, parsed.reason)
        : invalidResponse(
            status,
            'not_json',
            `response is not JSON (content-type ${type ?? 'missing or malformed'})`,
          );
    }
    const error = errorInSuccess(status, parsed.value, request.secrets, request.behaviour);
    if (error !== undefined) return { kind: 'oauth_error', status, ...error };
    const tokens = parseTokenResponse(parsed.value, request.behaviour);
    if (tokens.ok) return { kind: 'tokens', tokens: tokens.tokens };
    return {
      ...invalidResponse(status, tokens.code, tokens.reason),
      readBody: true,
      ...(tokens.refreshToken !== undefined ? { refreshToken: tokens.refreshToken } : {}),
    };
  }

  /** 429 and 5xx: transient whatever the body says, so it is not read. */
  private async transientError(response: Response, request: TokenPost): Promise<TokenEndpointOutcome> {
    const { status } = response;
    await discardBody(response);
    // The behaviour's retry header first (a provider may use its own), then Retry-After.
    const header =
      response.headers.get(request.behaviour.errors.retryAfterHeader) ?? response.headers.get('retry-after');
    const retryAfterMs = parseRetryAfter(header, this.now());
    return retryAfterMs === undefined
      ? { kind: 'http_error', status }
      : { kind: 'http_error', status, retryAfterMs };
  }

  /** Other 4xx: an OAuth error if the response names one. */
  private async clientError(response: Response, request: TokenPost): Promise<TokenEndpointOutcome> {
    const { status } = response;
    const { secrets } = request;
    // Lenient about the content-type of error bodies: they carry codes, not tokens.
    const body = await readBody(response, this.maxResponseBytes);
    const json =
      body.kind === 'ok'
        ? mediaType(response) === FORM_MEDIA_TYPE
          ? parseFormObject(body.bytes)
          : parseJsonObject(body.bytes)
        : undefined;
    const error = providerError(
      status,
      json?.ok ? json.value : undefined,
      response.headers.get('www-authenticate'),
      secrets,
      request.behaviour,
    );
    if (error !== undefined) return { kind: 'oauth_error', status, ...error };
    if (body.kind === 'too_large') {
      return invalidResponse(
        status,
        'too_large',
        `HTTP ${status} with a body over ${this.maxResponseBytes} bytes`,
      );
    }
    return body.kind === 'failed'
      ? invalidResponse(status, 'unreadable_body', `HTTP ${status}; its body could not be read`)
      : invalidResponse(status, 'no_oauth_error', `HTTP ${status} without an OAuth error body`);
  }
}

/** One token request, whatever its grant: where, how long, what, and which values to redact. */
interface TokenPost {
  tokenEndpoint: string;
  timeoutMs: number;
  /** The engine's test-only switch: plain http (to loopback) is refused unless it is true. */
  allowInsecureLoopback: boolean;
  headers: Record<string, string>;
  body: string;
  /** Every form of every secret the request carried (see `echoableSecrets`). */
  secrets: string[];
  /** How the provider answers. */
  behaviour: ProviderBehaviour;
}

/** Our deadline passed before any response: possibly still connecting, but we cannot tell. */
function timedOut(timeoutMs: number): TokenEndpointOutcome {
  return {
    kind: 'network',
    requestSent: true,
    reason: `no response within ${timeoutMs} ms (the request may have been sent)`,
  };
}

function fetchFailure(error: unknown): TokenEndpointOutcome {
  const failure = classifyFetchError(error);
  return failure.kind === 'blocked_port'
    ? localRejection({
        error: LOCAL_ERROR.invalidEndpoint,
        description: "fetch refuses the token endpoint's port",
      })
    : failure;
}
