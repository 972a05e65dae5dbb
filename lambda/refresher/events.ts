// A namespace import lets esbuild drop what is unused (the named `z` export pulls in every locale).
import * as z from 'zod/mini';
import { CONNECTION_NAME_PATTERN, CONNECTION_NAME_RULE } from '../contract/names.js';
import { type OnDemandRequest, VERSION_ID_MAX_LENGTH } from '../contract/on-demand.js';
import { nonEmptyString } from '../core/schema-helpers.js';

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

/** An operator's run: every connection (or the named ones), optionally forced. */
const runRequestSchema = z.object({
  action: z.literal('run'),
  force: z.optional(z.boolean()),
  connections: z.optional(z.array(connectionName).check(z.minLength(1), z.maxLength(1000))),
});

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

/** A scheduled event (EventBridge rule) is a run over everything. */
const scheduledEventSchema = z.pipe(
  z.looseObject({ 'detail-type': z.literal('Scheduled Event') }),
  z.transform((): RunRequest => ({ action: 'run' })),
);

export type RunRequest = z.output<typeof runRequestSchema>;
export type RefreshRequestEvent = z.output<typeof refreshRequestSchema>;
export type RefresherEvent = RunRequest | RefreshRequestEvent | ConnectRequestEvent | ImportRequestEvent;

const refresherEventSchema = z.union([
  runRequestSchema,
  refreshRequestSchema,
  connectRequestSchema,
  importRequestSchema,
  scheduledEventSchema,
]);

export function parseEvent(event: unknown): RefresherEvent {
  const parsed = refresherEventSchema.safeParse(event);
  if (!parsed.success) {
    const action = (event as { action?: unknown } | null)?.action;
    if (action === 'refresh' || action === 'run') {
      // Say which field is wrong (never its value): the name, or the version id.
      // `connection`, or one name of `connections` (an empty list is a shape error).
      const fields = new Set(
        parsed.error.issues
          .flatMap((issue) => (issue.code === 'invalid_union' ? issue.errors.flat() : [issue]))
          .map((issue) =>
            issue.path[0] === 'connections' && issue.path.length < 2 ? '' : String(issue.path[0] ?? ''),
          ),
      );
      if (fields.has('connection') || fields.has('connections')) {
        throw new Error(`invalid connection name: a connection name is ${CONNECTION_NAME_RULE}`);
      }
      if (fields.has('ifVersion')) {
        throw new Error(`invalid ifVersion: a version id is 1 to ${VERSION_ID_MAX_LENGTH} characters`);
      }
    }
    throw new Error(
      'unrecognised event: expected a scheduled event, {"action":"run","connections"?:[...],"force"?:true} ' +
        'or {"action":"refresh","connection":"...","ifVersion"?:"...","force"?:true} ' +
        "(or an operator's connect / import from token-refresher connect)",
    );
  }
  return parsed.data;
}
