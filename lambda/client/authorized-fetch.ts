import { UnauthorizedAfterRefreshError } from './errors.js';
import type { AccessToken, AccessTokenSource } from './ports.js';

/**
 * The guide's automatic retry pattern: get a valid token, call the API; on 401, have the
 * refresher renew that token and retry **once**. Request bodies must be replayable
 * (string, bytes, URLSearchParams, FormData, Blob): a streamed body is sent once and a
 * 401 is returned as it is (the next call uses the renewed token).
 */
export function createAuthorizedFetch(
  tokens: AccessTokenSource,
  connection: string,
  baseFetch: typeof fetch,
): typeof fetch {
  return async (input, init) => {
    const retryInput = input instanceof Request ? input.clone() : input;
    const token = await tokens.getAccessToken(connection);
    const first = await baseFetch(input, withAuthorization(input, init, token));
    if (first.status !== 401) return first;

    const renewed = await tokens.refreshAfterUnauthorized(connection, token);
    if (!isReplayable(input, init)) return first;
    await first.body?.cancel();
    const second = await baseFetch(retryInput, withAuthorization(retryInput, init, renewed));
    if (second.status === 401) {
      await second.body?.cancel();
      throw new UnauthorizedAfterRefreshError(connection, second.status);
    }
    return second;
  };
}

function withAuthorization(
  input: Parameters<typeof fetch>[0],
  init: RequestInit | undefined,
  token: AccessToken,
): RequestInit {
  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
  headers.set('authorization', `${authorizationScheme(token.tokenType)} ${token.accessToken}`);
  return { ...init, headers };
}

/**
 * The HTTP authentication scheme for a token type. The record keeps `token_type` as the
 * provider sent it (`bearer`, Slack's `bot` and `user`), which is information, not a
 * scheme: every such token is a bearer token (RFC 6750). Only a proof-of-possession type
 * (`DPoP`, `MAC`) is a scheme of its own.
 */
export function authorizationScheme(tokenType: string): string {
  return /^(dpop|mac)$/i.test(tokenType) ? tokenType : 'Bearer';
}

function isReplayable(input: Parameters<typeof fetch>[0], init: RequestInit | undefined): boolean {
  const body = init?.body;
  if (body instanceof ReadableStream) return false;
  if (input instanceof Request && input.body !== null && body === undefined) return !input.bodyUsed;
  return true;
}
