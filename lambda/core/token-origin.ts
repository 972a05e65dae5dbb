import type { EngineSettings } from '../contract/settings.js';
import { parseEndpointUrl } from './endpoint-url.js';
import type { ClientCredentials } from './ports.js';

/**
 * Where a refresh token and a client secret may go (docs/refresh-transaction.md, "Pinned
 * token endpoints"). Two checks, both before anything secret is read or sent:
 *
 * 1. the token endpoint's origin is one of the deployment's `allowedTokenOrigins`, and it
 *    is https — plain http only when the test-only `allowInsecureLoopback` is on (and the
 *    host is loopback, which the endpoint rule already demands of http);
 * 2. the client-credentials secret is bound to that origin: its `token_endpoint_origins`
 *    lists it. A secret without the field is bound to nothing.
 *
 * A refusal names the origin and the setting at fault, never the rest of the URL (its
 * path or query may hold anything).
 */

/** The setting that pins token endpoints, as operators see it (construct prop and context key). */
export const ALLOWED_ORIGINS_SETTING = 'allowedTokenOrigins';
/** The field of a client-credentials secret that binds it to token-endpoint origins. */
export const CREDENTIALS_ORIGINS_FIELD = 'token_endpoint_origins';

export type OriginCheck = { ok: true; origin: string } | { ok: false; message: string };

/** `https://host[:port]` of a URL-ish string, lower-cased and without a default port; undefined if none. */
export function originOf(value: string): string | undefined {
  try {
    const origin = new URL(value).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

/** Whether `origins` (as configured: any case, a default port, a trailing slash) contains `origin`. */
export function listsOrigin(origins: readonly string[], origin: string): boolean {
  return origins.some((listed) => originOf(listed) === origin);
}

/** Check 1: the token endpoint against the deployment's allow-list. */
export function checkTokenEndpoint(
  tokenEndpoint: string,
  settings: Pick<EngineSettings, 'allowedTokenOrigins' | 'allowInsecureLoopback'>,
): OriginCheck {
  const endpoint = parseEndpointUrl(tokenEndpoint, 'the token endpoint');
  if (!endpoint.ok) return { ok: false, message: `${endpoint.description}; nothing was sent` };
  const { origin, protocol } = endpoint.url;
  const allowed = settings.allowedTokenOrigins.map((listed) => originOf(listed) ?? listed).join(', ');
  if (!listsOrigin(settings.allowedTokenOrigins, origin)) {
    return {
      ok: false,
      message:
        `the token endpoint's origin ${origin} is not in ${ALLOWED_ORIGINS_SETTING} (${allowed || 'none'}); ` +
        `nothing was sent. Fix the connection's provider.tokenEndpoint, or add the origin to the stack's ` +
        `${ALLOWED_ORIGINS_SETTING} if it really is this connection's provider`,
    };
  }
  if (protocol === 'http:' && !settings.allowInsecureLoopback) {
    return {
      ok: false,
      message:
        `the token endpoint's origin ${origin} is plain http, which is allowed only with the test-only ` +
        'setting allowInsecureLoopback (a deployed stack never sets it); nothing was sent',
    };
  }
  return { ok: true, origin };
}

/** Check 2: the client-credentials secret `secretId` may be sent to `origin`. */
export function checkCredentialsBinding(
  origin: string,
  credentials: Pick<ClientCredentials, 'tokenEndpointOrigins'>,
  secretId: string,
): OriginCheck {
  const bound = credentials.tokenEndpointOrigins;
  if (bound === undefined) {
    return {
      ok: false,
      message:
        `client credentials secret "${secretId}" has no "${CREDENTIALS_ORIGINS_FIELD}", so it may be sent nowhere; ` +
        `nothing was sent. Add the origins its client secret may be sent to, e.g. ` +
        `"${CREDENTIALS_ORIGINS_FIELD}": ["${origin}"] (docs/connection-record.md)`,
    };
  }
  if (!listsOrigin(bound, origin)) {
    return {
      ok: false,
      message:
        `client credentials secret "${secretId}" is bound to ${bound.map((o) => originOf(o) ?? o).join(', ')} ` +
        `(its "${CREDENTIALS_ORIGINS_FIELD}"), not to the token endpoint's origin ${origin}; nothing was sent`,
    };
  }
  return { ok: true, origin };
}
