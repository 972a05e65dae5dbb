import { DEFAULT_BEHAVIOUR, type ProviderBehaviour } from '../../core/provider-behaviour.js';
import { sanitizeProviderText } from './redaction.js';

const MAX_DESCRIPTION_CHARS = 200;
const MAX_ERROR_CODE_CHARS = 100;

export interface ProviderError {
  error: string;
  description?: string;
}

/** Where a provider may put the human text of its error, in order (HubSpot: `message`). */
const DESCRIPTION_FIELDS = ['error_description', 'message'] as const;

/**
 * The OAuth error (RFC 6749 §5.2) a response reports, with `secrets` redacted: the first
 * of `error` and the behaviour's `errors.codeFields` (HubSpot's `status`) that a JSON or
 * form body carries as a non-empty string, or for a 401 without one the
 * `WWW-Authenticate` challenge's, else `invalid_client`. Undefined when the response says
 * nothing in OAuth terms.
 */
export function providerError(
  status: number,
  json: Record<string, unknown> | undefined,
  wwwAuthenticate: string | null,
  secrets: readonly string[],
  behaviour: ProviderBehaviour = DEFAULT_BEHAVIOUR,
): ProviderError | undefined {
  const sanitize = (text: string, maxChars: number) => sanitizeProviderText(text, secrets, maxChars);
  const code = errorCodeOf(json, behaviour);
  if (json !== undefined && code !== undefined) {
    const description = DESCRIPTION_FIELDS.map((field) => json[field]).find(
      (value): value is string => typeof value === 'string',
    );
    return withDescription(
      sanitize(code, MAX_ERROR_CODE_CHARS),
      description !== undefined ? sanitize(description, MAX_DESCRIPTION_CHARS) : '',
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

/** The error code a body carries: `error`, then the behaviour's code fields, in order. */
function errorCodeOf(
  json: Record<string, unknown> | undefined,
  behaviour: ProviderBehaviour,
): string | undefined {
  if (json === undefined) return undefined;
  for (const field of ['error', ...behaviour.errors.codeFields]) {
    const value = json[field];
    if (typeof value === 'string' && value.trim() !== '') return value;
  }
  return undefined;
}

/**
 * The OAuth error a **2xx** body carries instead of tokens: GitHub's `error=bad_refresh_token`
 * (form-encoded by default), Slack's `{"ok": false, "error": ...}`, HubSpot's `status`.
 * A body with an access or refresh token is never an error (a rotated token must not be
 * dropped); Slack's `ok: false` without a code is `unrecognized_error`.
 */
export function errorInSuccess(
  status: number,
  json: Record<string, unknown>,
  secrets: readonly string[],
  behaviour: ProviderBehaviour,
): ProviderError | undefined {
  const carriesToken = (field: string) => typeof json[field] === 'string' && json[field] !== '';
  if (carriesToken('access_token') || carriesToken('refresh_token')) return undefined;
  const error = providerError(status, json, null, secrets, behaviour);
  if (error !== undefined) return error;
  return json.ok === false ? { error: 'unrecognized_error' } : undefined;
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
