// A namespace import lets esbuild drop what is unused (the named `z` export pulls in every locale).
import * as z from 'zod/mini';
import { CONNECTION_STATUSES } from './connection-status.js';
import { parseEndpointUrl } from './endpoint-url.js';
import { InvalidRecordError } from './errors.js';
import { DEFAULT_BEHAVIOUR, type ProviderBehaviour } from './provider-behaviour.js';
import { nonEmptyArray, nonEmptyString, positiveInt } from './schema-helpers.js';

/**
 * The connection record: the JSON value of one Secrets Manager secret per connection.
 * Documented for consumers in any language in docs/connection-record.md; keep both in step.
 * Version 2 added the provider's behaviour and profile, the granted scope, the refresh
 * token's expiry and kept provider fields; version 1 records are still read (and written
 * back as version 2 on their next change).
 */
export const RECORD_SCHEMA_VERSION = 2;
/** Every schema version this refresher reads. */
export const READABLE_SCHEMA_VERSIONS: readonly number[] = [1, 2];

const isoDateTime = z.iso.datetime({ offset: true });

const ciphertextSchema = z.object({
  ciphertext: nonEmptyString(),
  keyId: nonEmptyString(),
});

/** A token endpoint (core/endpoint-url.ts); a refusal is `invalid_format` with the refusal's code as format. */
const tokenEndpointSchema = z.string().check(
  z.superRefine((raw, ctx) => {
    const endpoint = parseEndpointUrl(raw, 'the token endpoint');
    if (!endpoint.ok)
      ctx.addIssue({ code: 'invalid_format', format: endpoint.code, message: endpoint.description });
  }),
);

const seconds = positiveInt();

/** `ProviderBehaviour` (provider-behaviour.ts), as stored. */
export const behaviourSchema = z.object({
  scope: z.object({ sendOnRefresh: z.boolean(), separator: z.enum([' ', ',', '+']) }),
  response: z.object({
    defaultExpiresInSeconds: z.optional(seconds),
    acceptedTokenTypes: z.optional(nonEmptyArray(nonEmptyString())),
    refreshTokenExpiresInField: z.optional(nonEmptyString()),
    keepFields: z.optional(z.array(nonEmptyString())),
  }),
  errors: z.object({
    codeFields: nonEmptyArray(nonEmptyString()),
    deadTokenCodes: z.array(nonEmptyString()),
    transientCodes: z.optional(z.array(nonEmptyString())),
    retryAfterHeader: nonEmptyString(),
  }),
  rotation: z.object({
    model: z.enum(['rotating', 'static', 'optional']),
    reuseWindowSeconds: z.number().check(z.int(), z.gte(0)),
    idleLifetimeSeconds: z.optional(seconds),
    absoluteLifetimeSeconds: z.optional(seconds),
  }),
}) satisfies z.ZodMiniType<ProviderBehaviour>;

export const providerSchema = z.object({
  tokenEndpoint: tokenEndpointSchema,
  dialect: z.enum(['json', 'form']),
  clientAuth: z.enum(['client_secret_post', 'client_secret_basic']),
  scope: z.optional(nonEmptyString()),
  /** Name or ARN of the secret holding `{ "client_id": ..., "client_secret": ... }`. */
  clientCredentialsSecretId: nonEmptyString(),
  /** The provider profile the connection was connected with (`lambda/providers/`), if any. */
  profile: z.optional(nonEmptyString()),
  /** How the provider behaves, resolved at connect time; absent (version 1): `DEFAULT_BEHAVIOUR`. */
  behaviour: z.optional(behaviourSchema),
});

export const lastErrorSchema = z.object({
  class: nonEmptyString(),
  message: z.string(),
  at: isoDateTime,
});

export const connectionStatusSchema = z.enum(CONNECTION_STATUSES);

