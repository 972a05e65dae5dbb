import * as oauth from 'oauth4webapi';
import { CliError } from './errors.js';

/**
 * Authorization server metadata discovery on oauth4webapi: OpenID Connect Discovery first,
 * then RFC 8414 (which inserts the well-known path before an issuer's path:
 * `https://host/.well-known/oauth-authorization-server/tenant` for `https://host/tenant`).
 * The metadata must name the issuer asked for (RFC 8414 §3.3, OIDC Discovery §4.3), and a
 * network failure says its real cause (`ENOTFOUND host`, `ECONNREFUSED`, a TLS error).
 */
export interface DiscoveredServer {
  /** The validated metadata: for the authorization response's validation (RFC 9207 `iss`). */
  server: oauth.AuthorizationServer;
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  /** The well-known URL the metadata came from. */
  metadataUrl: string;
}

const ALGORITHMS = ['oidc', 'oauth2'] as const;

/** The well-known URL each algorithm reads (as oauth4webapi builds it), for messages. */
function wellKnown(issuer: URL, algorithm: (typeof ALGORITHMS)[number]): string {
  const url = new URL(issuer.href);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  url.pathname =
    algorithm === 'oidc'
      ? `${path}/.well-known/openid-configuration`
      : `/.well-known/oauth-authorization-server${path}`;
  return url.href;
}

export async function discoverServer(issuer: string, allowInsecureHttp: boolean): Promise<DiscoveredServer> {
  const issuerUrl = new URL(issuer);
  const tried: string[] = [];
  for (const algorithm of ALGORITHMS) {
    const url = wellKnown(issuerUrl, algorithm);
    let response: Response;
    try {
      response = await oauth.discoveryRequest(issuerUrl, {
        algorithm,
        signal: AbortSignal.timeout(10_000),
        ...(allowInsecureHttp ? { [oauth.allowInsecureRequests]: true } : {}),
      });
    } catch (error) {
      throw new CliError(`could not reach ${url}: ${networkCause(error)}`, 'environment', {
        metadataUrl: url,
      });
    }
    if (response.status === 404 || response.status === 405 || response.status === 400) {
      tried.push(`${url} (HTTP ${response.status})`);
      await response.body?.cancel();
      continue;
    }
    let server: oauth.AuthorizationServer;
    try {
      server = await oauth.processDiscoveryResponse(issuerUrl, response);
    } catch (error) {
      throw metadataError(error, url, issuerUrl);
    }
    return {
      server,
      metadataUrl: url,
      ...(server.authorization_endpoint ? { authorizationEndpoint: server.authorization_endpoint } : {}),
      ...(server.token_endpoint ? { tokenEndpoint: server.token_endpoint } : {}),
    };
  }
  throw new CliError(
    `no OAuth metadata for issuer ${issuerUrl.href}: tried ${tried.join(', ')}`,
    'not_found',
  );
}

/** What went wrong with a metadata document, in one line. */
function metadataError(error: unknown, url: string, issuer: URL): CliError {
  if (error instanceof oauth.OperationProcessingError) {
    const cause = error.cause as { body?: { issuer?: unknown }; attribute?: string } | Response | undefined;
    if (error.code === oauth.JSON_ATTRIBUTE_COMPARISON && cause && !(cause instanceof Response)) {
      return new CliError(
        `the metadata at ${url} names issuer "${String(cause.body?.issuer)}", not "${issuer.href}" ` +
          '(RFC 8414 §3.3: they must be equal): check --issuer, or the provider is not who it claims to be',
        'failed',
      );
    }
    if (cause instanceof Response) {
      return new CliError(`the metadata at ${url} answered HTTP ${cause.status}`, 'failed');
    }
    return new CliError(`the metadata at ${url} is not valid OAuth metadata (${error.message})`, 'failed');
  }
  return new CliError(`the metadata at ${url} could not be read (${networkCause(error)})`, 'failed');
}

/** The innermost cause of a failed fetch: `ENOTFOUND auth.example` rather than `fetch failed`. */
export function networkCause(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth += 1) {
    const e = current as {
      name?: string;
      message?: string;
      code?: string;
      hostname?: string;
      cause?: unknown;
    };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'no answer within 10 s';
    const text = e.code ? `${e.code}${e.hostname ? ` ${e.hostname}` : ''}` : e.message;
    if (text && text !== 'fetch failed') parts.push(text);
    current = e.cause;
  }
  return parts.length > 0 ? parts.at(-1)! : 'the request failed';
}
