/**
 * How each provider answers at its token endpoint, written from its documentation and
 * public bug threads (the same sources as its profile in lambda/providers/profiles.json,
 * but kept apart from the profile on purpose: the replay checks the profile, it does not
 * echo it). Bodies are as the provider sends them, quirks included: Salesforce's missing
 * `expires_in`, Slack's `ok:false` inside HTTP 200, GitHub's form-encoded 200 errors,
 * HubSpot's `status` instead of `error`, Auth0's and Atlassian's 403 `invalid_grant`.
 */

/** One answer: status, headers and a body (an object is sent as JSON, a string as is). */
export interface ReplayAnswer {
  status: number;
  headers?: Record<string, string>;
  body: Record<string, unknown> | string;
}

/** What a successful refresh issued, for a provider's success body. */
export interface IssuedSet {
  accessToken: string;
  /** The refresh token to send back: a new one, the same one (echoed), or none. */
  refreshToken?: string;
  /** The scope the grant has (as the operator requested it at authorization). */
  grantScope: string;
  /** The scope of this request, when it sent one. */
  requestScope?: string;
  /** Seconds the returned refresh token has left, where the provider says so. */
  refreshTokenExpiresIn?: number;
  /** Epoch ms now (the replay's clock). */
  now: number;
  /** The code exchange's set (the first of a grant), not a refresh's. */
  firstSet: boolean;
}

/** What a provider does with refresh tokens (its documented rotation). */
export type ReplayRotation =
  /** A new refresh token every refresh; the old one dies after the reuse window. */
  | 'rotate'
  /** The refresh token is never replaced; the answer may echo it or omit it. */
  | 'keep';

export interface ReplayProvider {
  /** Client authentication the provider accepts at its token endpoint. */
  clientAuth: readonly ('basic' | 'post')[];
  /** Request bodies it accepts. */
  bodies: readonly ('form' | 'json')[];
  /** Its default rotation (`optional` providers: the default of a new app). */
  rotation: ReplayRotation;
  /** With `keep`: whether the success body repeats the refresh token (HubSpot, Intuit). */
  echoRefreshToken?: boolean;
  /** Seconds a replaced refresh token is still accepted (Xero 1800, Atlassian 600). */
  reuseWindowSeconds: number;
  /** A replaced token used after the window revokes the whole grant (reuse detection). */
  revokeFamilyOnReuse: boolean;
  /** Each refresh token dies this long after it was issued (GitHub 6 months, Box 60 days). */
  tokenLifetimeSeconds?: number;
  /** The grant dies this long after the authorization, whatever the refreshes (Spotify, Atlassian). */
  grantLifetimeSeconds?: number;
  /** GitHub: JSON only when the request's Accept asks for it, form-encoded otherwise. */
  negotiatesFormat?: boolean;
  success(set: IssuedSet): ReplayAnswer;
  /** Documented error answers, by name; every provider has `dead_token` and `invalid_client`. */
  errors: Record<string, ReplayAnswer> & { dead_token: ReplayAnswer; invalid_client: ReplayAnswer };
}

const json = (
  status: number,
  body: Record<string, unknown>,
  headers?: Record<string, string>,
): ReplayAnswer => ({
  status,
  body,
  ...(headers ? { headers } : {}),
});

const oauthError = (
  status: number,
  error: string,
  description?: string,
  extra: Record<string, unknown> = {},
) => json(status, { error, ...(description ? { error_description: description } : {}), ...extra });

/** RFC 6749 §5.2: a client that failed to authenticate (with Basic, 401). */
const invalidClient = oauthError(401, 'invalid_client', 'Client authentication failed');

const bearer = (
  set: IssuedSet,
  expiresIn: number,
  tokenType = 'Bearer',
  extra: Record<string, unknown> = {},
) => ({
  access_token: set.accessToken,
  token_type: tokenType,
  expires_in: expiresIn,
  ...(set.refreshToken ? { refresh_token: set.refreshToken } : {}),
  ...extra,
});

const ok = (body: Record<string, unknown>): ReplayAnswer => json(200, body);

