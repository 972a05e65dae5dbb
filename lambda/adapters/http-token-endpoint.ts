/**
 * The OAuth 2.0 token endpoint over HTTP (Node's global `fetch`, i.e. undici): one
 * `grant_type=refresh_token` request per call, validated strictly in the spirit of
 * panva's oauth4webapi. `refresh` never throws for anything the provider or the network
 * does; every ending is a {@link TokenEndpointOutcome}.
 *
 * Classification rules:
 *
 * - **2xx** must be a valid token response (`application/json` object, non-empty
 *   `access_token`, `token_type` Bearer, positive `expires_in`, optional non-empty
 *   `refresh_token`), else `invalid_response`.
 * - **429 and 5xx** are `http_error` (transient, with `Retry-After`), even with an OAuth
 *   error body.
 * - **Other 4xx** with a JSON body carrying a string `error` are `oauth_error`; a bare
 *   401 is `invalid_client` (or the `error=` of `WWW-Authenticate`). Anything else,
 *   including a redirect (never followed), is `invalid_response`.
 * - **Transport failures** are `network`, and `requestSent` says whether the refresh
 *   token can have reached the provider. It is `false` only when that is provable: a DNS
 *   failure, a refused connection, undici's connect timeout, a certificate error, or any
 *   error undici reports while establishing the connection (TCP + TLS handshake, seen on
 *   the `undici:client:connectError` diagnostics channel). Everything else — a reset or
 *   closed socket, our own timeout (even one that may have fired while still connecting),
 *   an unknown error — is `true`. "Sent" is the safe default: refresh tokens are single
 *   use, so a request that may have been processed may have consumed the token, and the
 *   engine must treat its lost answer as ambiguous rather than retry as if nothing happened.
 *
 * Requests the adapter refuses to send (an endpoint that is not https — http is allowed
 * only to loopback —, an unparseable URL, credentials or a fragment in the URL, a port
 * fetch blocks, a non-positive timeout) end as `oauth_error` with **status 0** (fetch's
 * "no HTTP response") and a local error code ({@link LOCAL_ERROR}): nothing was sent, and
 * the engine classifies it, like any non-`invalid_grant` client error, as `configuration`.
 *
 * No reason or description ever contains any part of a response body or a request
 * secret: reasons name fields, statuses, media types and error codes only, and a
 * provider's `error_description` is stripped of the refresh token and client secret
 * (also partial echoes) before it is returned.
 */
import { subscribe } from 'node:diagnostics_channel';
import packageJson from '../../package.json' with { type: 'json' };
import type { RefreshGrantRequest, TokenEndpoint, TokenEndpointOutcome } from '../core/ports.js';

/** Default cap on the bytes read from a response body. */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;

/** The `User-Agent` sent by default. */
export const DEFAULT_USER_AGENT = `token-refresher/${packageJson.version}`;

/** Status of an `oauth_error` the adapter produced itself: the request was never sent. */
export const LOCAL_REJECTION_STATUS = 0;

/** Error codes of locally refused requests (`oauth_error` with status 0). */
export const LOCAL_ERROR = {
  /** http to a host that is not loopback. */
  insecureEndpoint: 'insecure_endpoint',
  /** Unparseable URL, unsupported scheme, credentials or fragment in the URL, blocked port. */
  invalidEndpoint: 'invalid_endpoint',
  /** `timeoutMs` is not a positive number. */
  invalidTimeout: 'invalid_timeout',
} as const;

export interface HttpTokenEndpointOptions {
  /** Cap on response body bytes (after content decoding). Default 64 KiB. */
  maxResponseBytes?: number;
  /** Default `token-refresher/<package version>`. */
  userAgent?: string;
  /** Clock for `Retry-After` HTTP-dates. Default `Date.now`. */
  now?: () => number;
  /** The fetch implementation. Default the global `fetch`; tests may inject one. */
  fetch?: typeof fetch;
}

