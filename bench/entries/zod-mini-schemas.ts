/**
 * What-if for the refresher bundle: the refresher's zod schemas (lambda/core/record.ts,
 * client-credentials.ts, lambda/refresher/environment.ts, events.ts, connect.ts, the lease
 * store's rescue) written with `zod/mini`, zod's tree-shakable API, to size what moving to it
 * would cost instead of the classic `zod` import. Bundled like the refresher; never run.
 */
import * as z from 'zod/mini';

const isoDateTime = z.iso.datetime({ offset: true });
const nonEmpty = () => z.string().check(z.minLength(1));
const ciphertext = z.object({ ciphertext: nonEmpty(), keyId: nonEmpty() });

export const provider = z.object({
  tokenEndpoint: z.url({ protocol: /^https?$/ }),
  dialect: z.enum(['json', 'form']),
  clientAuth: z.enum(['client_secret_post', 'client_secret_basic']),
  scope: z.optional(nonEmpty()),
  clientCredentialsSecretId: nonEmpty(),
});

export const record = z.object({
  schemaVersion: z.literal(1),
  connection: nonEmpty(),
  status: z.enum(['active', 'reauth_required', 'disabled']),
  provider: z.optional(provider),
  accessToken: z.optional(nonEmpty()),
  tokenType: z.optional(nonEmpty()),
  expiresAt: z.optional(isoDateTime),
  refreshToken: z.optional(ciphertext),
  refreshedAt: z.optional(isoDateTime),
  tokenLifetimeSeconds: z.optional(z.number().check(z.int(), z.positive())),
  lastError: z.optional(z.nullable(z.object({ class: nonEmpty(), message: z.string(), at: isoDateTime }))),
});

export const credentials = z.object({ client_id: nonEmpty(), client_secret: nonEmpty() });

const seconds = z.optional(z.coerce.number().check(z.positive()));
export const environment = z.object({
  CONNECTION_PREFIX: nonEmpty(),
  LEASE_TABLE_NAME: nonEmpty(),
  REFRESH_TOKEN_KEY_ID: nonEmpty(),
  REFRESH_WINDOW_SECONDS: seconds,
  MIN_INTERVAL_SECONDS: seconds,
  MAX_AGE_SECONDS: seconds,
  REQUEST_TIMEOUT_SECONDS: seconds,
  CONCURRENCY: z._default(z.coerce.number().check(z.int(), z.positive(), z.maximum(64)), 8),
  ON_DEMAND_ONLY: z._default(z.enum(['true', 'false']), 'false'),
});

export const event = z.union([
  z.object({
    action: z.literal('run'),
    force: z.optional(z.boolean()),
    connections: z.optional(z.array(nonEmpty()).check(z.minLength(1))),
  }),
  z.object({
    action: z.literal('refresh'),
    connection: nonEmpty(),
    ifVersion: z.optional(nonEmpty()),
    force: z.optional(z.boolean()),
  }),
  z.object({
    action: z.literal('connect'),
    connection: nonEmpty(),
    provider: z.record(z.string(), z.unknown()),
    code: nonEmpty(),
    codeVerifier: nonEmpty(),
    redirectUri: nonEmpty(),
  }),
  z.object({ 'detail-type': z.literal('Scheduled Event') }),
]);

export const rescue = z.object({
  fromVersionId: z.string(),
  issuedAt: z.string(),
  expiresAt: z.string(),
  tokenType: z.string(),
  expiresIn: z.number(),
  scope: z.optional(z.string()),
  refreshToken: ciphertext,
  accessToken: z.optional(ciphertext),
});

export const outcome = z.enum(['committed', 'not_sent', 'ambiguous', 'rescued', 'unsaved']);

export function parseAll(value: unknown): boolean {
  return [provider, record, credentials, environment, event, rescue, outcome].some(
    (schema) => z.safeParse(schema, value).success,
  );
}
