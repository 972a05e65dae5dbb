import type { ProviderBehaviour } from './provider-behaviour.js';

/**
 * When a refresh token expires, as far as the provider tells (pure): re-authentication is
 * needed after it (docs/refresh-transaction.md, "Refresh-token expiry").
 *
 * 1. The response says so (`response.refreshTokenExpiresInField`: GitHub's
 *    `refresh_token_expires_in`, Intuit's `x_refresh_token_expires_in`, Keycloak's
 *    `refresh_expires_in`): the time the request was sent plus that many seconds.
 * 2. Else the behaviour's documented lifetimes, the earlier of: the idle lifetime from this
 *    use of the refresh token (the request's send time), and the absolute lifetime from the
 *    grant (`grantedAt`).
 * 3. Else, when the provider did not rotate, the stored refresh token keeps the expiry it
 *    had; a new refresh token with nothing known has none.
 */
export function refreshTokenExpiresAt(input: {
  behaviour: ProviderBehaviour;
  /** Epoch ms the refresh request was sent. */
  sentAt: number;
  /** Seconds, from the response field. */
  refreshTokenExpiresIn?: number;
  /** Epoch ms the grant was authorized. */
  grantedAt: number;
  /** Whether the response carried a new refresh token. */
  rotated: boolean;
  /** The stored expiry (ISO-8601), if any. */
  previous?: string;
}): string | undefined {
  const { behaviour, sentAt } = input;
  if (input.refreshTokenExpiresIn !== undefined) {
    return new Date(sentAt + input.refreshTokenExpiresIn * 1000).toISOString();
  }
  const { idleLifetimeSeconds: idle, absoluteLifetimeSeconds: absolute } = behaviour.rotation;
  const candidates = [
    ...(idle !== undefined ? [sentAt + idle * 1000] : []),
    ...(absolute !== undefined ? [input.grantedAt + absolute * 1000] : []),
  ];
  if (candidates.length > 0) return new Date(Math.min(...candidates)).toISOString();
  return input.rotated ? undefined : input.previous;
}