const MAX_DESCRIPTION_CHARS = 200;
const MAX_ERROR_CODE_CHARS = 100;
/** Echoed runs of a secret at least this long are redacted even when the echo is partial. */
const PARTIAL_ECHO_MIN_CHARS = 12;
/** setTimeout's maximum delay. */
const MAX_TIMER_MS = 2_147_483_647;
/** Largest accepted `expires_in` (int32 seconds, ~68 years): keeps expiry dates representable. */
const MAX_EXPIRES_IN = 2_147_483_647;
const REDACTED = '[redacted]';
/** Stands for a redaction while redacting, so short secrets cannot match inside `[redacted]`. */
const MARK = '\uE000';

// ---------------------------------------------------------------------------------------
// Network error classification
// ---------------------------------------------------------------------------------------

/**
 * Errors undici reported while establishing a connection (TCP connect, TLS handshake).
 * The request is only written after the connection is up, so these are provably unsent.
 */
const connectErrors = new WeakSet<object>();
subscribe('undici:client:connectError', (message) => {
  const error = (message as { error?: unknown } | undefined)?.error;
  if (typeof error === 'object' && error !== null) connectErrors.add(error);
});

const DNS_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EAI_NODATA',
  'EAI_ADDRFAMILY',
]);
/**
 * Codes that can only arise before the request is written, so they prove it unsent even
 * without the diagnostics channel. (EHOSTUNREACH, ENETUNREACH, ETIMEDOUT and ECONNRESET
 * can also hit an established socket: they count as unsent only when undici reported them
 * as connect errors.)
 */
const PRE_SEND_CODES = new Set([
  ...DNS_CODES,
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  // Certificate verification happens during the TLS handshake only.
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_TLS_CERT_ALTNAME_FORMAT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_HANDSHAKE_TIMEOUT',
]);

/** The error, its `cause` chain and `AggregateError` members, breadth first. */
function errorTree(root: unknown): object[] {
  const out: object[] = [];
  const queue: unknown[] = [root];
  while (queue.length > 0 && out.length < 16) {
    const error = queue.shift();
    if (typeof error !== 'object' || error === null || out.includes(error)) continue;
    out.push(error);
    const { cause, errors } = error as { cause?: unknown; errors?: unknown };
    queue.push(cause);
    if (Array.isArray(errors)) queue.push(...errors);
  }
  return out;
}

function errorCode(error: object): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : undefined;
}

type FetchFailure =
  | { kind: 'network'; requestSent: boolean; reason: string }
  /** fetch refused the request itself (its "bad port" list). */
  | { kind: 'blocked_port' };

/** Classifies what `fetch` rejected with (not our own timeout: the caller checks that first). */
function classifyFetchError(error: unknown): FetchFailure {
  const tree = errorTree(error);
  if (tree.some((e) => (e as { message?: unknown }).message === 'bad port' && errorCode(e) === undefined)) {
    return { kind: 'blocked_port' };
  }
  const code = tree.map(errorCode).find((c) => c !== undefined) ?? 'no error code';
  const preSend = tree.some((e) => connectErrors.has(e) || PRE_SEND_CODES.has(errorCode(e) ?? ''));
  if (!preSend) {
    return {
      kind: 'network',
      requestSent: true,
      reason: `the exchange failed after the request may have been sent (${code})`,
    };
  }
  const what = DNS_CODES.has(code)
    ? 'DNS lookup failed'
    : code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'UND_ERR_CONNECT_TIMEOUT'
        ? 'connect timed out'
        : /CERT|SSL|TLS/.test(code)
          ? 'TLS handshake failed'
          : 'connection failed';
  return { kind: 'network', requestSent: false, reason: `${what} before the request was sent (${code})` };
}

// ---------------------------------------------------------------------------------------
// Request building
// ---------------------------------------------------------------------------------------

/** application/x-www-form-urlencoded serialization of one value (RFC 6749 §2.3.1, Appendix B). */
function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

