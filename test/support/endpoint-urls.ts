import type { EndpointUrlErrorCode } from '../../lambda/core/endpoint-url.js';

/**
 * Endpoint URLs and the decision of the one endpoint rule (lambda/core/endpoint-url.ts)
 * on each: the unit test of the rule and the HTTP adapter's test both run these.
 */
export const REFUSED_ENDPOINTS: [url: string, code: EndpointUrlErrorCode][] = [
  ['not a url', 'not_a_url'],
  ['/relative/token', 'not_a_url'],
  ['ftp://idp.example/token', 'unsupported_scheme'],
  ['file:///etc/passwd', 'unsupported_scheme'],
  ['http://idp.example/token', 'insecure_http'],
  ['http://128.0.0.1/token', 'insecure_http'],
  ['http://localhost.idp.example/token', 'insecure_http'],
  ['http://[::2]/token', 'insecure_http'],
  ['http://10.0.0.1/token', 'insecure_http'],
  ['https://user:pass@idp.example/token', 'credentials_in_url'],
  ['https://user@idp.example/token', 'credentials_in_url'],
  ['https://idp.example/token#frag', 'fragment_in_url'],
];

export const ACCEPTED_ENDPOINTS = [
  'https://idp.example/token',
  'https://idp.example:8443/oauth2/token?tenant=a',
  'http://127.0.0.1:8080/token',
  'http://127.1.2.3/token',
  'http://127.1/token',
  'http://localhost:3000/token',
  'http://LOCALHOST/token',
  'http://[::1]:3000/token',
];
