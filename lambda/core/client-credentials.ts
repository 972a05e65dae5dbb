// A namespace import lets esbuild drop what is unused (the named `z` export pulls in every locale).
import * as z from 'zod/mini';
import { InvalidClientCredentialsError } from './errors.js';
import type { ClientCredentials } from './ports.js';
import { nonEmptyString } from './schema-helpers.js';

/**
 * The client credentials secret (docs/connection-record.md):
 * `{ "client_id": "...", "client_secret": "...", "token_endpoint_origins": ["https://..."] }`
 * (extra keys ignored). `token_endpoint_origins` binds the client secret to the origins it
 * may be sent to; a secret written before the binding existed lacks it, and the refresher
 * then refuses to send it anywhere (core/token-origin.ts) with a message saying what to add.
 */
const clientCredentialsSchema = z.object({
  client_id: nonEmptyString(),
  client_secret: nonEmptyString(),
});

/** At most this many origins in a binding. */
const MAX_BOUND_ORIGINS = 20;

/**
 * Parses the client credentials secret. Errors name the secret and the missing or
 * invalid field, never a value.
 */
export function parseClientCredentials(secretId: string, raw: string): ClientCredentials {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new InvalidClientCredentialsError(secretId, 'is not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InvalidClientCredentialsError(secretId, 'is not a JSON object');
  }
  const fields = json as Record<string, unknown>;
  const parsed = clientCredentialsSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const field = issue.path.join('.') || '(root)';
      if (fields[field] === undefined) return `is missing "${field}"`;
      if (typeof fields[field] !== 'string') return `has a non-string "${field}"`;
      return `has an empty "${field}"`;
    });
    throw new InvalidClientCredentialsError(secretId, problems.join(' and '));
  }
  const credentials: ClientCredentials = {
    clientId: parsed.data.client_id,
    clientSecret: parsed.data.client_secret,
  };
  const origins = fields.token_endpoint_origins;
  if (origins !== undefined) {
    const valid =
      Array.isArray(origins) &&
      origins.length > 0 &&
      origins.length <= MAX_BOUND_ORIGINS &&
      origins.every((origin) => typeof origin === 'string' && isOrigin(origin));
    if (!valid) {
      throw new InvalidClientCredentialsError(
        secretId,
        `has an invalid "token_endpoint_origins": expected 1 to ${MAX_BOUND_ORIGINS} origins such as "https://api.askara.ai"`,
      );
    }
    credentials.tokenEndpointOrigins = origins as string[];
  }
  return credentials;
}

/** `scheme://host[:port]` and nothing more (a trailing `/` allowed). */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (
      (url.protocol === 'https:' || url.protocol === 'http:') &&
      url.username === '' &&
      url.password === '' &&
      url.pathname === '/' &&
      url.search === '' &&
      url.hash === '' &&
      !/[?#]/.test(value)
    );
  } catch {
    return false;
  }
}