export const REPLAY_PROVIDERS = {
  askara: {
    clientAuth: ['post'],
    bodies: ['json'],
    rotation: 'rotate',
    reuseWindowSeconds: 0,
    revokeFamilyOnReuse: true,
    success: (set) => ok(bearer(set, 3600, 'Bearer', { scope: set.grantScope })),
    errors: {
      dead_token: oauthError(400, 'invalid_grant', 'The refresh token is invalid, expired or already used'),
      invalid_client: invalidClient,
    },
  },
  xero: {
    // developer.xero.com/documentation/guides/oauth2/auth-flow: Basic auth, 30-minute tokens,
    // the previous refresh token usable for 30 minutes after a refresh.
    clientAuth: ['basic'],
    bodies: ['form'],
    rotation: 'rotate',
    reuseWindowSeconds: 1800,
    revokeFamilyOnReuse: false,
    tokenLifetimeSeconds: 60 * 86_400,
    success: (set) => ok(bearer(set, 1800, 'Bearer', { scope: set.grantScope })),
    errors: {
      dead_token: oauthError(400, 'invalid_grant'),
      invalid_client: oauthError(400, 'invalid_client'),
    },
  },
  quickbooks: {
    // Intuit: Basic auth; x_refresh_token_expires_in (100 days, rolling); the value is echoed
    // (it changes about daily).
    clientAuth: ['basic'],
    bodies: ['form'],
    rotation: 'keep',
    echoRefreshToken: true,
    reuseWindowSeconds: 0,
    revokeFamilyOnReuse: false,
    grantLifetimeSeconds: 5 * 365 * 86_400,
    success: (set) =>
      ok({
        token_type: 'bearer',
        expires_in: 3600,
        refresh_token: set.refreshToken,
        x_refresh_token_expires_in: set.refreshTokenExpiresIn ?? 8_726_400,
        access_token: set.accessToken,
      }),
    errors: {
      dead_token: oauthError(400, 'invalid_grant'),
      invalid_client: oauthError(401, 'invalid_client'),
    },
  },
  salesforce: {
    // help.salesforce.com, refresh token flow: no expires_in; instance_url, id, issued_at,
    // signature; a refresh token in the answer only with rotation on (off by default).
    clientAuth: ['post', 'basic'],
    bodies: ['form'],
    rotation: 'keep',
    reuseWindowSeconds: 0,
    revokeFamilyOnReuse: false,
    success: (set) =>
      ok({
        access_token: set.accessToken,
        ...(set.refreshToken ? { refresh_token: set.refreshToken } : {}),
        signature: 'c2lnbmF0dXJlLW9mLWlkLWFuZC1pc3N1ZWQtYXQ=',
        scope: set.grantScope,
        instance_url: 'https://acme.my.salesforce.com',
        id: 'https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P',
        token_type: 'Bearer',
        issued_at: String(set.now),
      }),
    errors: {
      dead_token: oauthError(400, 'invalid_grant', 'expired access/refresh token'),
      invalid_client: oauthError(400, 'invalid_client', 'invalid client credentials'),
      inactive_user: oauthError(400, 'invalid_grant', 'inactive user'),
    },
  },
  google: {
    // developers.google.com/identity/protocols/oauth2/web-server#offline: no refresh token on a
    // refresh; refresh_token_expires_in only for time-based access.
    clientAuth: ['post', 'basic'],
    bodies: ['form'],
    rotation: 'keep',
    reuseWindowSeconds: 0,
    revokeFamilyOnReuse: false,
    success: (set) => ok(bearer(set, 3599, 'Bearer', { scope: set.grantScope })),
    errors: {
      dead_token: oauthError(400, 'invalid_grant', 'Token has been expired or revoked.'),
      invalid_client: oauthError(401, 'invalid_client', 'The OAuth client was not found.'),
      time_based_success: ok({
        access_token: 'ya29.replayed-time-based',
        expires_in: 3599,
        refresh_token_expires_in: 86_400,
        scope: 'https://www.googleapis.com/auth/drive.readonly',
        token_type: 'Bearer',
      }),
    },
  },
  'microsoft-entra': {
    // learn.microsoft.com v2-oauth2-auth-code-flow: a new refresh token each time, the old one
    // not revoked; the scope of one resource only (narrower than requested).
    clientAuth: ['post', 'basic'],
    bodies: ['form'],
    rotation: 'rotate',
    reuseWindowSeconds: 90 * 86_400,
    revokeFamilyOnReuse: false,
    success: (set) => ok(bearer(set, 4158, 'Bearer', { scope: entraScope(set), ext_expires_in: 4158 })),
    errors: {
      dead_token: oauthError(
        400,
        'invalid_grant',
        'AADSTS700082: The refresh token has expired due to inactivity.',
        { error_codes: [700082], trace_id: 'replay', correlation_id: 'replay' },
      ),
      invalid_client: oauthError(401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.', {
        error_codes: [7000215],
      }),
      interaction_required: oauthError(
        400,
        'interaction_required',
        'AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.',
        { error_codes: [50076], suberror: 'basic_action' },
      ),
    },
  },
  okta: {
    // developer.okta.com refresh tokens: rotation (the default for new apps) with a 30 s grace
    // period; rate limits signalled by X-Rate-Limit-Reset, no Retry-After.
    clientAuth: ['basic', 'post'],
    bodies: ['form'],
    rotation: 'rotate',
    reuseWindowSeconds: 30,
    revokeFamilyOnReuse: true,
    success: (set) => ok(bearer(set, 3600, 'Bearer', { scope: set.grantScope })),
    errors: {
      dead_token: oauthError(400, 'invalid_grant', 'The refresh token is invalid or expired.'),
      invalid_client: oauthError(401, 'invalid_client', 'Client authentication failed.'),
      rate_limited: json(
        429,
        { errorCode: 'E0000047', errorSummary: 'API call exceeded rate limit due to too many requests.' },
        { 'x-rate-limit-limit': '600', 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': '{resetEpoch}' },
      ),
    },
  },
  auth0: {
    // auth0.com refresh token rotation: a dead token is 403 invalid_grant; reuse revokes the family.
    clientAuth: ['post', 'basic'],
    bodies: ['form', 'json'],
    rotation: 'rotate',
    reuseWindowSeconds: 0,
    revokeFamilyOnReuse: true,
    success: (set) => ok(bearer(set, 86_400, 'Bearer', { scope: set.grantScope })),
    errors: {
      dead_token: oauthError(403, 'invalid_grant', 'Unknown or invalid refresh token.'),
      invalid_client: oauthError(401, 'access_denied', 'Unauthorized'),
    },
  },
  zoom: {
    // developers.zoom.us OAuth: Basic auth; a new refresh token each time; api_url.
    clientAuth: ['basic'],
    bodies: ['form'],
    rotation: 'rotate',
    reuseWindowSeconds: 0,
    revokeFamilyOnReuse: false,
    tokenLifetimeSeconds: 90 * 86_400,
    success: (set) =>
      ok(bearer(set, 3599, 'bearer', { scope: set.grantScope, api_url: 'https://api.zoom.us' })),
    errors: {
      dead_token: json(400, { reason: 'Invalid Token!', error: 'invalid_grant' }),
      invalid_client: json(400, { reason: 'Invalid client_id or client_secret', error: 'invalid_client' }),
    },
  },
  hubspot: {
    // developers.hubspot.com OAuth tokens: credentials in the body; the same refresh token back;
    // errors carry status, not error.
    clientAuth: ['post'],
    bodies: ['form'],
    rotation: 'keep',
    echoRefreshToken: true,
    reuseWindowSeconds: 0,
    revokeFamilyOnReuse: false,
    success: (set) =>
      ok({
        token_type: 'bearer',
        refresh_token: set.refreshToken,
        access_token: set.accessToken,
        expires_in: 1800,
      }),
    errors: {
      dead_token: json(400, {
        status: 'BAD_REFRESH_TOKEN',
        message: 'missing or unknown refresh token',
        correlationId: '3e8a6b2c-replay',
        requestId: 'replay',
      }),
      invalid_client: json(400, {
        status: 'BAD_CLIENT_ID',
        message: 'missing or unknown client id',
        correlationId: '3e8a6b2c-replay',
      }),
    },
  },
  dropbox: {
    // dropbox.com developers, /oauth2/token: no refresh token on a refresh, 4-hour tokens.
    clientAuth: ['basic', 'post'],
    bodies: ['form'],
    rotation: 'keep',
    reuseWindowSeconds: 0,
    revokeFamilyOnReuse: false,
    success: (set) =>
      ok(
        bearer(
          set,
          14_400,
          'bearer',
          // Who authorized comes with the code exchange only.
          set.firstSet
            ? { scope: set.grantScope, uid: '12345', account_id: 'dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc' }
            : {},
        ),
      ),
    errors: {
      dead_token: oauthError(400, 'invalid_grant', 'refresh token is invalid or revoked'),
      invalid_client: oauthError(400, 'invalid_client', 'Invalid client_id or client_secret'),
    },
  },
  atlassian: {
    // developer.atlassian.com OAuth 2.0 (3LO): JSON bodies, rotating tokens with a 10-minute
    // reuse interval, a dead token is 403 invalid_grant, 365 days absolute.
    clientAuth: ['post'],
    bodies: ['json', 'form'],
    rotation: 'rotate',
    reuseWindowSeconds: 600,
    revokeFamilyOnReuse: true,
    tokenLifetimeSeconds: 90 * 86_400,
    grantLifetimeSeconds: 365 * 86_400,
    success: (set) => ok(bearer(set, 3600, 'Bearer', { scope: set.grantScope })),
    errors: {
      dead_token: oauthError(403, 'invalid_grant', 'Unknown or invalid refresh token.'),
      invalid_client: oauthError(401, 'access_denied', 'Unauthorized'),
      unauthorized_client: oauthError(403, 'unauthorized_client', 'refresh_token is invalid'),
    },
  },
  spotify: {
    // developer.spotify.com refreshing tokens: Basic auth; a new refresh token only sometimes
    // (none by default here); 6 months from the authorization.
    clientAuth: ['basic'],
    bodies: ['form'],
    rotation: 'keep',
    reuseWindowSeconds: 0,
    revokeFamilyOnReuse: false,
    grantLifetimeSeconds: 180 * 86_400,
    success: (set) => ok(bearer(set, 3600, 'Bearer', { scope: set.grantScope })),
    errors: {
      dead_token: oauthError(400, 'invalid_grant', 'Invalid refresh token'),
      invalid_client: oauthError(400, 'invalid_client', 'Invalid client secret'),
    },
  },
  keycloak: {
    // keycloak.org server admin, timeouts: 5-minute access tokens; refresh_expires_in (the SSO
    // session's idle time, or 0 for an offline token without a maximum); a new refresh token
    // each time, the old one valid until the session ends ("Revoke Refresh Token" off).
    clientAuth: ['basic', 'post'],
    bodies: ['form'],
    rotation: 'rotate',
    reuseWindowSeconds: 1800,
    revokeFamilyOnReuse: false,
    success: (set) =>
      ok(
        bearer(set, 300, 'Bearer', {
          refresh_expires_in: set.grantScope.split(' ').includes('offline_access') ? 0 : 1800,
          id_token: 'eyJhbGciOiJSUzI1NiJ9.replay.signature',
          'not-before-policy': 0,
          session_state: 'replay-session',
          scope: set.grantScope,
        }),
      ),
    errors: {
      dead_token: oauthError(400, 'invalid_grant', 'Token is not active'),
      invalid_client: oauthError(401, 'unauthorized_client', 'Invalid client or Invalid client credentials'),
    },
  },
  'github-app': {
    // docs.github.com, refreshing user access tokens: 8-hour tokens, single-use refresh tokens
    // that live 6 months; errors (bad_refresh_token) as HTTP 200; form-encoded unless Accept
    // asks for JSON.
    clientAuth: ['post'],
    bodies: ['form'],
    rotation: 'rotate',
    reuseWindowSeconds: 0,
    revokeFamilyOnReuse: false,
    tokenLifetimeSeconds: 15_811_200,
    negotiatesFormat: true,
    success: (set) =>
      ok({
        access_token: set.accessToken,
        expires_in: 28_800,
        refresh_token: set.refreshToken,
        refresh_token_expires_in: set.refreshTokenExpiresIn ?? 15_811_200,
        scope: '',
        token_type: 'bearer',
      }),
    errors: {
      dead_token: ok({
        error: 'bad_refresh_token',
        error_description: 'The refresh token passed is incorrect or expired.',
        error_uri:
          'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors',
      }),
      dead_token_form: {
        status: 200,
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body:
          'error=bad_refresh_token&error_description=The+refresh+token+passed+is+incorrect+or+expired.' +
          '&error_uri=https%3A%2F%2Fdocs.github.com%2Fapps%2Fmanaging-oauth-apps%2Ftroubleshooting-oauth-app-access-token-request-errors',
      },
      invalid_client: ok({
        error: 'incorrect_client_credentials',
        error_description: 'The client_id and/or client_secret passed are incorrect.',
      }),
    },
  },
  slack: {
    // docs.slack.dev token rotation and oauth.v2.access: token_type bot or user; every error
    // is HTTP 200 with ok:false; each refresh revokes the refresh token used.
    clientAuth: ['basic', 'post'],
    bodies: ['form'],
    rotation: 'rotate',
    reuseWindowSeconds: 0,
    revokeFamilyOnReuse: false,
    success: (set) =>
      ok({
        ok: true,
        app_id: 'A0KRD7HC3',
        access_token: set.accessToken,
        expires_in: 43_200,
        refresh_token: set.refreshToken,
        token_type: 'bot',
        scope: set.grantScope,
        bot_user_id: 'U0KRQLJ9H',
        team: { id: 'T9TK3CUKW', name: 'Slack Softball Team' },
        enterprise: null,
        is_enterprise_install: false,
      }),
    errors: {
      dead_token: ok({ ok: false, error: 'invalid_refresh_token' }),
      invalid_client: ok({ ok: false, error: 'invalid_client_id' }),
      bad_client_secret: ok({ ok: false, error: 'bad_client_secret' }),
      user_token_success: ok({
        ok: true,
        access_token: 'xoxe.xoxp-replayed-user',
        expires_in: 43_200,
        refresh_token: 'xoxe-1-replayed-user',
        token_type: 'user',
        scope: 'search:read',
      }),
      rate_limited: json(429, { ok: false, error: 'ratelimited' }, { 'retry-after': '30' }),
    },
  },
  box: {
    // developer.box.com refresh: single-use refresh tokens, each valid 60 days.
    clientAuth: ['post'],
    bodies: ['form'],
    rotation: 'rotate',
    reuseWindowSeconds: 0,
    revokeFamilyOnReuse: false,
    tokenLifetimeSeconds: 60 * 86_400,
    success: (set) => ok(bearer(set, 3600, 'bearer', { restricted_to: [] })),
    errors: {
      dead_token: oauthError(400, 'invalid_grant', 'Invalid refresh token'),
      invalid_client: oauthError(400, 'invalid_client', 'The client credentials are invalid'),
    },
  },
} satisfies Record<string, ReplayProvider>;

export type ReplayProfileName = keyof typeof REPLAY_PROVIDERS;

/** Entra returns the scopes of one resource (the first requested), offline_access aside. */
function entraScope(set: IssuedSet): string {
  const scopes = (set.requestScope ?? set.grantScope)
    .split(' ')
    .filter((s) => s !== '' && s !== 'offline_access');
  const resource = (scope: string) => (scope.includes('/') ? scope.slice(0, scope.lastIndexOf('/')) : '');
  const first = scopes[0];
  return first === undefined ? '' : scopes.filter((scope) => resource(scope) === resource(first)).join(' ');
}

/** Answers every provider can give, whatever its documentation (the network and its proxies). */
export const GENERIC_ANSWERS: Record<string, ReplayAnswer> = {
  unavailable: json(503, { error: 'temporarily_unavailable' }, { 'retry-after': '120' }),
  server_error: json(500, { error: 'server_error' }),
  rate_limited: json(429, { error: 'slow_down' }, { 'retry-after': '60' }),
  html_error: {
    status: 502,
    headers: { 'content-type': 'text/html' },
    body: '<html><body>Bad Gateway</body></html>',
  },
};
