/**
 * The Askara JSON dialect of the token endpoint, translated to RFC 6749 form requests.
 *
 * Askara accepts `Content-Type: application/json` with
 * `{ grant_type, refresh_token, client_id, client_secret, scope? }`. The auth server
 * fixture turns such a request into the equivalent form request for the real
 * (oidc-provider) token endpoint, authenticating the client the way it is registered:
 * credentials in the body for `client_secret_post`, a Basic header for
 * `client_secret_basic`. A Basic header the caller sent itself is honoured as is.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RegisteredClient } from './client-auth-method.js';

export type TranslatedRequest =
  | { ok: true; headers: Record<string, string>; body: string }
  /** An OAuth error to answer with (400) instead of forwarding. */
  | { ok: false; error: 'invalid_request'; description: string };

/** Refresh grant fields, and the authorization code grant's (the operator CLI's `connect`). */
const FIELDS = ['grant_type', 'refresh_token', 'scope', 'code', 'redirect_uri', 'code_verifier'] as const;

/** Translates a JSON-dialect token request into a form request for the real token endpoint. */
export function translateJsonTokenRequest(
  headers: IncomingHttpHeaders,
  body: Buffer,
  clients: readonly RegisteredClient[],
): TranslatedRequest {
  if (mediaType(headers['content-type']) !== 'application/json') {
    return { ok: false, error: 'invalid_request', description: 'only application/json bodies are supported' };
  }
  const json = parseJsonObject(body);
  if (!json) {
    return { ok: false, error: 'invalid_request', description: 'the body must be a JSON object' };
  }

  const form = new URLSearchParams();
  for (const field of FIELDS) {
    const value = json[field];
    if (typeof value === 'string') form.set(field, value);
  }

  const out: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  const authorization = headers.authorization;
  const clientId = typeof json.client_id === 'string' ? json.client_id : undefined;
  const clientSecret = typeof json.client_secret === 'string' ? json.client_secret : undefined;

  if (authorization?.toLowerCase().startsWith('basic ')) {
    out.authorization = authorization;
  } else if (clients.find((c) => c.clientId === clientId)?.authMethod === 'client_secret_basic') {
    out.authorization = basicAuthorization(clientId ?? '', clientSecret ?? '');
  } else {
    if (clientId !== undefined) form.set('client_id', clientId);
    if (clientSecret !== undefined) form.set('client_secret', clientSecret);
  }
  return { ok: true, headers: out, body: form.toString() };
}

/** The refresh token a JSON-dialect body presents, if any (best effort, never throws). */
export function jsonRefreshToken(body: Buffer): string | undefined {
  const value = parseJsonObject(body)?.refresh_token;
  return typeof value === 'string' ? value : undefined;
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before Base64. */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

function mediaType(contentType: string | undefined): string | undefined {
  return contentType?.split(';')[0]?.trim().toLowerCase();
}

function parseJsonObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
