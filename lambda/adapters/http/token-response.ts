import type { IssuedTokens } from '../../core/ports.js';
import { ENGINE_DEFAULT_EXPIRES_IN_SECONDS, type ProviderBehaviour } from '../../core/provider-behaviour.js';
import type { InvalidResponseCode } from './invalid-response.js';
import { keptProviderFields } from './provider-fields.js';

/** Largest accepted `expires_in` (int32 seconds, ~68 years): keeps expiry dates representable. */
const MAX_EXPIRES_IN = 2_147_483_647;
/** A `token_type` kept in the record: printable ASCII without spaces, like an HTTP auth scheme. */
const TOKEN_TYPE = /^[\x21-\x7e]{1,64}$/;

export type TokenResponseParse =
  | { ok: true; tokens: IssuedTokens }
  | {
      ok: false;
      code: InvalidResponseCode;
      reason: string;
      /** A new refresh token the response carried all the same: the engine commits it. */
      refreshToken?: string;
    };

/**
 * Validates the object of a 2xx token response (RFC 6749 §5.1), JSON or form-encoded, as
 * the connection's provider behaves (`ProviderBehaviour.response`):
 *
 * - `access_token` is required (a non-empty string), and so is a well-formed
 *   `refresh_token` when present;
 * - `token_type` is information, stored as sent; only `acceptedTokenTypes` narrows it;
 * - a missing `expires_in` takes `defaultExpiresInSeconds`, else the engine's default
 *   (`ENGINE_DEFAULT_EXPIRES_IN_SECONDS`); a present but malformed one is refused;
 * - `scope` as sent (a JSON array is joined with the behaviour's separator);
 * - the refresh token's lifetime from `refreshTokenExpiresInField` (a `0` says none:
 *   Keycloak's offline token without a maximum; the behaviour's lifetimes then apply), kept
 *   fields from `keepFields` (each checked not to look like a secret: `provider-fields.ts`).
 *
 * A refused response that still carries a well-formed new refresh token returns it, so the
 * engine commits it rather than drop a token the provider already rotated. Reasons name
 * fields, never values: the values are secrets.
 */
export function parseTokenResponse(
  json: Record<string, unknown>,
  behaviour: ProviderBehaviour,
): TokenResponseParse {
  const { access_token, token_type, expires_in, refresh_token, scope } = json;
  if (refresh_token !== undefined && refresh_token !== null && !isToken(refresh_token)) {
    return fail('bad_refresh_token', 'refresh_token must be a non-empty string when present');
  }
  const refreshToken = isToken(refresh_token) ? refresh_token : undefined;
  const salvage = refreshToken !== undefined ? { refreshToken } : {};

  if (access_token === undefined || access_token === null) {
    return fail(
      'missing_access_token',
      typeof json.error === 'string'
        ? 'access_token is missing (the response carries an OAuth error member)'
        : 'access_token is missing',
      salvage,
    );
  }
  if (!isToken(access_token)) {
    return fail('bad_access_token', 'access_token must be a non-empty string', salvage);
  }

  const accepted = behaviour.response.acceptedTokenTypes;
  const tokenType = typeof token_type === 'string' && TOKEN_TYPE.test(token_type) ? token_type : undefined;
  if (accepted !== undefined) {
    const wanted = accepted.map((type) => type.toLowerCase());
    if (tokenType === undefined || !wanted.includes(tokenType.toLowerCase())) {
      return fail('bad_token_type', `token_type must be one of: ${accepted.join(', ')}`, salvage);
    }
  }

  let expiresIn = parseSeconds(expires_in);
  let expiresInDefault: IssuedTokens['expiresInDefault'];
  if (expiresIn === undefined) {
    if (expires_in !== undefined && expires_in !== null && expires_in !== '') {
      return fail(
        'bad_expires_in',
        'expires_in must be a positive number of seconds (a number or a string of digits)',
        salvage,
      );
    }
    const profileDefault = behaviour.response.defaultExpiresInSeconds;
    expiresIn = profileDefault ?? ENGINE_DEFAULT_EXPIRES_IN_SECONDS;
    expiresInDefault = profileDefault !== undefined ? 'profile' : 'engine';
  }

  // Scope is informational: a null is read as absent, an array of strings is joined.
  const grantedScope = Array.isArray(scope)
    ? scope.every((s) => typeof s === 'string')
      ? scope.join(behaviour.scope.separator)
      : null
    : scope === undefined || scope === null || typeof scope === 'string'
      ? (scope ?? undefined)
      : null;
  if (grantedScope === null) return fail('bad_scope', 'scope must be a string when present', salvage);

  const field = behaviour.response.refreshTokenExpiresInField;
  const refreshTokenExpiresIn = field !== undefined ? parseSeconds(json[field]) : undefined;
  const providerFields = keptProviderFields(json, behaviour.response.keepFields ?? []);

  return {
    ok: true,
    tokens: {
      accessToken: access_token,
      ...(tokenType !== undefined ? { tokenType } : {}),
      expiresIn,
      ...(expiresInDefault !== undefined ? { expiresInDefault } : {}),
      ...(refreshToken !== undefined ? { refreshToken } : {}),
      ...(grantedScope !== undefined && grantedScope !== '' ? { scope: grantedScope } : {}),
      ...(refreshTokenExpiresIn !== undefined ? { refreshTokenExpiresIn } : {}),
      ...(providerFields !== undefined ? { providerFields } : {}),
    },
  };
}

function isToken(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

/** Seconds from a number or a digit string (some providers send one), if positive and in range. */
function parseSeconds(value: unknown): number | undefined {
  let seconds: number;
  if (typeof value === 'number') seconds = value;
  else if (typeof value === 'string' && /^[0-9]{1,10}$/.test(value)) seconds = Number(value);
  else return undefined;
  return Number.isFinite(seconds) && seconds > 0 && seconds <= MAX_EXPIRES_IN ? seconds : undefined;
}

function fail(
  code: InvalidResponseCode,
  reason: string,
  salvage: { refreshToken?: string } = {},
): TokenResponseParse {
  return { ok: false, code, reason, ...salvage };
}
