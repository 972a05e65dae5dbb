import type { RefreshGrantRequest } from '../../core/ports.js';

/** The headers of a token request (any grant), including Basic client authentication if chosen. */
export function grantHeaders(
  request: Pick<RefreshGrantRequest, 'dialect' | 'clientAuth' | 'credentials'>,
  userAgent: string,
): Record<string, string> {
  const headers: Record<string, string> = {
    accept: 'application/json',
    'content-type': request.dialect === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
    'user-agent': userAgent,
  };
  if (request.clientAuth === 'client_secret_basic') {
    const { clientId, clientSecret } = request.credentials;
    headers.authorization = `Basic ${basicCredentials(clientId, clientSecret)}`;
  }
  return headers;
}

/** The body of a refresh grant request, form-encoded (RFC 6749) or JSON (the `json` dialect). */
export function grantBody(request: RefreshGrantRequest): string {
  const fields: [string, string][] = [
    ['grant_type', 'refresh_token'],
    ['refresh_token', request.refreshToken],
  ];
  if (request.scope !== undefined) fields.push(['scope', request.scope]);
  return encodeGrant(fields, request);
}

/**
 * Encodes a token request body of any grant: its own fields, then the client's
 * credentials for `client_secret_post`, as a form (RFC 6749) or JSON (the `json` dialect).
 */
export function encodeGrant(
  fields: [string, string][],
  request: Pick<RefreshGrantRequest, 'dialect' | 'clientAuth' | 'credentials'>,
): string {
  const all = [...fields];
  if (request.clientAuth === 'client_secret_post') {
    all.push(
      ['client_id', request.credentials.clientId],
      ['client_secret', request.credentials.clientSecret],
    );
  }
  return request.dialect === 'json'
    ? JSON.stringify(Object.fromEntries(all))
    : new URLSearchParams(all).toString();
}

/** The base64 `client_id:client_secret` of Basic auth; each part form-encoded first (RFC 6749 §2.3.1). */
export function basicCredentials(clientId: string, clientSecret: string): string {
  return Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`, 'utf8').toString('base64');
}

/** application/x-www-form-urlencoded serialization of one value (RFC 6749 Appendix B). */
export function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}
