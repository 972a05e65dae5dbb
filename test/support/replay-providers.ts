import { DEFAULT_BEHAVIOUR, type ProviderBehaviour } from '../../lambda/core/provider-behaviour.js';
import type { ProviderModel } from './provider-replay.js';

/**
 * Provider behaviours and replayed answers for the engine's proof
 * (test/integration/provider-replay.test.ts), each written from the provider's
 * documentation (cited) and the facts. The behaviours stand in for the provider
 * profiles (`lambda/providers/`) until those land: a record carries its behaviour, so the
 * engine is tested with what a profile would resolve to.
 */

const behaviour = (changes: {
  scope?: Partial<ProviderBehaviour['scope']>;
  response?: ProviderBehaviour['response'];
  errors?: Partial<ProviderBehaviour['errors']>;
  rotation?: Partial<ProviderBehaviour['rotation']>;
}): ProviderBehaviour => ({
  scope: { ...DEFAULT_BEHAVIOUR.scope, ...changes.scope },
  response: { ...DEFAULT_BEHAVIOUR.response, ...changes.response },
  errors: { ...DEFAULT_BEHAVIOUR.errors, ...changes.errors },
  rotation: { ...DEFAULT_BEHAVIOUR.rotation, ...changes.rotation },
});

const DAY = 86_400;
const invalidGrant = (description: string) => ({
  status: 400,
  body: { error: 'invalid_grant', error_description: description },
});
/** A 200 JSON success body. */
const json200 = (body: Record<string, unknown>) => ({ status: 200, body });
const form = (status: number, fields: Record<string, string>) => ({
  status,
  headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
  body: new URLSearchParams(fields).toString(),
});

export interface ReplayProvider {
  behaviour: ProviderBehaviour;
  model: ProviderModel;
  /** The scope the connection asks for, if any. */
  scope?: string;
}

/**
 * Salesforce, refresh token flow (help.salesforce.com "OAuth 2.0 Refresh Token Flow for
 * Renewed Sessions"): the response has no `expires_in` (the session timeout, by default
 * 2 hours, decides) and carries `instance_url`, `id`, `issued_at` and `signature`; with
 * refresh-token rotation on, a new `refresh_token`. A dead token: 400 `invalid_grant`
 * "expired access/refresh token".
 */
export const SALESFORCE: ReplayProvider = {
  behaviour: behaviour({
    response: { defaultExpiresInSeconds: 7200, keepFields: ['instance_url', 'id', 'issued_at'] },
    rotation: { model: 'optional' },
  }),
  model: {
    rotates: true,
    success: ({ accessToken, refreshToken }) =>
      json200({
        access_token: accessToken,
        ...(refreshToken ? { refresh_token: refreshToken } : {}),
        signature: 'CMJ4l+CCaPQiKjoOEwEig9H4wqhpuLSk4J2urAe+fVg=',
        scope: 'refresh_token api',
        instance_url: 'https://example.my.salesforce.com',
        id: 'https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P',
        token_type: 'Bearer',
        issued_at: '1278448384422',
      }),
    dead: () => invalidGrant('expired access/refresh token'),
  },
};

/**
 * Slack with token rotation (api.slack.com/authentication/rotation, oauth.v2.access):
 * `token_type` is `bot` or `user`; every refresh rotates; errors are HTTP 200
 * `{"ok": false, "error": "invalid_refresh_token"}`. No reuse of a replaced token.
 */
export const SLACK: ReplayProvider = {
  behaviour: behaviour({
    response: { acceptedTokenTypes: ['bot', 'user'], keepFields: ['bot_user_id', 'app_id'] },
    errors: { deadTokenCodes: ['invalid_refresh_token', 'invalid_grant'] },
    rotation: { model: 'rotating', reuseWindowSeconds: 0 },
  }),
  model: {
    rotates: true,
    success: ({ accessToken, refreshToken }) =>
      json200({
        ok: true,
        app_id: 'A0KRD7HC3',
        access_token: accessToken,
        refresh_token: refreshToken,
        expires_in: 43_200,
        token_type: 'bot',
        scope: 'commands,incoming-webhook',
        bot_user_id: 'U0KRQLJ9H',
        team: { name: 'Slack Pickleball Team', id: 'T9TK3CUKW' },
      }),
    dead: () => ({ status: 200, body: { ok: false, error: 'invalid_refresh_token' } }),
  },
};

