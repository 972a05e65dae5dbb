/**
 * token-refresher's consumer library: a valid access token in one call, and an
 * authorized `fetch` that handles 401 with one coordinated refresh and one retry.
 *
 * Importing it loads only the Secrets Manager client; the Lambda client that asks the
 * refresher for a refresh is loaded the first time a 401 needs it.
 *
 * @example
 * ```ts
 * import { authorizedFetch, getAccessToken } from '@token-refresher/client';
 *
 * const { accessToken } = await getAccessToken('askara-prod');
 * const response = await authorizedFetch('askara-prod')('https://api.askara.ai/v1/projects');
 * ```
 */
import { type AccessToken, TokenClient } from './token-client.js';

export { createAuthorizedFetch } from './authorized-fetch.js';
export * from './errors.js';
export { LambdaRefreshRequester } from './lambda-refresh-requester.js';
export type { ClientClock, RefreshRequester, SecretReader } from './ports.js';
export { type AccessToken, TokenClient, type TokenClientOptions } from './token-client.js';

let defaultClient: TokenClient | undefined;

/** The process-wide client, configured from `TOKEN_REFRESHER_PREFIX` and `TOKEN_REFRESHER_FUNCTION`. */
export function defaultTokenClient(): TokenClient {
  defaultClient ??= new TokenClient();
  return defaultClient;
}

/** A valid access token for `connection` (see {@link TokenClient.getAccessToken}). */
export function getAccessToken(connection: string): Promise<AccessToken> {
  return defaultTokenClient().getAccessToken(connection);
}

/** An authorized `fetch` for `connection` (see {@link TokenClient.fetch}). */
export function authorizedFetch(connection: string): typeof fetch {
  return defaultTokenClient().fetch(connection);
}