function basicCredentials(clientId: string, clientSecret: string): string {
  return Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`, 'utf8').toString('base64');
}

function isLoopbackHost(hostname: string): boolean {
  // The WHATWG URL parser has already canonicalized IPv4 (e.g. `127.1`) and IPv6 (`[::1]`).
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The endpoint URL, or why it must not be used. */
function checkEndpoint(endpoint: string): { url: URL } | { error: string; description: string } {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { error: LOCAL_ERROR.invalidEndpoint, description: 'the token endpoint is not a valid URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { error: LOCAL_ERROR.invalidEndpoint, description: 'the token endpoint must be an https URL' };
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return {
      error: LOCAL_ERROR.insecureEndpoint,
      description: 'the token endpoint must use https (plain http is allowed only to a loopback address)',
    };
  }
  if (url.username !== '' || url.password !== '') {
    return {
      error: LOCAL_ERROR.invalidEndpoint,
      description: 'the token endpoint URL must not contain credentials',
    };
  }
  if (url.hash !== '') {
    return {
      error: LOCAL_ERROR.invalidEndpoint,
      description: 'the token endpoint URL must not contain a fragment',
    };
  }
  return { url };
}

function localRejection(error: string, description: string): TokenEndpointOutcome {
  return { kind: 'oauth_error', status: LOCAL_REJECTION_STATUS, error, description };
}

// ---------------------------------------------------------------------------------------
// Response reading
// ---------------------------------------------------------------------------------------

type BodyRead =
  | { kind: 'ok'; bytes: Uint8Array }
  | { kind: 'too_large' }
  | { kind: 'failed'; error: unknown };

async function discardBody(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // Nothing to do: the connection is dropped either way.
  }
}

/** Reads the body up to `limit` bytes; stops (and cancels the stream) as soon as it exceeds it. */
async function readBody(response: Response, limit: number): Promise<BodyRead> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) {
    await discardBody(response);
    return { kind: 'too_large' };
  }
  if (response.body === null) return { kind: 'ok', bytes: new Uint8Array(0) };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        await reader.cancel().catch(() => {});
        return { kind: 'too_large' };
      }
      chunks.push(value);
    }
  } catch (error) {
    return { kind: 'failed', error };
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { kind: 'ok', bytes };
}

/** The media type essence, lower-cased, when it is a plausible `type/subtype`. */
function mediaType(response: Response): string | undefined {
  const essence = (response.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return /^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,64}$/.test(essence) ? essence : undefined;
}

/** Parses a JSON object; undefined for anything else (never exposes parser messages: they quote the body). */
function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | undefined | 'not_json' {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return 'not_json';
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function parseExpiresIn(value: unknown): number | undefined {
  let seconds: number;
  if (typeof value === 'number') seconds = value;
  else if (typeof value === 'string' && /^[0-9]{1,10}$/.test(value)) seconds = Number(value);
  else return undefined;
  return Number.isFinite(seconds) && seconds > 0 && seconds <= MAX_EXPIRES_IN ? seconds : undefined;
}

type TokenParse = { ok: true; outcome: TokenEndpointOutcome } | { ok: false; reason: string };

/** Validates a 2xx token response (RFC 6749 §5.1). Reasons name fields, never values. */
function parseTokenResponse(json: Record<string, unknown>): TokenParse {
  const { access_token, token_type, expires_in, refresh_token, scope } = json;
  if (access_token === undefined) {
    return {
      ok: false,
      reason:
        typeof json.error === 'string'
          ? 'access_token is missing (the response carries an OAuth error member)'
          : 'access_token is missing',
    };
  }
  if (typeof access_token !== 'string' || access_token === '') {
    return { ok: false, reason: 'access_token must be a non-empty string' };
  }
  if (typeof token_type !== 'string' || token_type.toLowerCase() !== 'bearer') {
    return { ok: false, reason: 'token_type must be Bearer' };
  }
  const expiresIn = parseExpiresIn(expires_in);
  if (expiresIn === undefined) {
    return {
      ok: false,
      reason:
        expires_in === undefined
          ? 'expires_in is missing'
          : 'expires_in must be a positive number of seconds (a number or a string of digits)',
    };
  }
  if (refresh_token !== undefined && (typeof refresh_token !== 'string' || refresh_token === '')) {
    return { ok: false, reason: 'refresh_token must be a non-empty string when present' };
  }
  // Scope is informational: a null is read as absent; any other non-string is malformed.
  if (scope !== undefined && scope !== null && typeof scope !== 'string') {
    return { ok: false, reason: 'scope must be a string when present' };
  }
  return {
    ok: true,
    outcome: {
      kind: 'tokens',
      tokens: {
        accessToken: access_token,
        tokenType: 'Bearer',
        expiresIn,
        ...(refresh_token !== undefined ? { refreshToken: refresh_token } : {}),
        ...(typeof scope === 'string' && scope !== '' ? { scope } : {}),
      },
    },
  };
}

// ---------------------------------------------------------------------------------------
// Retry-After (RFC 9110 §10.2.3)
// ---------------------------------------------------------------------------------------

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** Sun, 06 Nov 1994 08:49:37 GMT */
const IMF_FIXDATE = /^[A-Za-z]{3}, (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}:\d{2}:\d{2}) GMT$/;
/** Sunday, 06-Nov-94 08:49:37 GMT */
const RFC850_DATE = /^[A-Za-z]{6,9}, (\d{2})-([A-Za-z]{3})-(\d{2}) (\d{2}:\d{2}:\d{2}) GMT$/;
/** Sun Nov  6 08:49:37 1994 */
const ASCTIME_DATE = /^[A-Za-z]{3} ([A-Za-z]{3}) ([ \d]\d) (\d{2}:\d{2}:\d{2}) (\d{4})$/;

/** Parses the three HTTP-date formats (RFC 9110 §5.6.7) to epoch ms, strictly; undefined otherwise. */
function parseHttpDate(value: string, now: number): number | undefined {
  let parts: { day: string; month: string; year: number; time: string } | undefined;
  const imf = IMF_FIXDATE.exec(value);
  const rfc850 = RFC850_DATE.exec(value);
  const asctime = ASCTIME_DATE.exec(value);
  if (imf) {
    parts = { day: imf[1]!, month: imf[2]!, year: Number(imf[3]), time: imf[4]! };
  } else if (rfc850) {
    // A two-digit year more than 50 years ahead is in the past (RFC 9110 §5.6.7).
    const thisYear = new Date(now).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(rfc850[3]);
    if (year > thisYear + 50) year -= 100;
    parts = { day: rfc850[1]!, month: rfc850[2]!, year, time: rfc850[4]! };
  } else if (asctime) {
    parts = { day: asctime[2]!.trim(), month: asctime[1]!, year: Number(asctime[4]), time: asctime[3]! };
  }
  if (parts === undefined) return undefined;
  const month = MONTHS.indexOf(parts.month.toLowerCase());
  const day = Number(parts.day);
  const [hh, mm, ss] = parts.time.split(':').map(Number) as [number, number, number];
  if (month < 0 || hh > 23 || mm > 59 || ss > 60) return undefined;
  const ms = Date.UTC(parts.year, month, day, hh, mm, ss);
  // Rejects impossible days such as 31 Feb, which Date.UTC would roll over.
  return new Date(ms).getUTCDate() === day ? ms : undefined;
}

function parseRetryAfter(header: string | null, now: number): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d{1,12}$/.test(value)) return Number(value) * 1000;
  const at = parseHttpDate(value, now);
  return at === undefined ? undefined : Math.max(0, at - now);
}

// ---------------------------------------------------------------------------------------
// Sanitizing what the provider says
// ---------------------------------------------------------------------------------------

/** Replaces every run of `text` covered by a `PARTIAL_ECHO_MIN_CHARS`-long piece of `secret`. */
function redactPartialEchoes(text: string, secret: string): string {
  const k = PARTIAL_ECHO_MIN_CHARS;
  if (secret.length < k || text.length < k) return text;
  const pieces = new Set<string>();
  for (let i = 0; i + k <= secret.length; i++) pieces.add(secret.slice(i, i + k));
  const covered = new Array<boolean>(text.length).fill(false);
  for (let i = 0; i + k <= text.length; i++) {
    if (pieces.has(text.slice(i, i + k))) covered.fill(true, i, i + k);
  }
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (!covered[i]) out += text[i];
    else if (i === 0 || !covered[i - 1]) out += MARK;
  }
  return out;
}

/** The values a provider must never get to echo back through us, in the forms it may echo them. */
function secretsOf(request: RefreshGrantRequest): string[] {
  const { clientId, clientSecret } = request.credentials;
  const raw = [request.refreshToken, clientSecret, `${clientId}:${clientSecret}`];
  const forms = raw.flatMap((s) => [s, formEncode(s), encodeURIComponent(s), JSON.stringify(s).slice(1, -1)]);
  forms.push(basicCredentials(clientId, clientSecret));
  // Longest first, so a pair is redacted whole before its secret part is.
  return [...new Set(forms.filter((s) => s !== ''))].sort((a, b) => b.length - a.length);
}

/**
 * Makes provider text safe to log: removes every echo of the request's secrets (also
 * partial ones), control characters, and caps the length (counted in code points).
 */
function sanitize(text: string, secrets: readonly string[], maxChars: number): string {
  // Bound the work; a cut secret at the end is still caught as a partial echo.
  let out = text.slice(0, 4 * maxChars + 4096);
  const redact = () => {
    for (const secret of secrets) out = out.split(secret).join(MARK);
    for (const secret of secrets) out = redactPartialEchoes(out, secret);
  };
  redact();
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  out = out.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
  redact();
  out = out.replace(/\uE000+/g, REDACTED);
  const chars = Array.from(out.trim());
  return chars.length > maxChars ? `${chars.slice(0, maxChars - 1).join('')}…` : chars.join('');
}

/** The `error` (and `error_description`) of a `WWW-Authenticate` challenge, if any. */
function challengeError(header: string | null): { error: string; description?: string } | undefined {
  if (!header) return undefined;
  const param = (name: string) => {
    const m = new RegExp(`(?:^|[\\s,])${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^\\s,"]+))`, 'i').exec(
      header,
    );
    const value = m?.[1]?.replace(/\\(.)/g, '$1') ?? m?.[2];
    return value === '' ? undefined : value;
  };
  const error = param('error');
  if (error === undefined) return undefined;
  const description = param('error_description');
  return description === undefined ? { error } : { error, description };
}

