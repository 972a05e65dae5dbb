// A namespace import lets esbuild drop what is unused (the named `z` export pulls in every locale).
import * as z from 'zod';
import {
  type ConnectRequestEvent,
  connectRequestSchema,
  type ImportRequestEvent,
  importRequestSchema,
} from './connect.js';

/** An operator's run: every connection (or the named ones), optionally forced. */
const runRequestSchema = z.object({
  action: z.literal('run'),
  force: z.boolean().optional(),
  connections: z.array(z.string().min(1)).min(1).optional(),
});

/**
 * An on-demand refresh of one connection: a consumer that saw a 401 on version `ifVersion`
 * (refreshed only if that is still AWSCURRENT), or an operator with `force`.
 */
const refreshRequestSchema = z.object({
  action: z.literal('refresh'),
  connection: z.string().min(1),
  ifVersion: z.string().min(1).optional(),
  force: z.boolean().optional(),
});

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
