/**
 * The one rule for the shape of an endpoint a refresh token (or client secret) may be sent
 * to: an absolute https URL — plain http only to a loopback address, for local test
 * servers — with no credentials and no fragment. The record schema, the HTTP token endpoint
 * (before it sends anything) and the operator CLI all parse endpoint URLs here.
 *
 * The shape is not permission: where a token may actually go is decided by the deployment's
 * allowed origins and the credentials' binding (core/token-origin.ts), and loopback http is
 * sent only under the engine's test-only `allowInsecureLoopback`.
 */

/** Why a URL is refused: stable codes, each with the predicate that explains it. */
export const ENDPOINT_URL_ERRORS = {
  not_a_url: 'is not a valid URL',
  unsupported_scheme: 'must be an https URL',
  insecure_http: 'must use https (plain http is allowed only to a loopback address)',
  credentials_in_url: 'must not contain credentials',
  fragment_in_url: 'must not contain a fragment',
} as const;

export type EndpointUrlErrorCode = keyof typeof ENDPOINT_URL_ERRORS;

export type EndpointUrlResult =
  | { ok: true; url: URL }
  /** `description` names the subject and the rule, never the URL (it may hold a secret). */
  | { ok: false; code: EndpointUrlErrorCode; description: string };

/**
 * `raw` as an endpoint URL, or why nothing may be sent to it. `subject` starts the
 * description (e.g. `the token endpoint`, or a CLI option name).
 */
export function parseEndpointUrl(raw: string, subject = 'the endpoint'): EndpointUrlResult {
  const refuse = (code: EndpointUrlErrorCode): EndpointUrlResult => ({
    ok: false,
    code,
    description: `${subject} ${ENDPOINT_URL_ERRORS[code]}`,
  });
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('not_a_url');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return refuse('unsupported_scheme');
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) return refuse('insecure_http');
  if (url.username !== '' || url.password !== '') return refuse('credentials_in_url');
  if (url.hash !== '') return refuse('fragment_in_url');
  return { ok: true, url };
}

/**
 * Whether a URL's hostname is a loopback address: `localhost`, 127.0.0.0/8 or `[::1]`.
 * Expects the WHATWG URL parser's canonical form (`127.1` is already `127.0.0.1`).
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
