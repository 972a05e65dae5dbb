import type { CodeGrantRequest } from '../../core/connect-connection.js';
import { encodeGrant } from './grant-request.js';

/**
 * The body of an authorization code grant with PKCE (RFC 6749 §4.1.3, RFC 7636 §4.5),
 * form-encoded or JSON (the `json` dialect), with the client's credentials in the body
 * for `client_secret_post`. Headers are the refresh grant's (`grantHeaders`).
 */
export function codeGrantBody(request: CodeGrantRequest): string {
  const fields: [string, string][] = [
    ['grant_type', 'authorization_code'],
    ['code', request.code],
    ['redirect_uri', request.redirectUri],
    ['code_verifier', request.codeVerifier],
  ];
  return encodeGrant(fields, request);
}