// ---------------------------------------------------------------------------------------
// The adapter
// ---------------------------------------------------------------------------------------

/** `TokenEndpoint` over HTTPS with `fetch`. Stateless; one instance serves every connection. */
export class HttpTokenEndpoint implements TokenEndpoint {
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
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  }

  async refresh(request: RefreshGrantRequest): Promise<TokenEndpointOutcome> {
    const endpoint = checkEndpoint(request.tokenEndpoint);
    if ('error' in endpoint) return localRejection(endpoint.error, endpoint.description);
    const { timeoutMs } = request;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      return localRejection(LOCAL_ERROR.invalidTimeout, 'timeoutMs must be a positive number');
    }

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.min(Math.ceil(timeoutMs), MAX_TIMER_MS));
    try {
      let response: Response;
      try {
        response = await this.fetchImpl(endpoint.url, {
          method: 'POST',
          headers: this.headers(request),
          body: this.body(request),
          redirect: 'manual',
          signal: controller.signal,
        });
      } catch (error) {
        if (controller.signal.aborted) {
          // Possibly still connecting, but we cannot tell: the safe side is "sent".
          return {
            kind: 'network',
            requestSent: true,
            reason: `no response within ${timeoutMs} ms (the request may have been sent)`,
          };
        }
        const failure = classifyFetchError(error);
        return failure.kind === 'blocked_port'
          ? localRejection(LOCAL_ERROR.invalidEndpoint, "fetch refuses the token endpoint's port")
          : failure;
      }
      return await this.interpret(response, request, controller.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  private headers(request: RefreshGrantRequest): Record<string, string> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'content-type': request.dialect === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
      'user-agent': this.userAgent,
    };
    if (request.clientAuth === 'client_secret_basic') {
      const { clientId, clientSecret } = request.credentials;
      headers.authorization = `Basic ${basicCredentials(clientId, clientSecret)}`;
    }
    return headers;
  }

  private body(request: RefreshGrantRequest): string {
    const fields: [string, string][] = [
      ['grant_type', 'refresh_token'],
      ['refresh_token', request.refreshToken],
    ];
    if (request.scope !== undefined) fields.push(['scope', request.scope]);
    if (request.clientAuth === 'client_secret_post') {
      fields.push(
        ['client_id', request.credentials.clientId],
        ['client_secret', request.credentials.clientSecret],
      );
    }
    return request.dialect === 'json'
      ? JSON.stringify(Object.fromEntries(fields))
      : new URLSearchParams(fields).toString();
  }

  private async interpret(
    response: Response,
    request: RefreshGrantRequest,
    signal: AbortSignal,
  ): Promise<TokenEndpointOutcome> {
    const { status } = response;

    if (status >= 200 && status < 300) {
      const type = mediaType(response);
      if (type !== 'application/json') {
        await discardBody(response);
        return {
          kind: 'invalid_response',
          status,
          reason: `response is not JSON (content-type ${type ?? 'missing or malformed'})`,
        };
      }
      const body = await readBody(response, this.maxResponseBytes);
      if (body.kind === 'failed') {
        // The provider answered success: the refresh token is most likely consumed.
        return {
          kind: 'network',
          requestSent: true,
          reason: signal.aborted
            ? `the response body did not arrive within ${request.timeoutMs} ms`
            : `the response body was cut off (${classifyBodyError(body.error)})`,
        };
      }
      if (body.kind === 'too_large') {
        return {
          kind: 'invalid_response',
          status,
          reason: `response body exceeds ${this.maxResponseBytes} bytes`,
        };
      }
      const json = parseJsonObject(body.bytes);
      if (json === 'not_json')
        return { kind: 'invalid_response', status, reason: 'response body is not valid JSON' };
      if (json === undefined) {
        return { kind: 'invalid_response', status, reason: 'response body is not a JSON object' };
      }
      const parsed = parseTokenResponse(json);
      return parsed.ok ? parsed.outcome : { kind: 'invalid_response', status, reason: parsed.reason };
    }

    if (status === 429 || (status >= 500 && status <= 599)) {
      await discardBody(response);
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.now());
      return retryAfterMs === undefined
        ? { kind: 'http_error', status }
        : { kind: 'http_error', status, retryAfterMs };
    }

    if (status >= 400 && status <= 499) {
      const secrets = secretsOf(request);
      // Lenient about the content-type of error bodies: they carry codes, not tokens.
      const body = await readBody(response, this.maxResponseBytes);
      const json = body.kind === 'ok' ? parseJsonObject(body.bytes) : undefined;
      if (typeof json === 'object' && typeof json.error === 'string' && json.error.trim() !== '') {
        const description =
          typeof json.error_description === 'string'
            ? sanitize(json.error_description, secrets, MAX_DESCRIPTION_CHARS)
            : '';
        return {
          kind: 'oauth_error',
          status,
          error: sanitize(json.error, secrets, MAX_ERROR_CODE_CHARS),
          ...(description !== '' ? { description } : {}),
        };
      }
      if (status === 401) {
        const challenge = challengeError(response.headers.get('www-authenticate'));
        const description = challenge?.description
          ? sanitize(challenge.description, secrets, MAX_DESCRIPTION_CHARS)
          : '';
        return {
          kind: 'oauth_error',
          status,
          error: challenge ? sanitize(challenge.error, secrets, MAX_ERROR_CODE_CHARS) : 'invalid_client',
          ...(description !== '' ? { description } : {}),
        };
      }
      return {
        kind: 'invalid_response',
        status,
        reason:
          body.kind === 'too_large'
            ? `HTTP ${status} with a body over ${this.maxResponseBytes} bytes`
            : body.kind === 'failed'
              ? `HTTP ${status}; its body could not be read`
              : `HTTP ${status} without an OAuth error body`,
      };
    }

    await discardBody(response);
    return {
      kind: 'invalid_response',
      status,
      reason:
        status >= 300 && status <= 399
          ? `unexpected redirect (HTTP ${status}); redirects are not followed`
          : `unexpected HTTP ${status}`,
    };
  }
}

/** Names what interrupted a body read: an error code, never a message. */
function classifyBodyError(error: unknown): string {
  return (
    errorTree(error)
      .map(errorCode)
      .find((c) => c !== undefined) ?? 'no error code'
  );
}