export const connectionRecordSchema = z
  .object({
    schemaVersion: z.union([z.literal(1), z.literal(RECORD_SCHEMA_VERSION)]),
    connection: nonEmptyString(),
    status: connectionStatusSchema,
    /** Absent only in a placeholder that is not connected yet (never `active`). */
    provider: z.optional(providerSchema),
    accessToken: z.optional(nonEmptyString()),
    tokenType: z.optional(nonEmptyString()),
    expiresAt: z.optional(isoDateTime),
    /**
     * The refresh token, KMS-encrypted under the refresh-token key with the connection's
     * encryption context. Absent only in a placeholder that is not connected yet.
     */
    refreshToken: z.optional(ciphertextSchema),
    refreshedAt: z.optional(isoDateTime),
    /** Last seen `expires_in`, seconds; lets the frequent-refresh alarm reason about lifetimes. */
    tokenLifetimeSeconds: z.optional(positiveInt()),
    /** The scope the provider granted with the current token set, as it sent it (may be narrower). */
    grantedScope: z.optional(z.string()),
    /** When the refresh token expires (from the response, or the profile's lifetimes); re-authentication after. */
    refreshTokenExpiresAt: z.optional(isoDateTime),
    /**
     * When the grant was authorized: a provider's absolute refresh-token lifetime counts
     * from it. Set by connect (the code exchange) and by an import (the time of the import:
     * the grant's own is unknown); a record connected before that gets it on its first refresh.
     */
    grantedAt: z.optional(isoDateTime),
    /** Non-secret response fields the profile keeps for consumers (`instance_url`, `api_url`). */
    providerFields: z.optional(z.record(z.string(), z.string())),
    lastError: z.optional(z.nullable(lastErrorSchema)),
  })
  .check(
    z.superRefine((record, ctx) => {
      if (record.status !== 'active') return;
      for (const field of ['provider', 'refreshToken'] as const) {
        if (record[field] === undefined) {
          ctx.addIssue({ code: 'custom', path: [field], message: `an active connection needs ${field}` });
        }
      }
    }),
  );

export type ConnectionRecord = z.infer<typeof connectionRecordSchema>;
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
    // Version 1 for good: the CDK stack writes this value once, and a changed value would make
    // the next deploy overwrite a live record. It holds nothing version 2 added.
    schemaVersion: 1,
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
  if (typeof version !== 'number' || !READABLE_SCHEMA_VERSIONS.includes(version)) {
    // A small whole number says which refresher wrote it; anything else is not repeated.
    const what =
      version === undefined
        ? 'no schemaVersion'
        : typeof version === 'number' && Number.isInteger(version) && version >= 0 && version <= 999
          ? `unknown schemaVersion ${version}`
          : `an unknown schemaVersion (a ${version === null ? 'null' : typeof version})`;
    throw new InvalidRecordError(
      connection,
      `${what}: this refresher reads schemaVersion ${READABLE_SCHEMA_VERSIONS.join(' and ')}`,
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

/** Serializes a record as the current schema version (a version 1 record read is written back as 2). */
export function serializeRecord(record: ConnectionRecord): string {
  return JSON.stringify(connectionRecordSchema.parse({ ...record, schemaVersion: RECORD_SCHEMA_VERSION }));
}

/** The provider's behaviour a connection was connected with, or the defaults (version 1 records). */
export function behaviourOf(provider: ProviderSettings): ProviderBehaviour {
  return provider.behaviour ?? DEFAULT_BEHAVIOUR;
}

/** The KMS encryption context that binds a refresh token to its connection's secret. */
export function refreshTokenContext(secretName: string): Record<string, string> {
  return { 'token-refresher:secret': secretName, 'token-refresher:purpose': 'refresh-token' };
}

/** Encryption context for an access token kept in a rescue (never in the record). */
export function rescueAccessTokenContext(secretName: string): Record<string, string> {
  return { 'token-refresher:secret': secretName, 'token-refresher:purpose': 'rescued-access-token' };
}