/**
 * GitHub App user-to-server tokens (docs.github.com "Refreshing user access tokens"):
 * access tokens live 8 hours, refresh tokens 6 months (`refresh_token_expires_in`
 * 15811200) and rotate; the default answer is form-encoded, and a bad refresh token is
 * HTTP 200 `error=bad_refresh_token`.
 */
export const GITHUB_APP: ReplayProvider = {
  behaviour: behaviour({
    scope: { sendOnRefresh: false, separator: ',' },
    response: { refreshTokenExpiresInField: 'refresh_token_expires_in' },
    rotation: { model: 'rotating', reuseWindowSeconds: 0, absoluteLifetimeSeconds: 15_811_200 },
  }),
  model: {
    rotates: true,
    success: ({ accessToken, refreshToken }) =>
      form(200, {
        access_token: accessToken,
        expires_in: '28800',
        refresh_token: refreshToken ?? '',
        refresh_token_expires_in: '15811200',
        scope: '',
        token_type: 'bearer',
      }),
    dead: () =>
      form(200, {
        error: 'bad_refresh_token',
        error_description: 'The refresh token passed is incorrect or expired.',
        error_uri:
          'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code',
      }),
  },
};

/**
 * HubSpot (developers.hubspot.com, OAuth "Refresh an access token"): access tokens live
 * 30 minutes; the refresh token does not rotate; an unknown refresh token is HTTP 400
 * `{"status": "BAD_REFRESH_TOKEN", "message": ...}`, without an `error` member.
 */
export const HUBSPOT: ReplayProvider = {
  behaviour: behaviour({
    errors: { codeFields: ['error', 'status'] },
    rotation: { model: 'static' },
  }),
  model: {
    rotates: false,
    success: ({ accessToken }) =>
      json200({ token_type: 'bearer', access_token: accessToken, expires_in: 1800 }),
    dead: () => ({
      status: 400,
      body: {
        status: 'BAD_REFRESH_TOKEN',
        message: 'missing or unknown refresh token',
        correlationId: '6f4b1f2e-7a1c-4b7e-9b8a-0d3c2e1f4a5b',
        requestId: 'a1b2c3d4',
      },
    }),
  },
};

/**
 * Google (developers.google.com/identity/protocols/oauth2/web-server, "Refreshing an access
 * token"): no new refresh token (it does not rotate), `expires_in` 3599, the granted scope;
 * a revoked token: 400 `invalid_grant` "Token has been expired or revoked."
 */
export const GOOGLE: ReplayProvider = {
  behaviour: behaviour({ rotation: { model: 'static' } }),
  scope: 'https://www.googleapis.com/auth/drive.metadata.readonly',
  model: {
    rotates: false,
    success: ({ accessToken }) =>
      json200({
        access_token: accessToken,
        expires_in: 3599,
        scope: 'https://www.googleapis.com/auth/drive.metadata.readonly',
        token_type: 'Bearer',
      }),
    dead: () => invalidGrant('Token has been expired or revoked.'),
  },
};

/**
 * Microsoft Entra ID v2 (learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow,
 * "Refresh the access token"): rotates, the replaced refresh token stays usable, the
 * granted `scope` may be narrower than the one asked for; refresh tokens expire after 90
 * days unused.
 */
export const ENTRA: ReplayProvider = {
  behaviour: behaviour({
    rotation: { model: 'rotating', reuseWindowSeconds: 86_400, idleLifetimeSeconds: 90 * DAY },
  }),
  scope: 'offline_access https://graph.microsoft.com/mail.read https://graph.microsoft.com/mail.send',
  model: {
    rotates: true,
    reuseWindowSeconds: 86_400,
    success: ({ accessToken, refreshToken }) =>
      json200({
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: 3599,
        scope: 'https://graph.microsoft.com/mail.read',
        refresh_token: refreshToken,
      }),
    dead: () => ({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'AADSTS70008: The refresh token has expired.' },
    }),
  },
};

