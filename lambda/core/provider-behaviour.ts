/**
 * How one provider behaves at its token endpoint, as the engine and the HTTP adapter need
 * it: the contract between provider profiles (data, `lambda/providers/`) and the code.
 * A record stores the behaviour it was connected with (resolved from its profile, or the
 * defaults for a custom provider), so a later change of a profile never changes a
 * connection's behaviour silently.
 *
 * Every field has a default that is RFC 6749 plus the tolerance every connection gets
 * (errors inside 2xx bodies, the common dead-token codes): `DEFAULT_BEHAVIOUR`.
 */
export interface ProviderBehaviour {
  scope: {
    /** Whether a refresh request repeats the connection's scope. */
    sendOnRefresh: boolean;
    /** How scopes are joined in requests and split in responses. */
    separator: ' ' | ',' | '+';
  };
  response: {
    /**
     * Seconds an access token lives when a successful response has no `expires_in`
     * (Salesforce). Absent: the engine's default for custom providers.
     */
    defaultExpiresInSeconds?: number;
    /** `token_type` values accepted (case-insensitive). Absent: any, stored as sent. */
    acceptedTokenTypes?: readonly string[];
    /** Response field with the refresh token's remaining lifetime in seconds (`refresh_token_expires_in`). */
    refreshTokenExpiresInField?: string;
    /** Non-secret response fields kept in the record for consumers (`instance_url`, `api_url`). */
    keepFields?: readonly string[];
  };
  errors: {
    /** Fields that carry the error code, in order (`error`; HubSpot's `status`). */
    codeFields: readonly string[];
    /** Codes meaning "this refresh token is dead", besides `invalid_grant`. */
    deadTokenCodes: readonly string[];
    /**
     * Codes that mean "try again later" whatever the status they come with (Slack's
     * `ratelimited`, inside a 200): transient, with the backoff, never a configuration error.
     */
    transientCodes?: readonly string[];
    /** The header that carries the retry delay. */
    retryAfterHeader: string;
  };
  rotation: {
    /** `rotating`: every refresh returns a new refresh token; `static`: never; `optional`: configurable at the provider. */
    model: 'rotating' | 'static' | 'optional';
    /** Seconds a replaced refresh token stays usable (Xero: 1800). 0: one reuse revokes the family. */
    reuseWindowSeconds: number;
    /** Documented idle lifetime of a refresh token (unused this long, it expires). */
    idleLifetimeSeconds?: number;
    /** Documented absolute lifetime of a refresh token (from the grant; re-authentication after). */
    absoluteLifetimeSeconds?: number;
  };
}

/** Codes that mean the refresh token is dead, whatever the provider (each seen in the wild). */
export const COMMON_DEAD_TOKEN_CODES: readonly string[] = [
  'invalid_grant',
  'bad_refresh_token', // GitHub Apps
  'invalid_refresh_token', // Slack
  'BAD_REFRESH_TOKEN', // HubSpot
];

/** RFC 6749, with the tolerance every connection gets. */
export const DEFAULT_BEHAVIOUR: ProviderBehaviour = {
  scope: { sendOnRefresh: true, separator: ' ' },
  response: {},
  errors: { codeFields: ['error'], deadTokenCodes: COMMON_DEAD_TOKEN_CODES, retryAfterHeader: 'retry-after' },
  rotation: { model: 'optional', reuseWindowSeconds: 0 },
};

/**
 * The access-token lifetime the engine assumes when a successful response has no
 * `expires_in` and the behaviour gives no `defaultExpiresInSeconds` (a custom provider):
 * one hour, the most common lifetime. Safe both ways: a token that lives shorter makes its
 * consumers' 401s ask for an on-demand refresh, and one that lives longer is only
 * refreshed sooner than needed. The engine logs a warning the first time it applies it to
 * a connection (docs/refresh-transaction.md, "Lenient where it is safe").
 */
export const ENGINE_DEFAULT_EXPIRES_IN_SECONDS = 3600;

/** Whether `code` is one the provider documents as temporary (Slack's `ratelimited` in a 200). */
export function isTransientCode(code: string, behaviour: ProviderBehaviour): boolean {
  return behaviour.errors.transientCodes?.includes(code) ?? false;
}

/** Whether `code` says the refresh token is dead for this provider (`invalid_grant` always does). */
export function isDeadTokenCode(code: string, behaviour: ProviderBehaviour): boolean {
  return code === 'invalid_grant' || behaviour.errors.deadTokenCodes.includes(code);
}
