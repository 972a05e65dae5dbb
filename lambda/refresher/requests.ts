// A namespace import lets esbuild drop what is unused (the named `z` export pulls in every locale).
import * as z from 'zod/mini';
import { CONNECTION_NAME_PATTERN } from '../contract/names.js';
import { type OnDemandRequest, VERSION_ID_MAX_LENGTH } from '../contract/on-demand.js';
import { nonEmptyString } from '../core/schema-helpers.js';
import { INVALID_CONNECTION_NAME, UNRECOGNISED_EVENT } from './event-errors.js';

/**
 * The refresher's requests: an on-demand refresh, and the operator's connect and import.
 * Runs (scheduled or not) are read by `events.ts`, which loads this module for anything else.
 */

/**
 * The operator's `connect` and `import` actions (lambda/core/connect-connection.ts). The
 * provider settings are validated by the core, which names bad fields; the event schema
 * only checks the shape, and its error never echoes a value.
 */
const providerShape = z.record(z.string(), z.unknown());

/** `token-refresher connect`: exchange an authorization code (with its PKCE verifier) here. */
const connectRequestSchema = z.object({
  action: z.literal('connect'),
  connection: nonEmptyString(),
  provider: providerShape,
  code: nonEmptyString(),
  codeVerifier: nonEmptyString(),
  redirectUri: nonEmptyString(),
});

/** `token-refresher connect --refresh-token-stdin`: store this refresh token, then refresh once. */
const importRequestSchema = z.object({
  action: z.literal('import'),
  connection: nonEmptyString(),
  provider: providerShape,
  refreshToken: nonEmptyString(),
});

export type ConnectRequestEvent = z.output<typeof connectRequestSchema>;
export type ImportRequestEvent = z.output<typeof importRequestSchema>;

/**
 * A connection name as the contract allows it (1 to 128 characters of the pattern), checked
 * before any AWS call: a request naming anything else is refused with the rule, never echoed.
 */
const connectionName = z.string().check(z.regex(CONNECTION_NAME_PATTERN));

/**
 * An on-demand refresh of one connection (lambda/contract/on-demand.ts). `ifVersion` is
 * optional here for the operator's refresher function; the consumer-facing function
 * requires it (`handleInvocation`).
 */
export const refreshRequestSchema = z.object({
  action: z.literal('refresh'),
  connection: connectionName,
  ifVersion: z.optional(z.string().check(z.minLength(1), z.maxLength(VERSION_ID_MAX_LENGTH))),
  force: z.optional(z.boolean()),
}) satisfies z.ZodMiniType<OnDemandRequest>;

export type RefreshRequestEvent = z.output<typeof refreshRequestSchema>;
export type RequestEvent = RefreshRequestEvent | ConnectRequestEvent | ImportRequestEvent;

const requestSchema = z.union([refreshRequestSchema, connectRequestSchema, importRequestSchema]);

/** A request event (not a run: `events.ts` reads those); throws, never echoing a value. */
export function parseRequest(event: unknown): RequestEvent {
  const parsed = requestSchema.safeParse(event);
  if (!parsed.success) {
    const action = (event as { action?: unknown } | null)?.action;
    if (action === 'refresh') {
      // Say which field is wrong (never its value): the name, or the version id.
      const fields = new Set(
        parsed.error.issues
          .flatMap((issue) => (issue.code === 'invalid_union' ? issue.errors.flat() : [issue]))
          .map((issue) => String(issue.path[0] ?? '')),
      );
      if (fields.has('connection')) throw new Error(INVALID_CONNECTION_NAME);
      if (fields.has('ifVersion')) {
        throw new Error(`invalid ifVersion: a version id is 1 to ${VERSION_ID_MAX_LENGTH} characters`);
      }
    }
    throw new Error(UNRECOGNISED_EVENT);
  }
  return parsed.data;
}