/**
 * Keycloak (keycloak.org server admin guide, "Session and token timeouts"): access tokens
 * live 5 minutes by default; `refresh_expires_in` gives the refresh token's remaining
 * lifetime (SSO Session Idle, 30 minutes); rotates. A dead token: 400 `invalid_grant`
 * "Token is not active".
 */
export const KEYCLOAK: ReplayProvider = {
  behaviour: behaviour({
    response: { refreshTokenExpiresInField: 'refresh_expires_in' },
    rotation: { model: 'rotating' },
  }),
  model: {
    rotates: true,
    success: ({ accessToken, refreshToken }) =>
      json200({
        access_token: accessToken,
        expires_in: 300,
        refresh_expires_in: 1800,
        refresh_token: refreshToken,
        token_type: 'Bearer',
        'not-before-policy': 0,
        session_state: '8d1b1c6e-4b0e-4b7c-9f6e-2b5d8c1a3f7e',
        scope: 'profile email',
      }),
    dead: () => invalidGrant('Token is not active'),
  },
};

/**
 * Intuit QuickBooks (developer.intuit.com, OAuth 2.0 "Refresh the token"): `token_type`
 * `bearer`, `x_refresh_token_expires_in` the refresh token's remaining lifetime (up to
 * 5 years); a dead token: 400 `invalid_grant`.
 */
export const INTUIT: ReplayProvider = {
  behaviour: behaviour({
    response: { refreshTokenExpiresInField: 'x_refresh_token_expires_in' },
    rotation: { model: 'optional' },
  }),
  model: {
    rotates: true,
    success: ({ accessToken, refreshToken }) =>
      json200({
        token_type: 'bearer',
        expires_in: 3600,
        refresh_token: refreshToken,
        x_refresh_token_expires_in: 8_726_400,
        access_token: accessToken,
      }),
    dead: () => ({ status: 400, body: { error: 'invalid_grant' } }),
  },
};

/**
 * Xero (developer.xero.com/documentation/guides/oauth2/auth-flow, "Refreshing access and
 * refresh tokens"): rotates, and the replaced refresh token stays usable for a 30-minute
 * grace period; unused refresh tokens expire after 60 days; access tokens live 30 minutes.
 */
export const XERO: ReplayProvider = {
  behaviour: behaviour({
    rotation: { model: 'rotating', reuseWindowSeconds: 1800, idleLifetimeSeconds: 60 * DAY },
  }),
  model: {
    rotates: true,
    reuseWindowSeconds: 1800,
    success: ({ accessToken, refreshToken }) =>
      json200({
        access_token: accessToken,
        expires_in: 1800,
        token_type: 'Bearer',
        refresh_token: refreshToken,
        scope: 'offline_access accounting.transactions',
      }),
    dead: () => invalidGrant('invalid_grant'),
  },
};

/**
 * Box (developer.box.com/guides/authentication/tokens/refresh): every refresh rotates,
 * a refresh token is single use (no grace), 60-day lifetime.
 */
export const BOX: ReplayProvider = {
  behaviour: behaviour({
    rotation: { model: 'rotating', reuseWindowSeconds: 0, absoluteLifetimeSeconds: 60 * DAY },
  }),
  model: {
    rotates: true,
    success: ({ accessToken, refreshToken }) =>
      json200({
        access_token: accessToken,
        expires_in: 3600,
        restricted_to: [],
        refresh_token: refreshToken,
        token_type: 'bearer',
      }),
    dead: () => invalidGrant('Refresh token has expired'),
  },
};

/** Every replayed provider, by the path it is served at. */
export const REPLAY_PROVIDERS = {
  salesforce: SALESFORCE,
  slack: SLACK,
  github: GITHUB_APP,
  hubspot: HUBSPOT,
  google: GOOGLE,
  entra: ENTRA,
  keycloak: KEYCLOAK,
  intuit: INTUIT,
  xero: XERO,
  box: BOX,
} as const satisfies Record<string, ReplayProvider>;

export type ReplayProviderName = keyof typeof REPLAY_PROVIDERS;
