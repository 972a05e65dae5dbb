/**
 * Strict enforcement of a client's registered authentication method.
 *
 * oidc-provider 9.x treats `client_secret_basic` and `client_secret_post` as
 * interchangeable: a client registered for one is accepted with the other. Providers in
 * the wild are often stricter, and a fixture that accepts either cannot prove that a
 * refresher authenticates the way the client is registered. The auth server fixture
 * therefore checks the method itself, before forwarding, and answers exactly what
 * oidc-provider answers to a failed client authentication.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ClientAuthMethod } from '../../lambda/core/ports.js';

export interface RegisteredClient {
  clientId: string;
  authMethod: ClientAuthMethod;
}

export interface AuthFailure {
  status: 401;
  headers: Record<string, string>;
  body: string;
}

/**
 * The 401 `invalid_client` answer when a form token request authenticates a registered
 * client with a method other than its registered one; undefined when it is fine (or when
 * the client is unknown, which the provider itself rejects).
 */
export function authMethodMismatch(
  headers: IncomingHttpHeaders,
  form: URLSearchParams,
  clients: readonly RegisteredClient[],
  realm: string,
): AuthFailure | undefined {
  const basic = basicClientId(headers.authorization);
  const used: ClientAuthMethod | undefined =
    basic !== undefined
      ? 'client_secret_basic'
      : form.has('client_secret')
        ? 'client_secret_post'
        : undefined;
  const clientId = basic ?? form.get('client_id') ?? undefined;
  const registered = clients.find((c) => c.clientId === clientId);
  if (!used || !registered || registered.authMethod === used) return undefined;

  const error = { error: 'invalid_client', error_description: 'client authentication failed' };
  const failure: AuthFailure = {
    status: 401,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: JSON.stringify(error),
  };
  if (used === 'client_secret_basic') {
    failure.headers['www-authenticate'] =
      `Basic realm="${realm}", error="${error.error}", error_description="${error.error_description}"`;
  }
  return failure;
}

function basicClientId(authorization: string | undefined): string | undefined {
  const [scheme, credentials] = authorization?.split(' ') ?? [];
  if (scheme?.toLowerCase() !== 'basic' || !credentials) return undefined;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, '%20'));
  } catch {
    return undefined;
  }
}
