// A namespace import lets esbuild drop what is unused (the named `z` export pulls in every locale).
import * as z from 'zod';
import type { OnDemandRequest } from '../contract/on-demand.js';

/**
 * The operator's `connect` and `import` actions (lambda/core/connect-connection.ts). The
 * provider settings are validated by the core, which names bad fields; the event schema
 * only checks the shape, and its error never echoes a value.
 */
const providerShape = z.record(z.string(), z.unknown());

/** `token-refresher connect`: exchange an authorization code (with its PKCE verifier) here. */
const connectRequestSchema = z.object({
  action: z.literal('connect'),
  connection: z.string().min(1),
  provider: providerShape,
  code: z.string().min(1),
  codeVerifier: z.string().min(1),
  redirectUri: z.string().min(1),
});

/** `token-refresher connect --refresh-token-stdin`: store this refresh token, then refresh once. */
const importRequestSchema = z.object({
  action: z.literal('import'),
  connection: z.string().min(1),
  provider: providerShape,
  refreshToken: z.string().min(1),
});

export type ConnectRequestEvent = z.output<typeof connectRequestSchema>;
export type ImportRequestEvent = z.output<typeof importRequestSchema>;

/** An operator's run: every connection (or the named ones), optionally forced. */
const runRequestSchema = z.object({
  action: z.literal('run'),
  force: z.boolean().optional(),
  connections: z.array(z.string().min(1)).min(1).optional(),
});

/** An on-demand refresh of one connection (lambda/contract/on-demand.ts). */
const refreshRequestSchema = z.object({
  action: z.literal('refresh'),
  connection: z.string().min(1),
  ifVersion: z.string().min(1).optional(),
  force: z.boolean().optional(),
}) satisfies z.ZodType<OnDemandRequest>;

/** A scheduled event (EventBridge rule) is a run over everything. */
const scheduledEventSchema = z
  .object({ 'detail-type': z.literal('Scheduled Event') })
  .passthrough()
  .transform((): RunRequest => ({ action: 'run' }));

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
    throw new Error(
      'unrecognised event: expected a scheduled event, {"action":"run","connections"?:[...],"force"?:true} ' +
        'or {"action":"refresh","connection":"...","ifVersion"?:"...","force"?:true} ' +
        "(or an operator's connect / import from token-refresher connect)",
    );
  }
  return parsed.data;
}
