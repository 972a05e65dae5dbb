// A namespace import lets esbuild drop what is unused (the named `z` export pulls in every locale).
import * as z from 'zod';
import { parseEndpointUrl } from './endpoint-url.js';
import { InvalidRecordError } from './errors.js';

/**
 * The connection record: the JSON value of one Secrets Manager secret per connection.
 * Documented for consumers in any language in docs/connection-record.md; keep both in step.
 */
export const RECORD_SCHEMA_VERSION = 1;

const isoDateTime = z.iso.datetime({ offset: true });

const ciphertextSchema = z.object({
  ciphertext: z.string().min(1),
  keyId: z.string().min(1),
});

/** A token endpoint (core/endpoint-url.ts); a refusal is `invalid_format` with the refusal's code as format. */
const tokenEndpointSchema = z.string().superRefine((raw, ctx) => {
  const endpoint = parseEndpointUrl(raw, 'the token endpoint');
  if (!endpoint.ok)
    ctx.addIssue({ code: 'invalid_format', format: endpoint.code, message: endpoint.description });
});

export const providerSchema = z.object({
  tokenEndpoint: tokenEndpointSchema,
  dialect: z.enum(['json', 'form']),
  clientAuth: z.enum(['client_secret_post', 'client_secret_basic']),
  scope: z.string().min(1).optional(),
  /** Name or ARN of the secret holding `{ "client_id": ..., "client_secret": ... }`. */
  clientCredentialsSecretId: z.string().min(1),
});

export const lastErrorSchema = z.object({
  class: z.string().min(1),
  message: z.string(),
  at: isoDateTime,
});

export const connectionStatusSchema = z.enum(['active', 'reauth_required', 'disabled']);

export const connectionRecordSchema = z
  .object({
    schemaVersion: z.literal(RECORD_SCHEMA_VERSION),
    connection: z.string().min(1),
    status: connectionStatusSchema,
    /** Absent only in a placeholder that is not connected yet (never `active`). */
    provider: providerSchema.optional(),
    accessToken: z.string().min(1).optional(),
    tokenType: z.string().min(1).optional(),
    expiresAt: isoDateTime.optional(),
    /**
     * The refresh token, KMS-encrypted under the refresh-token key with the connection's
     * encryption context. Absent only in a placeholder that is not connected yet.
     */
    refreshToken: ciphertextSchema.optional(),
    refreshedAt: isoDateTime.optional(),
    /** Last seen `expires_in`, seconds; lets the frequent-refresh alarm reason about lifetimes. */
    tokenLifetimeSeconds: z.number().int().positive().optional(),
    lastError: lastErrorSchema.nullable().optional(),
  })
  .superRefine((record, ctx) => {
    if (record.status !== 'active') return;
    for (const field of ['provider', 'refreshToken'] as const) {
      if (record[field] === undefined) {
        ctx.addIssue({ code: 'custom', path: [field], message: `an active connection needs ${field}` });
      }
    }
  });

export type ConnectionRecord = z.infer<typeof connectionRecordSchema>;
export type ConnectionStatus = z.infer<typeof connectionStatusSchema>;
export type ProviderSettings = z.infer<typeof providerSchema>;
export type LastError = z.infer<typeof lastErrorSchema>;
export type EncryptedValue = z.infer<typeof ciphertextSchema>;

/** A record with what a refresh needs: every `active` record is one (the schema says so). */
export type ConnectedRecord = ConnectionRecord & { provider: ProviderSettings; refreshToken: EncryptedValue };

export function isConnected(record: ConnectionRecord): record is ConnectedRecord {
  return record.provider !== undefined && record.refreshToken !== undefined;
}

/**
 * The value of a connection created before it is connected (by the CDK stack, for
 * example): not refreshed, reported as needing the authorization code flow.
 */
export function placeholderRecord(connection: string): ConnectionRecord {
  return {
    schemaVersion: RECORD_SCHEMA_VERSION,
    connection,
    status: 'reauth_required',
    lastError: {
      class: 'not_connected',
      message: `not connected yet: run token-refresher connect ${connection}`,
      at: new Date(0).toISOString(),
    },
  };
}

/**
 * Parses and validates a record. Errors name the connection and the offending fields and
 * the rules they break, never a value of the record (a malformed record may hold a token
 * anywhere, and the error reaches logs and, through the on-demand answer, consumers).
 */
export function parseRecord(connection: string, raw: string): ConnectionRecord {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new InvalidRecordError(connection, 'the secret value is not valid JSON');
  }
  if (typeof json !== 'object' || json === null) {
    throw new InvalidRecordError(connection, 'the secret value is not a JSON object');
  }
  const version = (json as { schemaVersion?: unknown }).schemaVersion;
  if (version !== RECORD_SCHEMA_VERSION) {
    // A small whole number says which refresher wrote it; anything else is not repeated.
    const what =
      version === undefined
        ? 'no schemaVersion'
        : typeof version === 'number' && Number.isInteger(version) && version >= 0 && version <= 999
          ? `unknown schemaVersion ${version}`
          : `an unknown schemaVersion (a ${version === null ? 'null' : typeof version})`;
    throw new InvalidRecordError(
      connection,
      `${what}: this refresher reads schemaVersion ${RECORD_SCHEMA_VERSION}`,
    );
  }
  const parsed = connectionRecordSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) =>
        `${issue.path.join('.') || '(root)'}: ${issue.code}${issue.code === 'invalid_format' ? ` (${issue.format})` : ''}`,
    );
    throw new InvalidRecordError(connection, `invalid fields: ${problems.join('; ')}`);
  }
  if (parsed.data.connection !== connection) {
    throw new InvalidRecordError(connection, 'its "connection" field names another connection');
  }
  return parsed.data;
}

export function serializeRecord(record: ConnectionRecord): string {
  return JSON.stringify(connectionRecordSchema.parse(record));
}

/** The KMS encryption context that binds a refresh token to its connection's secret. */
export function refreshTokenContext(secretName: string): Record<string, string> {
  return { 'token-refresher:secret': secretName, 'token-refresher:purpose': 'refresh-token' };
}

/** Encryption context for an access token kept in a rescue (never in the record). */
export function rescueAccessTokenContext(secretName: string): Record<string, string> {
  return { 'token-refresher:secret': secretName, 'token-refresher:purpose': 'rescued-access-token' };
}
