import { sanitizeProviderText } from './redaction.js';

const MAX_DESCRIPTION_CHARS = 200;
const MAX_ERROR_CODE_CHARS = 100;

export interface ProviderError {
  error: string;
  description?: string;
}

/**
 * The OAuth error (RFC 6749 §5.2) a 4xx response reports, with `secrets` redacted: a
 * JSON body's `error`, or for a 401 without one the `WWW-Authenticate` challenge's, else
 * `invalid_client`. Undefined when the response says nothing in OAuth terms.
 */
export function providerError(
  status: number,
  json: Record<string, unknown> | undefined,
  wwwAuthenticate: string | null,
  secrets: readonly string[],
): ProviderError | undefined {
  const sanitize = (text: string, maxChars: number) => sanitizeProviderText(text, secrets, maxChars);
  if (typeof json?.error === 'string' && json.error.trim() !== '') {
    const { error, error_description } = json;
    return withDescription(
      sanitize(error, MAX_ERROR_CODE_CHARS),
      typeof error_description === 'string' ? sanitize(error_description, MAX_DESCRIPTION_CHARS) : '',
    );
  }
  if (status !== 401) return undefined;
  const challenge = challengeError(wwwAuthenticate);
  if (challenge === undefined) return { error: 'invalid_client' };
  return withDescription(
    sanitize(challenge.error, MAX_ERROR_CODE_CHARS),
    challenge.description ? sanitize(challenge.description, MAX_DESCRIPTION_CHARS) : '',
  );
}

/** Omits a description that is empty (also once sanitized). */
function withDescription(error: string, description: string): ProviderError {
  return description !== '' ? { error, description } : { error };
}

/** The `error` (and `error_description`) of a `WWW-Authenticate` challenge, if any. */
function challengeError(header: string | null): ProviderError | undefined {
  if (!header) return undefined;
  const param = (name: string) => {
    const m = new RegExp(`(?:^|[\\s,])${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^\\s,"]+))`, 'i').exec(
      header,
    );
    const value = m?.[1]?.replace(/\\(.)/g, '$1') ?? m?.[2];
    return value === '' ? undefined : value;
  };
  const error = param('error');
  if (error === undefined) return undefined;
  const description = param('error_description');
  return description === undefined ? { error } : { error, description };
}
