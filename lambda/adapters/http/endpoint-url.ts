import { LOCAL_ERROR, type LocalRejection } from './local-rejection.js';

export type EndpointCheck = { ok: true; url: URL } | { ok: false; rejection: LocalRejection };

/**
 * The token endpoint as a URL, or why no refresh token may be sent to it: it must be
 * https (plain http only to loopback, for local test servers) and carry no credentials
 * or fragment.
 */
export function checkEndpoint(endpoint: string): EndpointCheck {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return reject(LOCAL_ERROR.invalidEndpoint, 'the token endpoint is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return reject(LOCAL_ERROR.invalidEndpoint, 'the token endpoint must be an https URL');
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return reject(
      LOCAL_ERROR.insecureEndpoint,
      'the token endpoint must use https (plain http is allowed only to a loopback address)',
    );
  }
  if (url.username !== '' || url.password !== '') {
    return reject(LOCAL_ERROR.invalidEndpoint, 'the token endpoint URL must not contain credentials');
  }
  if (url.hash !== '') {
    return reject(LOCAL_ERROR.invalidEndpoint, 'the token endpoint URL must not contain a fragment');
  }
  return { ok: true, url };
}

function isLoopbackHost(hostname: string): boolean {
  // The WHATWG URL parser has already canonicalized IPv4 (e.g. `127.1`) and IPv6 (`[::1]`).
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function reject(error: LocalRejection['error'], description: string): EndpointCheck {
  return { ok: false, rejection: { error, description } };
}
