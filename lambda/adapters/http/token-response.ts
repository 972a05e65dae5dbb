import type { IssuedTokens } from '../../core/ports.js';
import type { InvalidResponseCode } from './invalid-response.js';

/** Largest accepted `expires_in` (int32 seconds, ~68 years): keeps expiry dates representable. */
const MAX_EXPIRES_IN = 2_147_483_647;

export type TokenResponseParse =
  | { ok: true; tokens: IssuedTokens }
  | { ok: false; code: InvalidResponseCode; reason: string };

/**
 * Validates the JSON object of a 2xx token response (RFC 6749 §5.1) as strictly as
 * oauth4webapi does. Reasons name fields, never values: the values are secrets.
 */
export function parseTokenResponse(json: Record<string, unknown>): TokenResponseParse {
  const { access_token, token_type, expires_in, refresh_token, scope } = json;
  if (access_token === undefined) {
    return fail(
      'missing_access_token',
      typeof json.error === 'string'
        ? 'access_token is missing (the response carries an OAuth error member)'
        : 'access_token is missing',
    );
  }
  if (typeof access_token !== 'string' || access_token === '') {
    return fail('bad_access_token', 'access_token must be a non-empty string');
  }
  if (typeof token_type !== 'string' || token_type.toLowerCase() !== 'bearer') {
    return fail('bad_token_type', 'token_type must be Bearer');
  }
  const expiresIn = parseExpiresIn(expires_in);
  if (expiresIn === undefined) {
    return expires_in === undefined
      ? fail('missing_expires_in', 'expires_in is missing')
      : fail(
          'bad_expires_in',
          'expires_in must be a positive number of seconds (a number or a string of digits)',
        );
  }
  if (refresh_token !== undefined && (typeof refresh_token !== 'string' || refresh_token === '')) {
    return fail('bad_refresh_token', 'refresh_token must be a non-empty string when present');
  }
  // Scope is informational: a null is read as absent; any other non-string is malformed.
  if (scope !== undefined && scope !== null && typeof scope !== 'string') {
    return fail('bad_scope', 'scope must be a string when present');
  }
  return {
    ok: true,
    tokens: {
      accessToken: access_token,
      tokenType: 'Bearer',
      expiresIn,
      ...(refresh_token !== undefined ? { refreshToken: refresh_token } : {}),
      ...(typeof scope === 'string' && scope !== '' ? { scope } : {}),
    },
  };
}

/** Seconds from a number or a digit string (some providers send one), if positive and in range. */
function parseExpiresIn(value: unknown): number | undefined {
  let seconds: number;
  if (typeof value === 'number') seconds = value;
  else if (typeof value === 'string' && /^[0-9]{1,10}$/.test(value)) seconds = Number(value);
  else return undefined;
  return Number.isFinite(seconds) && seconds > 0 && seconds <= MAX_EXPIRES_IN ? seconds : undefined;
}

function fail(code: InvalidResponseCode, reason: string): TokenResponseParse {
  return { ok: false, code, reason };
}
