// A namespace import lets esbuild drop what is unused (the named `z` export pulls in every locale).
import * as z from 'zod';
import { InvalidClientCredentialsError } from './errors.js';
import type { ClientCredentials } from './ports.js';

/** The client credentials secret: `{ "client_id": "...", "client_secret": "..." }` (extra keys ignored). */
const clientCredentialsSchema = z.object({
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
});

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
  const parsed = clientCredentialsSchema.safeParse(json);
  if (!parsed.success) {
    const fields = json as Record<string, unknown>;
    const problems = parsed.error.issues.map((issue) => {
      const field = issue.path.join('.') || '(root)';
      if (fields[field] === undefined) return `is missing "${field}"`;
      if (typeof fields[field] !== 'string') return `has a non-string "${field}"`;
      return `has an empty "${field}"`;
    });
    throw new InvalidClientCredentialsError(secretId, problems.join(' and '));
  }
  return { clientId: parsed.data.client_id, clientSecret: parsed.data.client_secret };
}
